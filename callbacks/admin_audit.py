"""Callbacks of the audit log page (admins only)."""

from datetime import timezone

import dash_bootstrap_components as dbc
from dash import Input, Output, html

from components.admin import json_block, shown
from data.admin import acl
from data.core import audit
from data.core.i18n import gettext as _
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/admin/audit"))


@callback(
    Output("admin-audit-table", "children"), [Input("admin-audit-kind", "value"), Input("admin-audit-actor", "value")]
)
def show_audit(kind, actor):
    rows = audit.recent(300, target_type=kind or None, actor=(actor or "").strip() or None)
    if not rows:
        return html.P(_("No change recorded."), className="text-body-secondary small")
    head = html.Thead(
        html.Tr([html.Th(t) for t in (_("When (UTC)"), _("Who"), _("What"), _("Object"), _("Change"), _("Details"))])
    )
    body = []
    for row in rows:
        details = (
            html.Details(
                [
                    html.Summary(_("before / after"), className="small"),
                    dbc.Row([dbc.Col(json_block(row["before"])), dbc.Col(json_block(row["after"]))]),
                ]
            )
            if row["before"] is not None or row["after"] is not None
            else None
        )
        body.append(
            html.Tr(
                [
                    html.Td(shown(row["at"].astimezone(timezone.utc).replace(tzinfo=None)), className="text-nowrap"),
                    html.Td(row["actor"]),
                    html.Td(row["action"]),
                    html.Td(f"{row['target_type']} {row['target_id'] or ''}"),
                    html.Td(audit.summary(row), className="small"),
                    html.Td(details),
                ]
            )
        )
    return dbc.Table([head, html.Tbody(body)], size="sm", striped=True, responsive=True, id="admin-audit-rows")
