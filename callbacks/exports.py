"""Callbacks of the Exports page (admins only: the page declares it, and so does every callback here)."""

import json

import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.forms import Refused, form_action, values_of
from components.exports import (
    destination_list_options,
    destination_lists_table,
    export_download,
    history_table,
    schedule_options,
    schedules_table,
)
from data.admin import acl
from data.core.i18n import gettext as _
from data.core.scope import current_actor
from data.export import cdr_query, exporter, library, schedules, templates
from data.export.templates import TemplateError
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/exports"))


def _form_action(button: str, fields: tuple[str, ...], feedback: str):
    """A button of the page's forms (callbacks/forms.py): the lists reload after it succeeded."""
    return form_action(callback, button, fields, feedback, "exports-refresh", (library.ExportRefused, TemplateError))


PERIOD_LABELS = {seconds: label for label, seconds in schedules.PERIODS.items()}


def _actor(user) -> exporter.Actor:
    return exporter.Actor("ui", user.username, user_id=user.id)


def _problems(title: str, problems: list[str]) -> dbc.Alert:
    return dbc.Alert(
        [html.Strong(title), html.Ul([html.Li(p) for p in problems], className="mb-0")],
        color="danger",
        className="mb-0",
    )


@callback(
    Output("exports-template-pick", "options"),
    Output("exports-template-pick", "value"),
    Output("exports-run-template", "options"),
    Output("exports-schedule-template", "options"),
    Output("exports-schedules", "children"),
    Output("exports-history", "children"),
    Output("exports-schedule-pick", "options"),
    Output("exports-destlist-pick", "options"),
    Output("exports-destlists", "children"),
    Input("exports-refresh", "data"),
    State("exports-template-pick", "value"),
)
def refresh_lists(_refresh, picked):
    names = [row["name"] for row in library.list_templates()]
    options = [{"label": n + (" (built-in)" if n in templates.BUILTIN_TEMPLATES else ""), "value": n} for n in names]
    lists = library.list_destination_lists()
    return (
        options,
        picked or "cgr-csv",
        options,
        options,
        schedules_table(schedules.list_schedules(), PERIOD_LABELS),
        history_table(exporter.list_history(30)),
        schedule_options(schedules.list_schedules()),
        destination_list_options(lists),
        destination_lists_table(lists),
    )


@callback(
    [Output("exports-template-name", "value"), Output("exports-profile", "value")],
    Input("exports-template-pick", "value"),
)
def open_template(name):
    if not name:
        raise PreventUpdate
    for row in library.list_templates():
        if row["name"] == name:
            return ("" if row["builtin"] else name), json.dumps(row["profile"], indent=2, ensure_ascii=False)
    raise PreventUpdate


@callback(Output("exports-preview", "children"), Input("exports-profile", "value"))
def live_preview(profile_text):
    """The edited (unsaved) template applied to the 5 newest answered CDRs, on every change."""
    if not profile_text:
        return _("Open a template or write a cdre profile.")
    try:
        template = templates.load_cdre_profile(library.parse_profile_text(profile_text), name="preview")
        result = exporter.preview(template)
    except TemplateError as exc:
        return _problems(_("This template cannot be used:"), exc.problems)
    except library.ExportRefused as exc:
        return _problems(_("This template cannot be used:"), [str(exc)])
    if not result["ids"]:
        return _("No answered CDR to preview yet.")
    lines = [result["text"]]
    for cgrid, reason in result["summary"].unexported.items():
        lines.append(f"# not exported {cgrid}: {reason}\n")
    return "".join(lines)


@_form_action("exports-save", ("exports-template-name", "exports-profile"), "exports-template-feedback")
def save_template(name, profile_text):
    try:
        template = library.save_template((name or "").strip(), profile_text or "", user_id=current_actor().id)
    except TemplateError as exc:
        raise Refused(_problems(_("Not saved:"), exc.problems)) from None
    return f"Saved template {template.name!r}."


@_form_action("exports-run", ("exports-run-template", "exports-run-from", "exports-run-to"), "exports-run-result")
def run_export(template_name, time_from, time_to):
    flt = cdr_query.ExportFilter(
        time_start=exporter.parse_user_time(time_from, "from"), time_end=exporter.parse_user_time(time_to, "to")
    )
    run = exporter.adhoc_run(library.get_template(template_name or "cgr-csv"), flt)
    result = exporter.export_to_file(run, _actor(current_actor()))
    summary = result.summary
    return [
        f"Exported {summary.total_records} CDRs (total cost {summary.total_cost}"
        f"{f', {len(summary.unexported)} not exported' if summary.unexported else ''}): ",
        export_download(result.history_id, result.path.name),
    ]


SCHEDULE_FIELDS = ("name", "template", "period", "dir", "enabled")


