"""Threat control page (admins): current threats, high-cost destinations, thresholds, high-cost prefixes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from callbacks.forms import add_or_delete
from components.alarms import local, money, simple_rows, threats_table
from data.admin import acl
from data.alerting import alarms, threat_detectors, threat_texts, threats
from data.core.i18n import current_language, number
from data.core.i18n import gettext as _
from data.core.scope import current_scope
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/threats"))

_cache: dict = {}


def _current_threats(now: datetime) -> list:
    """The ranking, computed at most once a minute per process and language (the page refreshes every minute;
    the threats' texts are written in the reader's language)."""
    minute, language = now.replace(second=0, microsecond=0), current_language()
    if _cache.get("minute") != minute:
        _cache.clear()
        _cache["minute"] = minute
    if language not in _cache:
        _cache[language] = threats.detect(now)
    return _cache[language]


@callback(
    Output("threats-current", "children"),
    Output("threats-high-cost", "children"),
    Output("threats-history", "children"),
    [Input("threats-refresh", "n_clicks"), Input("threats-interval", "n_intervals")],
)
def threats_refresh(_clicks, _ticks):
    scope = current_scope()
    now = datetime.now(timezone.utc)
    current = [{**t.as_dict(), "link": threats.cdr_search_link(t, scope.timezone)} for t in _current_threats(now)]
    high = threat_detectors.high_cost_report(now - timedelta(hours=24), now)
    high_rows = [
        {
            **r,
            "minutes": number(r["minutes"], current_language(), 1),
            "category": threat_texts.category_label(r["category"]),
            "cost": money(r["cost"]),
            "at_risk": money(r["at_risk"]),
            "accountcode": r["accountcode"] or _("(none)"),
            "sample_number": f"+{r['sample_number']}",
        }
        for r in high
    ]
    history = [
        {
            "when": local(h["detected_at"], scope.timezone),
            "kind": threat_texts.kind_label(h["kind"]),
            "subject": h["subject"],
            "at_risk": money(h["cost_at_risk"]),
        }
        for h in threats.history(50)
    ]
    return (
        threats_table(current, {kind: threat_texts.kind_label(kind) for kind in threat_texts.KINDS}),
        simple_rows(
            high_rows,
            [
                ("accountcode", _("Accountcode")),
                ("category", _("Category")),
                ("countries", _("Countries")),
                ("numbers", _("Numbers")),
                ("sample_number", _("Example")),
                ("calls", _("Calls")),
                ("minutes", _("Minutes")),
                ("cost", _("Cost")),
                ("at_risk", _("Cost at risk")),
            ],
            _("No call to a high-cost destination."),
            table_id="high-cost-table",
        ),
        simple_rows(
            history,
            [("when", _("Detected")), ("kind", _("Kind")), ("subject", _("Subject")), ("at_risk", _("Cost at risk"))],
            _("No threat notified yet."),
        ),
    )


@callback(Output({"type": "threat-setting", "key": ALL}, "value"), Input("threats-refresh", "id"))
def threat_settings_load(_):
    values = threats.settings()
    return [values[o["id"]["key"]] for o in ctx.outputs_list]


@callback(
    Output("threat-settings-feedback", "children"),
    Input("threat-settings-save", "n_clicks"),
    State({"type": "threat-setting", "key": ALL}, "value"),
    prevent_initial_call=True,
)
def threat_settings_save(n_clicks, values):
    if not n_clicks:
        raise PreventUpdate
    keys = [s["id"]["key"] for s in ctx.states_list[0]]
    try:
        threats.save(dict(zip(keys, values, strict=True)))
    except alarms.AlarmError as exc:
        return dbc.Alert(str(exc), color="danger", className="mb-0")
    return dbc.Alert(
        _("Thresholds saved; the next detection uses them."), color="success", className="mb-0", duration=5000
    )


@callback(
    [Output("high-cost-list", "children"), Output("high-cost-feedback", "children")],
    [Input("high-cost-add", "n_clicks"), Input({"type": "high-cost-delete", "id": ALL}, "n_clicks")],
    [State("high-cost-prefix", "value"), State("high-cost-description", "value")],
)
def high_cost_prefixes(_add, _deletes, prefix, description):
    feedback = add_or_delete(
        "high-cost-add",
        lambda: threat_detectors.add_high_cost_prefix(prefix, description or ""),
        threat_detectors.delete_high_cost_prefix,
        ValueError,
    )
    return simple_rows(
        threat_detectors.list_high_cost_prefixes(),
        [("prefix", _("Prefix")), ("description", _("Description"))],
        _("None: premium rate, shared cost and satellite numbers are found anyway."),
        delete_type="high-cost-delete",
        key="prefix",
    ), feedback
