"""Alarms: the list of the user's alarms (a customer: their own), the add/edit form with "test
alarm", and, for admins, the webhooks alarms can post to."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.alarms import alarm_form
from components.layout import page_layout
from data.admin import acl
from data.core import lookups
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.scope import current_scope

dash.register_page(__name__, path="/alarms", name=N_("Alarms"), order=80, access=acl.PAGE)


def _causes() -> list[dict]:
    return [{"label": f"{r['code']} {r['name']}", "value": r["code"]} for r in lookups.hangup_cause_rows()]


def _webhooks_card() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(_("Webhooks")),
            dbc.CardBody(
                [
                    html.P(
                        [
                            _(
                                "Each notification is a JSON POST signed with HMAC-SHA256 of the body under the "
                                "webhook's secret, in the header "
                            ),
                            html.Code("X-Dialstat-Signature: sha256=<hex>"),
                            _(
                                "; 5 s timeout, retried with backoff. Alarms choose theirs; threats and destination "
                                "alerts go to the webhooks subscribed to them."
                            ),
                        ],
                        className="small",
                    ),
                    dcc.Store(id="webhook-edit-id"),
                    dbc.Row(
                        [
                            dbc.Col(dbc.Input(id="webhook-name", placeholder=_("Name")), md=2),
                            dbc.Col(dbc.Input(id="webhook-url", placeholder="https://example.net/hook"), md=4),
                            dbc.Col(
                                dbc.Input(id="webhook-secret", placeholder=_("Secret (empty: generated / unchanged)")),
                                md=3,
                            ),
                            dbc.Col(
                                dbc.Checklist(
                                    id="webhook-events",
                                    inline=True,
                                    value=["threat", "destination_alert"],
                                    options=[
                                        {"label": _("Threats"), "value": "threat"},
                                        {"label": _("Destination alerts"), "value": "destination_alert"},
                                    ],
                                ),
                                md="auto",
                            ),
                            dbc.Col(dbc.Button(_("Add webhook"), id="webhook-save", color="secondary"), md="auto"),
                        ],
                        className="g-2 align-items-center",
                    ),
                    html.Div(id="webhook-feedback", className="mt-2"),
                    html.Div(id="webhook-list", className="mt-2"),
                    html.H6(_("Latest deliveries"), className="mt-3"),
                    html.Div(id="webhook-deliveries"),
                ]
            ),
        ],
        className="mb-3",
    )


def layout(**query):
    scope = current_scope()
    return page_layout(
        _("Alarms"),
        dcc.Store(id="alarms-version", data=0),
        html.Div(id="alarm-notices"),  # rules that notify nobody, firings that notified nobody
        alarm_form(scope.is_admin, _causes()),
        dbc.Card(
            [
                dbc.CardHeader(_("Your alarms") if not scope.is_admin else _("All alarms")),
                dbc.CardBody(html.Div(id="alarm-list")),
            ],
            className="mb-3",
        ),
        _webhooks_card() if scope.is_admin else html.Div(),
        intro=_(
            "Periods close at the boundaries of your time zone (%(zone)s); each closed period is "
            "evaluated once, a minute or two after it ends. Firings are listed in the alarm report.",
            zone=scope.timezone,
        ),
    )