@_form_action(
    "exports-schedule-save", tuple(f"exports-schedule-{f}" for f in SCHEDULE_FIELDS), "exports-schedule-feedback"
)
def save_schedule(name, template_name, period, directory, enabled):
    existing = {row["name"]: row["id"] for row in schedules.list_schedules()}
    name = (name or "").strip()
    schedules.save_schedule(
        name,
        template_name or "cgr-csv",
        int(period or 3600),
        (directory or "").strip(),
        enabled=bool(enabled),
        user_id=current_actor().id,
        schedule_id=existing.get(name),
    )
    return f"Saved schedule {name!r}."


@callback(
    Output("exports-schedule-feedback", "children", allow_duplicate=True),
    Output("exports-refresh", "data", allow_duplicate=True),
    Input("exports-schedule-run", "n_clicks"),
    State("exports-refresh", "data"),
    prevent_initial_call=True,
)
def run_schedules_now(_clicks, refresh):
    outcome = schedules.run_due_schedules(wait_seconds=5)
    runs = outcome["runs"]
    text = "; ".join(f"{r.get('schedule', r.get('schedule_id'))}: {r['status']}" for r in runs) or _("nothing due")
    return dbc.Alert(text, color="info", className="mb-0"), (refresh or 0) + 1


@_form_action("exports-reexport", ("exports-reexport-id",), "exports-reexport-result")
def reexport(history_id):
    if not history_id:
        raise PreventUpdate
    result = exporter.reexport(int(history_id), _actor(current_actor()))
    return [
        f"Re-exported #{history_id}: {result.summary.total_records} CDRs in ",
        export_download(result.history_id, result.path.name),
    ]


@callback(
    Output("exports-schedule-name", "value"),
    Output("exports-schedule-template", "value"),
    Output("exports-schedule-period", "value"),
    Output("exports-schedule-dir", "value"),
    Output("exports-schedule-enabled", "value"),
    Input("exports-schedule-pick", "value"),
    prevent_initial_call=True,
)
def open_picked_schedule(schedule_id):
    row = schedules.get_schedule(schedule_id) if schedule_id is not None else None
    if row is None:
        raise PreventUpdate
    return row["name"], row["template_name"], row["period_seconds"], row["export_dir"], row["enabled"]


@callback(
    Output("exports-schedule-feedback", "children", allow_duplicate=True),
    Output("exports-refresh", "data", allow_duplicate=True),
    Output("exports-schedule-pick", "value"),
    Input("exports-schedule-delete", "n_clicks"),
    [State("exports-schedule-pick", "value"), State("exports-refresh", "data")],
    prevent_initial_call=True,
)
def delete_picked_schedule(_clicks, schedule_id, refresh):
    deleted = schedules.delete_schedule(schedule_id) if schedule_id is not None else None
    if deleted is None:
        return (
            dbc.Alert(_("Open the schedule to delete first."), color="warning", className="mb-0"),
            no_update,
            no_update,
        )
    return (
        dbc.Alert(
            f"Deleted schedule {deleted['name']!r}; its export history stays.", color="success", className="mb-0"
        ),
        (refresh or 0) + 1,
        None,
    )


@callback(
    Output("exports-destlist-name", "value"),
    Output("exports-destlist-prefixes", "value"),
    Output("exports-destlist-description", "value"),
    Input("exports-destlist-pick", "value"),
    prevent_initial_call=True,
)
def open_destination_list(name):
    found = library.get_destination_list(name) if name else None
    if found is None:
        raise PreventUpdate
    return found["name"], "\n".join(found["prefixes"]), found["description"]


@callback(
    Output("exports-destlist-feedback", "children"),
    Output("exports-refresh", "data", allow_duplicate=True),
    Output("exports-destlist-pick", "value"),
    Input("exports-destlist-save", "n_clicks"),
    Input("exports-destlist-delete", "n_clicks"),
    *values_of(
        "exports-destlist-pick", "exports-destlist-name", "exports-destlist-prefixes", "exports-destlist-description"
    ),
    State("exports-refresh", "data"),
    prevent_initial_call=True,
)
def save_or_delete_destination_list(_save, _delete, picked, name, prefixes, description, refresh):
    try:
        if ctx.triggered_id == "exports-destlist-delete":
            if not picked:
                return (
                    dbc.Alert(_("Open the list to delete first."), color="warning", className="mb-0"),
                    no_update,
                    no_update,
                )
            library.delete_destination_list(picked)
            return (
                dbc.Alert(f"Deleted destination list {picked!r}.", color="success", className="mb-0"),
                (refresh or 0) + 1,
                None,
            )
        name = (name or "").strip()
        saved = library.save_destination_list(name, library.prefixes_from_text(prefixes), (description or "").strip())
    except library.ExportRefused as exc:
        return dbc.Alert(str(exc), color="danger", className="mb-0"), no_update, no_update
    return (
        dbc.Alert(f"Saved destination list {name!r} ({len(saved)} prefixes).", color="success", className="mb-0"),
        (refresh or 0) + 1,
        no_update,
    )
