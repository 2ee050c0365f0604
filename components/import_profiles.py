"""The import page's pieces: the preview table (each problem on its cell), the profile editor's form, and
the lists of problems, dry-run results and rejects."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from components.tables import header_table
from data.ingest.fields import CANONICAL_FIELDS, SOURCE_TYPES
from data.ingest.preview import PREVIEW_COLUMNS
from data.ingest.profile_spec import DURATION_UNITS, KINDS

# The editor's settings: (setting, label, help), in the order shown.
_TEXT_INPUTS = (
    ("name", "Name", "letters, digits, spaces, . _ -"),
    ("description", "Description", ""),
    ("separator", "Separator", ", ; | or \\t"),
    ("quote", "Quote", 'usually "; empty for none'),
    ("encoding", "Encoding", "utf-8, latin-1, cp1252…"),
    ("record_path", "Record path (JSON)", "e.g. cdrs or data.records"),
    ("dates", "Dates", "iso, epoch, epoch_ms, epoch_us, day-first, month-first, or %d/%m/%Y %H:%M"),
    ("timezone", "Time zone of the file", "empty: the switch's (Europe/Paris, UTC…)"),
    ("answered", "Answered when", "billsec, answer_time, or disposition=ANSWERED"),
    ("keep", "Calls are", "empty: every record; or record_tag=INVITE"),
    ("switch", "Default switch", "for rows that name none"),
)
_CHOICES = (
    ("kind", "File", KINDS),
    ("duration_unit", "Durations in", DURATION_UNITS),
    ("source_type", "Source type", tuple(SOURCE_TYPES)),
    ("extradata", "Other columns", ("unmapped", "none")),
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


def _labelled(label: str, control, help_text: str = "", width: int = 3):
    return dbc.Col(
        [dbc.Label(label, className="small mb-0"), control]
        + ([html.Div(help_text, className="form-text mt-0")] if help_text else []),
        md=width,
    )


def _rule_input(name: str):
    return _labelled(
        name,
        dbc.Input(
            id=rule_id(name), type="text", size="sm", debounce=0.6, placeholder="column, ^constant or ~col:s/re/x/"
        ),
    )


def editor_form():
    """The profile editor: settings, then where each Dialstat field comes from."""
    texts = [
        _labelled(label, dbc.Input(id=setting_id(key), type="text", size="sm", debounce=0.6), help_text)
        for key, label, help_text in _TEXT_INPUTS
    ]
    choices = [
        _labelled(label, dbc.Select(id=setting_id(key), size="sm", options=[{"label": o, "value": o} for o in options]))
        for key, label, options in _CHOICES
    ]
    numbers = [
        _labelled("Lines to skip", dbc.Input(id=setting_id("skip_lines"), type="number", min=0, size="sm")),
        _labelled("Columns a line has", dbc.Input(id=setting_id("columns"), type="number", min=0, size="sm"), "0: any"),
        _labelled("", dbc.Checkbox(id=setting_id("header"), label="First line names the columns", value=True)),
    ]
    cause = [
        _labelled(
            "Cause map reads",
            dbc.Select(
                id=setting_id("cause_field"),
                size="sm",
                options=[{"label": "(no map)", "value": ""}]
                + [{"label": f, "value": f} for f in ("disposition", "sip_code", "hangup_cause", "hangup_cause_id")],
            ),
        ),
        _labelled(
            "Cause map (value=Q.850 code, one a line)",
            dbc.Textarea(id=setting_id("cause_map"), size="sm", rows=3, debounce=True),
            "ANSWERED=16  BUSY=17  NO ANSWER=19",
            width=6,
        ),
    ]
    return html.Div(
        [
            dbc.Row(texts + choices + numbers + cause, className="g-2 mb-3"),
            html.H6("Where each Dialstat field comes from"),
            html.P(
                [
                    "A column by header name or position (1 is the first), ",
                    html.Code("^text"),
                    " for a constant, ",
                    html.Code("~column:s/regexp/template/"),
                    " to transform it (the RSR rules of export templates). Empty: not in the file.",
                ],
                className="form-text",
            ),
            dbc.Row([_rule_input(name) for name in MAIN_FIELDS], className="g-2 mb-2"),
            html.Details(
                [
                    html.Summary("Other fields", className="small"),
                    dbc.Row([_rule_input(n) for n in OTHER_FIELDS], className="g-2"),
                ],
                className="mb-3",
            ),
        ]
    )


def _cell(value, problem: str | None):
    shown = "–" if value is None else ("yes" if value is True else "no" if value is False else str(value))
    if not problem:
        return html.Td(shown)
    return html.Td(
        [html.Div(shown), html.Div(problem, className="small")],
        className="table-danger",
        title=problem,
        **{"data-problem": problem},
    )


def preview_table(preview: dict, empty: str = "No record in the first lines."):
    """The first records as they would be stored; a problem is shown on its cell (the line's when it is
    about the whole record)."""
    rows = preview.get("rows") or []
    if not rows:
        return html.P(empty, className="text-body-secondary")
    problems = preview.get("problems") or {}
    zone = rows[0].get("timezone") or "UTC"
    head = html.Thead(
        html.Tr(
            [html.Th(f"{title} ({zone})" if key in ("start", "answer") else title) for key, title in PREVIEW_COLUMNS]
        )
    )
    body = html.Tbody(
        [
            html.Tr([_cell(row.get(key), problems.get((index, key))) for key, _ in PREVIEW_COLUMNS])
            for index, row in enumerate(rows)
        ]
    )
    return dbc.Table([head, body], bordered=True, hover=True, size="sm", responsive=True, className="import-preview")


def problem_list(problems: list[tuple[str, str]]):
    """A refused profile's problems, each naming the setting of the form it is about."""
    return dbc.Alert(
        [
            html.Div("The profile was not saved:"),
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
            f"Dry run of {name}: {summary.rows_read:,} records read, {summary.accepted:,} would be stored, "
            f"{summary.duplicates:,} are already stored, {summary.rejected:,} would be rejected. Nothing was stored.",
            color=color,
        )
    ]
    if summary.reject_samples:
        items.append(html.H6("First rejects"))
        rows = [html.Tr([html.Td(line), html.Td(reason)]) for line, reason in summary.reject_samples]
        items.append(header_table(["Line", "Reason"], rows, ""))

    return html.Div(items, id="import-dry-run-summary")


def yaml_download_area():
    return dcc.Download(id="import-profile-yaml-download")
