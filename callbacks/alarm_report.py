"""Alarm report page: the firings of the alarms the user sees, and acknowledging them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.forms import clicked
from components.alarms import report_table
from data.admin import acl
from data.alerting import alarms
from data.core.i18n import gettext as _
from data.core.i18n import ngettext
from data.core.scope import current_scope
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/alarm-report"))


@callback(Output("alarm-report-alarm", "options"), Input("alarm-report-version", "data"))
def alarm_report_options(_):
    return [{"label": a["name"], "value": a["id"]} for a in alarms.list_alarms(current_scope())]


@callback(
    [Output("alarm-report-table-wrap", "children"), Output("alarm-report-count", "children")],
    Input("alarm-report-alarm", "value"),
    Input("alarm-report-range", "value"),
    Input("alarm-report-unacked", "value"),
    Input("alarm-report-dry", "value"),
    Input("alarm-report-version", "data"),
)
def alarm_report_refresh(alarm_id, days, unacked, dry_runs, _version):
    start = datetime.now(timezone.utc) - timedelta(days=int(days)) if days else None
    rows = alarms.report(
        current_scope(),
        start=start,
        alarm_id=alarm_id,
        unacknowledged_only=bool(unacked),
        include_dry_run=bool(dry_runs),
    )
    count = ngettext("%(num)s firing", "%(num)s firings", len(rows))
    return report_table(rows), count + (_(" (the latest 500)") if len(rows) >= 500 else "")


@callback(
    [Output("alarm-report-feedback", "children"), Output("alarm-report-version", "data")],
    Input({"type": "alarm-ack", "id": ALL}, "n_clicks"),
    State("alarm-report-version", "data"),
    prevent_initial_call=True,
)
def alarm_acknowledge(_clicks, version):
    if not clicked():
        raise PreventUpdate
    done = alarms.acknowledge(current_scope(), int(ctx.triggered_id["id"]), current_user.id)
    if not done:
        return dbc.Alert(_("Nothing to acknowledge."), color="warning", duration=4000), (version or 0) + 1
    return dbc.Alert(_("Acknowledged."), color="success", duration=4000), (version or 0) + 1
