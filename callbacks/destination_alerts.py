"""Destination alerts page (admins): blacklist / whitelist, alert remove prefixes, number check, events."""

from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from callbacks.forms import add_or_delete, values_of
from components.alarms import local, simple_rows
from data.admin import acl
from data.alerting import alert_settings, destination_alerts
from data.core.i18n import gettext as _
from data.core.scope import current_scope
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/destination-alerts"))


@callback(
    [Output("rule-list-table", "children"), Output("rule-feedback", "children"), Output("destination-version", "data")],
    [Input("rule-add", "n_clicks"), Input({"type": "rule-delete", "id": ALL}, "n_clicks")],
    [*values_of("rule-list", "rule-country", "rule-prefix", "rule-description"), State("destination-version", "data")],
)
def destination_rules(_add, _deletes, which, country, prefix, description, version):

    def add():
        rule = destination_alerts.add_rule(which, country, prefix, description or "")
        added = _("Added to the blacklist.") if rule["list"] == "blacklist" else _("Added to the whitelist.")
        return dbc.Alert(added, color="success", className="mb-0", duration=4000)

    feedback = add_or_delete(
        "rule-add", add, lambda rule_id: destination_alerts.delete_rule(int(rule_id)), destination_alerts.RuleError
    )
    lists = {"blacklist": _("Blacklist"), "whitelist": _("Whitelist")}
    rows = [
        {
            **r,
            "list": lists.get(r["list"], r["list"]),
            "what": f"{r['country']} ({r['country_code']})"
            if r["country_code"]
            else _("prefix %(prefix)s", prefix=r["prefix"]),
        }
        for r in destination_alerts.list_rules()
    ]
    table = simple_rows(
        rows,
        [("list", _("List")), ("what", _("Country or prefix")), ("description", _("Description"))],
        _("Both lists are empty."),
        delete_type="rule-delete",
        table_id="rule-table",
    )
    return table, feedback, (version or 0) + (1 if ctx.triggered_id else 0)


@callback(
    [Output("remove-list", "children"), Output("remove-feedback", "children")],
    [Input("remove-add", "n_clicks"), Input({"type": "remove-delete", "id": ALL}, "n_clicks")],
    [State("remove-prefix", "value"), State("remove-description", "value")],
)
def remove_prefixes(_add, _deletes, prefix, description):
    feedback = add_or_delete(
        "remove-add",
        lambda: destination_alerts.add_remove_prefix(prefix, description or ""),
        destination_alerts.delete_remove_prefix,
        destination_alerts.RuleError,
    )
    columns = [("prefix", _("Prefix")), ("description", _("Description"))]
    return simple_rows(
        destination_alerts.list_remove_prefixes(), columns, _("None."), delete_type="remove-delete", key="prefix"
    ), feedback


@callback(
    Output("check-result", "children"),
    [Input("check-button", "n_clicks"), Input("check-number", "n_submit")],
    State("check-number", "value"),
    prevent_initial_call=True,
)
def check_number(_clicks, _submit, number):
    if not number:
        raise PreventUpdate
    from data.core.normalise import normalise_number
    from data.core.setting_overrides import effective_number_plan

    normalised = normalise_number(number, effective_number_plan())
    match = destination_alerts.check_number(normalised.normalised or number, normalised.country_code)
    label = destination_alerts.reason_label
    lines = [
        _(
            "Normalised: %(number)s (%(kind)s), country %(country)s",
            number=normalised.normalised or "–",
            kind=normalised.kind,
            country=normalised.country_code or "–",
        ),
        (
            _("Matched as %(number)s after removing %(removed)s", number=match.number, removed=match.removed)
            if match.removed
            else _("Matched as %(number)s", number=match.number)
        )
        + _(", country %(country)s", country=match.country_code or "–"),
    ]
    verdict = (
        _("Flagged: %(rule)s", rule=label(match.blacklisted_by))
        if match.flagged
        else _(
            "Not flagged: %(whitelist)s wins over %(blacklist)s",
            whitelist=label(match.whitelisted_by),
            blacklist=label(match.blacklisted_by),
        )
        if match.blacklisted_by
        else _("Not flagged: on no blacklist")
    )
    return [html.Div(line) for line in lines] + [html.Div(verdict, id="check-verdict", className="fw-semibold")]


@callback(Output("notify-emails", "value"), Input("notify-save", "id"))
def notify_emails_load(_):
    return alert_settings.get_settings(alert_settings.SETTING_DEFAULTS)["notify_emails"]


@callback(
    Output("notify-feedback", "children"),
    Input("notify-save", "n_clicks"),
    State("notify-emails", "value"),
    prevent_initial_call=True,
)
def notify_emails_save(n_clicks, value):
    from data.core.mailer import parse_addresses

    valid, invalid = parse_addresses(value or "")
    if invalid:
        return _("Not an e-mail address: %(addresses)s", addresses=", ".join(invalid))
    alert_settings.save_settings({"notify_emails": ", ".join(valid)}, alert_settings.SETTING_DEFAULTS)
    return _("Saved.")


@callback(Output("destination-events", "children"), Input("destination-version", "data"))
def destination_events(_version):
    scope = current_scope()
    rows = []
    for e in destination_alerts.recent_events(100):
        query = {
            "start": local(e["first_call"], scope.timezone, "%Y-%m-%d"),
            "end": local(e["last_call"], scope.timezone, "%Y-%m-%d"),
        }
        if e["accountcode"]:
            query["accountcode"] = e["accountcode"]
        if e["country_code"]:
            query["country"] = e["country_code"]
        rows.append(
            {
                **e,
                "reason": destination_alerts.reason_label(e["reason"]),
                "first_call": local(e["first_call"], scope.timezone),
                "last_call": local(e["last_call"], scope.timezone),
                "link": dcc.Link(_("Calls →"), href="/cdrs?" + urlencode(query)),
            }
        )
    return simple_rows(
        rows,
        [
            ("first_call", _("First call")),
            ("last_call", _("Last call")),
            ("reason", _("Rule")),
            ("accountcode", _("Accountcode")),
            ("customer", _("Customer")),
            ("country_code", _("Country")),
            ("calls", _("Calls")),
            ("sample_number", _("Example")),
            ("link", ""),
        ],
        _("No blacklisted call yet."),
        table_id="destination-events-table",
    )
