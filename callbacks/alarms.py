"""Alarms page: the form (save, test alarm, edit), the list (toggle, delete) and the admins' webhooks."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.forms import clicked, values_of
from components.alarms import alarm_list, notice_alerts, simple_rows, test_results
from data.admin import acl
from data.alerting import alarm_evaluation, alarms, unnotified, webhooks
from data.core.i18n import gettext as _
from data.core.scope import current_scope
from data.reports.traffic import filter_options
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/alarms"))
admin_callback = callbacks_for(acl.ADMIN)  # the webhooks card, shown to admins only

FIELDS = (
    "id",
    "name",
    "metric",
    "hangup_cause_id",
    "scope_kind",
    "scope_value",
    "period",
    "condition",
    "threshold",
    "compare_to",
    "min_attempts",
    "severity",
    "status",
    "dry_run",
    "email_to",
    "webhook_id",
    "description",
)
COMPONENTS = (
    "alarm-edit-id",
    "alarm-name",
    "alarm-metric",
    "alarm-cause",
    "alarm-scope-kind",
    "alarm-scope-value",
    "alarm-period",
    "alarm-condition",
    "alarm-threshold",
    "alarm-compare",
    "alarm-min-attempts",
    "alarm-severity",
    "alarm-active",
    "alarm-dry-run",
    "alarm-email",
    "alarm-webhook",
    "alarm-description",
)
PROPS = {"alarm-edit-id": "data"}
FORM_STATES = [State(c, PROPS.get(c, "value")) for c in COMPONENTS]
FORM_OUTPUTS = [Output(c, PROPS.get(c, "value"), allow_duplicate=True) for c in COMPONENTS]
DEFAULTS = {
    "id": None,
    "name": "",
    "metric": "asr",
    "hangup_cause_id": None,
    "scope_kind": "all",
    "scope_value": "",
    "period": "hour",
    "condition": "lt",
    "threshold": None,
    "compare_to": "previous",
    "min_attempts": 10,
    "severity": "warning",
    "status": True,
    "dry_run": False,
    "email_to": "",
    "webhook_id": None,
    "description": "",
}


def _values(states) -> dict:
    values = dict(zip(FIELDS, states, strict=True))
    values["status"] = "active" if values["status"] else "inactive"
    values["user_id"] = current_user.id
    return values


def _error(message: str):
    return dbc.Alert(message, color="danger", id="alarm-error", className="mb-0")


@callback(
    Output("alarm-scope-options", "children"),
    Output("alarm-scope-value", "disabled"),
    Output("alarm-scope-value", "placeholder"),
    Input("alarm-scope-kind", "value"),
)
def alarm_scope_options(kind):
    from data.core import lookups

    scope = current_scope()
    if kind in (None, "all"):
        return [], True, "—"
    if kind == "prefix":
        return [], False, _("digits, international format: 4420")
    if kind == "country":
        choices = [{"value": r["code"], "label": r["name"]} for r in lookups.country_rows()]
    else:
        found = filter_options(scope)
        choices = {
            "switch": found["switches"],
            "customer": found["customers"],
            "accountcode": found["accountcodes"],
        }.get(kind, [])
    if kind in ("switch", "customer"):  # typed and shown by name; the alarm stores the id
        return [html.Option(value=str(c["label"])) for c in choices], False, _("type or choose a name")
    return [html.Option(value=str(c["value"]), label=str(c["label"])) for c in choices], False, _("choose or type")


@callback(Output("alarm-cause-col", "style"), Input("alarm-metric", "value"))
def alarm_metric_changed(metric):
    return None if metric == "cause_share" else {"display": "none"}


@callback(Output("alarm-webhook", "options"), Input("alarms-version", "data"))
def alarm_webhook_options(_):
    if not current_scope().is_admin:
        return []
    return [{"label": w["name"], "value": w["id"]} for w in webhooks.list_webhooks() if w["is_active"]]


@callback(Output("alarm-list", "children"), Output("alarm-notices", "children"), Input("alarms-version", "data"))
def alarm_list_refresh(_):
    """The alarms, and what notifies nobody: rules without a recipient, and what fired unnoticed (7 days)."""
    scope = current_scope()
    rows = alarms.list_alarms(scope)
    warnings = unnotified.rule_warnings(scope)
    notices = notice_alerts(warnings, unnotified.unnotified(scope), scope.timezone)
    return alarm_list(rows, scope.timezone, show_owner=scope.is_admin), notices


@callback(
    Output("alarm-feedback", "children"),
    Output("alarms-version", "data"),
    Output("alarm-edit-id", "data", allow_duplicate=True),
    Output("alarm-form-title", "children"),
    Input("alarm-save", "n_clicks"),
    [State("alarms-version", "data"), *FORM_STATES],
    prevent_initial_call=True,
)
def alarm_save(n_clicks, version, *states):
    if not n_clicks:
        raise PreventUpdate
    try:
        alarm = alarms.save_alarm(current_scope(), _values(states))
    except alarms.AlarmError as exc:
        return _error(str(exc)), no_update, no_update, no_update
    warning = unnotified.alarm_warning(alarm)
    message = dbc.Alert(
        [
            _("Saved “%(name)s”: %(rule)s.", name=alarm.name, rule=alarm.describe()),
            *([html.Br(), html.Strong(warning)] if warning else []),
        ],
        color="warning" if warning else "success",
        id="alarm-saved",
        className="mb-0",
        duration=None if warning else 8000,
    )
    return message, (version or 0) + 1, alarm.id, _("Edit alarm “%(name)s”", name=alarm.name)


@callback(
    Output("alarm-test-results", "children"),
    Input("alarm-test", "n_clicks"),
    [State("alarm-test-days", "value"), *FORM_STATES],
    prevent_initial_call=True,
)
def alarm_test(n_clicks, days, *states):
    if not n_clicks:
        raise PreventUpdate
    values = _values(states)
    values.setdefault("name", "")
    values["name"] = values["name"] or _("(unsaved alarm)")
    try:
        alarm = alarms.build_alarm(current_scope(), values)
    except alarms.AlarmError as exc:
        return _error(str(exc))
    return test_results(alarm, alarm_evaluation.replay(alarm, int(days or 7)))


@callback(
    *FORM_OUTPUTS,
    Output("alarm-form-title", "children", allow_duplicate=True),
    Output("alarm-test-results", "children", allow_duplicate=True),
    [Input({"type": "alarm-edit", "id": ALL}, "n_clicks"), Input("alarm-new", "n_clicks")],
    prevent_initial_call=True,
)
def alarm_fill_form(edit_clicks, new_clicks):
    triggered = ctx.triggered_id
    if not clicked():
        raise PreventUpdate
    if triggered == "alarm-new":
        values, title = DEFAULTS, _("New alarm")
    else:
        try:
            alarm = alarms.get_alarm(current_scope(), int(triggered["id"]))
        except alarms.AlarmError:
            raise PreventUpdate from None
        values = {f: getattr(alarm, f) for f in FIELDS}
        values.update(
            status=alarm.status == "active",
            threshold=float(alarm.threshold),
            scope_value=alarm.scope_label or alarm.scope_value,  # a switch or customer by name
        )
        title = _("Edit alarm “%(name)s”", name=alarm.name)
    return (*[values[f] for f in FIELDS], title, None)


@callback(
    Output("alarm-feedback", "children", allow_duplicate=True),
    Output("alarms-version", "data", allow_duplicate=True),
    [Input({"type": "alarm-delete", "id": ALL}, "n_clicks"), Input({"type": "alarm-toggle", "id": ALL}, "value")],
    State("alarms-version", "data"),
    prevent_initial_call=True,
)
def alarm_row_action(_deletes, _toggles, version):
    triggered = ctx.triggered_id
    if not triggered or not ctx.triggered:
        raise PreventUpdate
    value = ctx.triggered[0].get("value")
    scope = current_scope()
    try:
        alarm = alarms.get_alarm(scope, int(triggered["id"]))
        if triggered["type"] == "alarm-delete":
            if not value:
                raise PreventUpdate
            alarms.delete_alarm(scope, alarm.id)
            message = _("Deleted “%(name)s”; its firings stay in the alarm report.", name=alarm.name)
        else:
            status = "active" if value else "inactive"
            if status == alarm.status:
                raise PreventUpdate  # a re-render, not a change
            alarms.set_status(scope, alarm.id, status)
            message = (
                _("“%(name)s” is now active.", name=alarm.name)
                if value
                else _("“%(name)s” is now inactive.", name=alarm.name)
            )
    except alarms.AlarmError as exc:
        return _error(str(exc)), no_update
    return dbc.Alert(message, color="info", className="mb-0", duration=6000), (version or 0) + 1


# --- webhooks (admins) -----------------------------------------------------------------------------------


@admin_callback(
    Output("webhook-list", "children"), Output("webhook-deliveries", "children"), Input("alarms-version", "data")
)
def webhook_list(_version):
    rows = [
        {
            **w,
            "events": ", ".join(w["events"]),  # the event names webhooks receive, identifiers
            "is_active": _("yes") if w["is_active"] else _("no"),
        }
        for w in webhooks.list_webhooks()
    ]
    columns = [("name", _("Name")), ("url", _("URL")), ("events", _("Broadcasts")), ("is_active", _("Active"))]
    listing = simple_rows(
        rows,
        [*columns, ("pending", _("Pending"))],
        _("No webhook."),
        delete_type="webhook-delete",
        table_id="webhook-table",
    )
    deliveries = [
        {
            **d,
            "created_at": f"{d['created_at']:%Y-%m-%d %H:%M:%S}",
            "delivered_at": f"{d['delivered_at']:%H:%M:%S}" if d["delivered_at"] else None,
        }
        for d in webhooks.deliveries(20)
    ]
    history = simple_rows(
        deliveries,
        [
            ("created_at", _("Queued (UTC)")),
            ("webhook", _("Webhook")),
            ("event", _("Event")),
            ("status", _("Status")),
            ("attempts", _("Attempts")),
            ("last_status_code", _("HTTP")),
            ("last_error", _("Last error")),
            ("delivered_at", _("Delivered")),
        ],
        _("Nothing sent yet."),
    )
    return listing, history


@admin_callback(
    [Output("webhook-feedback", "children"), Output("alarms-version", "data", allow_duplicate=True)],
    Input("webhook-save", "n_clicks"),
    [*values_of("webhook-name", "webhook-url", "webhook-secret", "webhook-events"), State("alarms-version", "data")],
    prevent_initial_call=True,
)
def webhook_save(n_clicks, name, url, secret, events, version):
    if not n_clicks:
        raise PreventUpdate
    try:
        hook = webhooks.save_webhook(name, url, secret, events or [])
    except webhooks.WebhookError as exc:
        return dbc.Alert(str(exc), color="danger", className="mb-0"), no_update
    except Exception:  # the name is taken
        return dbc.Alert(_("A webhook with that name exists already."), color="danger", className="mb-0"), no_update
    shown = (
        ""
        if secret
        else " " + _("Its secret: %(secret)s (shown once; keep it for checking signatures).", secret=hook["secret"])
    )
    saved = _("Webhook “%(name)s” saved.", name=hook["name"]) + shown
    return dbc.Alert(saved, color="success", className="mb-0"), (version or 0) + 1


@admin_callback(
    Output("webhook-feedback", "children", allow_duplicate=True),
    Output("alarms-version", "data", allow_duplicate=True),
    Input({"type": "webhook-delete", "id": ALL}, "n_clicks"),
    State("alarms-version", "data"),
    prevent_initial_call=True,
)
def webhook_delete(_clicks, version):
    if not clicked():
        raise PreventUpdate
    webhooks.delete_webhook(int(ctx.triggered_id["id"]))
    return dbc.Alert(_("Webhook deleted."), color="info", className="mb-0", duration=5000), (version or 0) + 1
