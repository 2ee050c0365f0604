"""The import page's pieces: the preview table (each problem on its cell), the profile editor's form, and
the lists of problems, dry-run results and rejects."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.tables import header_table
from data.core.i18n import N_, current_language, number
from data.core.i18n import gettext as _
from data.ingest.fields import CANONICAL_FIELDS, SOURCE_TYPES
from data.ingest.preview import PREVIEW_COLUMNS
from data.ingest.profile_spec import DURATION_UNITS, KINDS
from data.ingest.reject_texts import shown_reason

# The editor's settings: (setting, label, help), in the order shown.
_TEXT_INPUTS = (
    ("name", N_("Name"), N_("letters, digits, spaces, . _ -")),
    ("description", N_("Description"), ""),
    ("separator", N_("Separator"), N_(", ; | or %(tab)s")),  # \t: a tab, as the profile writes it
    ("quote", N_("Quote"), N_('usually "; empty for none')),
    ("encoding", N_("Encoding"), N_("utf-8, latin-1, cp1252…")),
    ("record_path", N_("Record path (JSON)"), N_("e.g. cdrs or data.records")),
    ("dates", N_("Dates"), N_("iso, epoch, epoch_ms, epoch_us, day-first, month-first, or %d/%m/%Y %H:%M")),
    ("timezone", N_("Time zone of the file"), N_("empty: the switch's (Europe/Paris, UTC…)")),
    ("answered", N_("Answered when"), N_("billsec, answer_time, or disposition=ANSWERED")),
    ("keep", N_("Calls are"), N_("empty: every record; or record_tag=INVITE")),
    ("switch", N_("Default switch"), N_("for rows that name none")),
)
_CHOICES = (
    ("kind", N_("File"), KINDS),
    ("duration_unit", N_("Durations in"), DURATION_UNITS),
    ("source_type", N_("Source type"), tuple(SOURCE_TYPES)),
    ("extradata", N_("Other columns"), ("unmapped", "none")),
)
# The fields most files give, first; the others after.
MAIN_FIELDS = (
    "callid",
    "starting_date",
    "answered_date",
    "ending_date",
    "duration",
    "billsec",
    "caller_id_number",
    "caller_id_name",
    "destination_number",
    "accountcode",
    "hangup_cause",
    "hangup_cause_id",
    "disposition",
    "sip_code",
    "direction",
    "switch",
)
OTHER_FIELDS = tuple(f for f in CANONICAL_FIELDS if f not in MAIN_FIELDS)


def setting_id(key: str) -> dict:
    return {"type": "import-profile-setting", "key": key}


def rule_id(field_name: str) -> dict:
    return {"type": "import-profile-rule", "field": field_name}


def _labelled(label, control, help_text: str = "", width: int = 3):
    """A setting with its label and help (both already translated)."""
    return dbc.Col(
        [dbc.Label(label, className="small mb-0"), control]
        + ([html.Div(help_text, className="form-text mt-0")] if help_text else []),
        md=width,
    )


def _rule_input(name: str):
    return _labelled(
        html.Code(name),  # a Dialstat field name, as the YAML profiles write it
        dbc.Input(
            id=rule_id(name), type="text", size="sm", debounce=0.6, placeholder=_("column, ^constant or ~col:s/re/x/")
        ),
    )


def editor_form():
    """The profile editor: settings, then where each Dialstat field comes from."""
    texts = [
        _labelled(
            _(label),
            dbc.Input(id=setting_id(key), type="text", size="sm", debounce=0.6),
            _(help_text, tab="\\t") if key == "separator" else _(help_text) if help_text else "",
        )
        for key, label, help_text in _TEXT_INPUTS
    ]
    choices = [
        _labelled(
            _(label), dbc.Select(id=setting_id(key), size="sm", options=[{"label": o, "value": o} for o in options])
        )
        for key, label, options in _CHOICES
    ]
    numbers = [
        _labelled(_("Lines to skip"), dbc.Input(id=setting_id("skip_lines"), type="number", min=0, size="sm")),
        _labelled(
            _("Columns a line has"), dbc.Input(id=setting_id("columns"), type="number", min=0, size="sm"), _("0: any")
        ),
        _labelled("", dbc.Checkbox(id=setting_id("header"), label=_("First line names the columns"), value=True)),
    ]
    cause = [
        _labelled(
            _("Cause map reads"),
            dbc.Select(
                id=setting_id("cause_field"),
                size="sm",
                options=[{"label": _("(no map)"), "value": ""}]
                + [{"label": f, "value": f} for f in ("disposition", "sip_code", "hangup_cause", "hangup_cause_id")],
            ),
        ),
        _labelled(
            _("Cause map (value=Q.850 code, one a line)"),
            dbc.Textarea(id=setting_id("cause_map"), size="sm", rows=3, debounce=True),
            "ANSWERED=16  BUSY=17  NO ANSWER=19",
            width=6,
        ),
    ]
    return html.Div(
        [
            dbc.Row(texts + choices + numbers + cause, className="g-2 mb-3"),
            html.H6(_("Where each Dialstat field comes from")),
            html.P(
                [
                    _("A column by header name or position (1 is the first),") + " ",
                    html.Code("^text"),
                    " " + _("for a constant,") + " ",
                    html.Code("~column:s/regexp/template/"),
                    " " + _("to transform it (the RSR rules of export templates). Empty: not in the file."),
                ],
                className="form-text",
            ),
            dbc.Row([_rule_input(name) for name in MAIN_FIELDS], className="g-2 mb-2"),
            html.Details(
                [
                    html.Summary(_("Other fields"), className="small"),
                    dbc.Row([_rule_input(n) for n in OTHER_FIELDS], className="g-2"),
                ],
                className="mb-3",
            ),
        ]
    )


def _cell(value, problem: str | None):
    shown = "–" if value is None else (_("yes") if value is True else _("no") if value is False else str(value))
    if not problem:
        return html.Td(shown)
    return html.Td(
        [html.Div(shown), html.Div(problem, className="small")],
        className="table-danger",
        title=problem,
        **{"data-problem": problem},
    )


def preview_table(preview: dict, empty: str | None = None):
    """The first records as they would be stored; a problem is shown on its cell (the line's when it is
    about the whole record)."""
    rows = preview.get("rows") or []
    if not rows:
        return html.P(empty or _("No record in the first lines."), className="text-body-secondary")
    problems = preview.get("problems") or {}
    zone = rows[0].get("timezone") or "UTC"
    head = html.Thead(
        html.Tr(
            [
                html.Th(
                    _("%(column)s (%(zone)s)", column=_(title), zone=zone) if key in ("start", "answer") else _(title)
                )
                for key, title in PREVIEW_COLUMNS
            ]
        )
    )
    body = html.Tbody(
        [
            html.Tr([_cell(row.get(key), problems.get((index, key))) for key, _title in PREVIEW_COLUMNS])
            for index, row in enumerate(rows)
        ]
    )
    return dbc.Table([head, body], bordered=True, hover=True, size="sm", responsive=True, className="import-preview")


def problem_list(problems: list[tuple[str, str]]):
    """A refused profile's problems, each naming the setting of the form it is about."""
    return dbc.Alert(
        [
            html.Div(_("The profile was not saved:")),
            html.Ul([html.Li([html.B(where), ": ", why]) for where, why in problems]),
        ],
        color="danger",
        className="mt-2",
    )


def dry_run_summary(summary, name: str):
    """What a dry run over the whole file found, and its first rejects."""
    color = "success" if not summary.rejected else "warning"
    items = [
        dbc.Alert(
            _(
                "Dry run of %(file)s: %(read)s records read, %(accepted)s would be stored, %(duplicates)s are "
                "already stored, %(rejected)s would be rejected. Nothing was stored.",
                file=name,
                read=_count(summary.rows_read),
                accepted=_count(summary.accepted),
                duplicates=_count(summary.duplicates),
                rejected=_count(summary.rejected),
            ),
            color=color,
        )
    ]
    if summary.reject_samples:
        items.append(html.H6(_("First rejects")))
        rows = [html.Tr([html.Td(line), html.Td(shown_reason(reason))]) for line, reason in summary.reject_samples]
        items.append(header_table([N_("Line"), N_("Reason")], rows, ""))

    return html.Div(items, id="import-dry-run-summary")


def _count(value) -> str:
    return number(value, current_language())


def yaml_download_area():
    return dcc.Download(id="import-profile-yaml-download")
