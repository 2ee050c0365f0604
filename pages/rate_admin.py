"""Rate management (admins): providers, rate plans and decks, retail derived from carrier, ban plans,
VoIP plans and the customers on them, re-rating."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.layout import page_layout
from components.rating import PLAN_RATE_COLUMNS, column, grid, rate_search
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/admin/rates", name=N_("Rate plans"), order=91, access=acl.ADMIN)


def _card(title: str, body: list, **kwargs) -> dbc.Card:
    return dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], className="mb-3", **kwargs)


def _form_line(*columns) -> dbc.Row:
    return dbc.Row(list(columns), className="mt-2 g-2")


def _button(label: str, button_id: str) -> dbc.Col:
    return dbc.Col(dbc.Button(label, id=button_id, color="secondary"), width="auto")


def providers_card() -> dbc.Card:
    return _card(
        _("Providers (carriers)"),
        [
            grid(
                "rate-admin-providers",
                [
                    column("name", _("Provider")),
                    column("priority", _("Priority"), True),
                    column("plans", _("Carrier plans")),
                    column("description", _("Description")),
                ],
                height=200,
            ),
            _form_line(
                dbc.Col(dbc.Input(id="rate-admin-provider-name", placeholder=_("Name")), md=5),
                dbc.Col(dbc.Input(id="rate-admin-provider-priority", type="number", value=100, step=1), md=3),
                _button(_("Add provider"), "rate-admin-provider-add"),
            ),
            html.Small(
                _("LCR ties (same prefix, same rate) go to the lower priority number."), className="text-body-secondary"
            ),
        ],
    )


def plans_card() -> dbc.Card:
    return _card(
        _("Rate plans"),
        [
            grid(
                "rate-admin-plans",
                [
                    column("name", _("Plan")),
                    column("kind", _("Kind")),
                    column("provider", _("Provider")),
                    column("currency", _("Currency")),
                    column("rates", _("Rates"), True),
                ],
                height=220,
            ),
            _form_line(
                dbc.Col(dbc.Input(id="rate-admin-plan-name", placeholder=_("Name")), md=3),
                dbc.Col(
                    dcc.Dropdown(
                        id="rate-admin-plan-kind",
                        value="retail",
                        clearable=False,
                        options=[
                            {"label": _("Retail (sell)"), "value": "retail"},
                            {"label": _("Carrier (buy)"), "value": "carrier"},
                        ],
                    ),
                    md=2,
                ),
                dbc.Col(dcc.Dropdown(id="rate-admin-plan-provider", placeholder=_("Provider (carrier plans)")), md=3),
                dbc.Col(dbc.Input(id="rate-admin-plan-currency", value="USD", maxLength=3), md=1),
                _button(_("Create plan"), "rate-admin-plan-add"),
            ),
        ],
    )


def deck_card() -> dbc.Card:
    return _card(
        _("Import a rate deck (CSV)"),
        [
            html.P(
                [
                    _("Columns: "),
                    html.Code(
                        "prefix, destination, rate, connection_fee, increment_first, increment_next, effective_from"
                    ),
                    _(" and optionally "),
                    html.Code("effective_to"),
                    _(". Dates are UTC. A deck with a bad line imports nothing and lists every bad line."),
                ],
                className="small",
            ),
            dbc.Row(
                [
                    dbc.Col(dcc.Dropdown(id="rate-admin-deck-plan", placeholder=_("Into plan")), md=4),
                    dbc.Col(
                        dcc.Upload(
                            dbc.Button(_("Choose file…"), color="secondary", outline=True),
                            id="rate-admin-deck-file",
                            accept=".csv,text/csv,text/plain",
                        ),
                        width="auto",
                    ),
                    dbc.Col(html.Span(id="rate-admin-deck-filename", className="small"), className="align-self-center"),
                ],
                className="g-2 mb-2",
            ),
            dbc.Checkbox(
                id="rate-admin-deck-replace",
                value=False,
                label=_("Full deck: end the plan's prefixes this deck leaves out, from its first date"),
            ),
            dbc.Button(_("Import"), id="rate-admin-deck-import", color="primary", className="mt-2"),
            dcc.Loading(html.Div(id="rate-admin-deck-result", className="mt-2")),
        ],
    )


def derive_card() -> dbc.Card:
    return _card(
        _("Retail rates from a carrier plan"),
        [
            dbc.Row(
                [
                    dbc.Col(dcc.Dropdown(id="rate-admin-derive-carrier", placeholder=_("Carrier plan")), md=4),
                    dbc.Col(dcc.Dropdown(id="rate-admin-derive-retail", placeholder=_("Retail plan")), md=4),
                    dbc.Col(
                        dbc.InputGroup(
                            [
                                dbc.Input(id="rate-admin-derive-percent", type="number", value=20),
                                dbc.InputGroupText(_("% profit")),
                            ]
                        ),
                        md=2,
                    ),
                    _button(_("Derive"), "rate-admin-derive"),
                ],
                className="g-2",
            ),
            html.Div(id="rate-admin-derive-result", className="mt-2"),
        ],
    )


def plan_rates_card() -> dbc.Card:
    return _card(
        _("Rates of a plan (every version)"),
        [
            dbc.Row(
                [
                    dbc.Col(dcc.Dropdown(id="rate-admin-view-plan", placeholder=_("Plan")), md=4),
                    rate_search("rate-admin-view-search", _("Prefix, destination or country")),
                ],
                className="g-2 mb-2",
            ),
            grid("rate-admin-rates", PLAN_RATE_COLUMNS, height=360),
        ],
    )


def voip_plans_card() -> dbc.Card:
    return _card(
        _("Ban plans, VoIP plans and customers"),
        [
            grid(
                "rate-admin-bans", [column("name", _("Ban plan")), column("prefixes", _("Banned prefixes"))], height=160
            ),
            dbc.Row(
                [
                    dbc.Col(dbc.Input(id="rate-admin-ban-name", placeholder=_("Ban plan name")), md=3),
                    dbc.Col(
                        dbc.Input(id="rate-admin-ban-prefixes", placeholder=_("Prefixes, comma separated: 881, 3490")),
                        md=6,
                    ),
                    _button(_("Create ban plan"), "rate-admin-ban-add"),
                ],
                className="mt-2 mb-3 g-2",
            ),
            grid(
                "rate-admin-voip-plans",
                [
                    column("name", _("VoIP plan")),
                    column("retail_plans", _("Retail plans")),
                    column("carrier_plans", _("Carrier plans (LCR)")),
                    column("ban_plans", _("Ban plans")),
                    column("customers", _("Customers")),
                ],
                height=200,
            ),
            _form_line(
                dbc.Col(dbc.Input(id="rate-admin-voip-name", placeholder=_("VoIP plan name")), md=2),
                dbc.Col(
                    dcc.Dropdown(
                        id="rate-admin-voip-rate-plans", multi=True, placeholder=_("Retail and carrier plans")
                    ),
                    md=5,
                ),
                dbc.Col(dcc.Dropdown(id="rate-admin-voip-ban-plans", multi=True, placeholder=_("Ban plans")), md=3),
                _button(_("Create VoIP plan"), "rate-admin-voip-add"),
            ),
            _form_line(
                dbc.Col(dcc.Dropdown(id="rate-admin-assign-customer", placeholder=_("Customer")), md=3),
                dbc.Col(dcc.Dropdown(id="rate-admin-assign-plan", placeholder=_("VoIP plan (empty: none)")), md=3),
                _button(_("Assign"), "rate-admin-assign"),
            ),
        ],
    )


def rerate_card() -> dbc.Card:
    return _card(
        _("Re-rating"),
        [
            html.P(
                _(
                    "Re-price the calls of a period from the rates in force now (after a rate change), imported "
                    "prices included, and rebuild its rollups. The request runs in the background within a minute."
                ),
                className="small",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.DatePickerRange(
                            id="rate-admin-rerate-period", display_format=_("YYYY-MM-DD"), first_day_of_week=1
                        ),
                        width="auto",
                    ),
                    dbc.Col(dcc.Dropdown(id="rate-admin-rerate-customer", placeholder=_("All customers")), md=3),
                    dbc.Col(dbc.Button(_("Queue re-rating"), id="rate-admin-rerate", color="warning"), width="auto"),
                ],
                className="g-2 mb-2",
            ),
            grid(
                "rate-admin-rerate-requests",
                [
                    column("id", "#", True),
                    column("period_start", _("From (UTC)")),
                    column("period_end", _("Until (UTC)")),
                    column("customer", _("Customer")),
                    column("requested_by", _("By")),
                    column("status", _("Status")),
                    column("calls", _("Calls changed"), True),
                    column("finished_at", _("Finished")),
                    column("error", _("Error")),
                ],
                height=220,
            ),
        ],
    )


def layout(**_query):
    return page_layout(
        _("Rate plans"),
        dcc.Store(id="rate-admin-refresh", data=0),
        html.Div(id="rate-admin-feedback"),
        dbc.Row([dbc.Col(providers_card(), lg=5), dbc.Col(plans_card(), lg=7)]),
        dbc.Row([dbc.Col(deck_card(), lg=6), dbc.Col(derive_card(), lg=6)]),
        plan_rates_card(),
        voip_plans_card(),
        rerate_card(),
    )
