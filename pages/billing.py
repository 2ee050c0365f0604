"""Billing report: cost, revenue, margin and margin % by day, customer, carrier and country; loss-making calls;
unrated calls and why. Customers see what their calls cost them, by day and country."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.charts import chart_card, kpi_card
from components.filters import choice
from components.rating import column, grid
from components.tables import download_links
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.scope import current_scope

dash.register_page(__name__, path="/billing", name=N_("Billing"), order=62, access=acl.PAGE)

GROUP_LABELS = {"day": N_("Day"), "customer": N_("Customer"), "carrier": N_("Carrier"), "country": N_("Country")}
SUMMARY_COLUMNS = [
    column("calls", N_("Calls"), True),
    column("answered", N_("Answered"), True),
    column("billsec", N_("Billed seconds"), True),
    column("cost", N_("Cost (buy)"), True),
    column("revenue", N_("Revenue (sell)"), True),
    column("margin", N_("Margin"), True),
    column("margin_percent", N_("Margin %"), True),
    column("loss_calls", N_("Loss-making"), True),
    column("unrated_calls", N_("Unrated"), True),
]
CALL_COLUMNS = [
    column("starting_date", N_("Start (UTC)")),
    column("customer", N_("Customer")),
    column("accountcode", N_("Accountcode")),
    column("destination_number", N_("Destination")),
    column("country", N_("Country")),
    column("billsec", N_("Billsec"), True),
]
LOSS_COLUMNS = CALL_COLUMNS + [
    column("carrier", N_("Carrier")),
    column("buy_cost", N_("Buy"), True),
    column("sell_cost", N_("Sell"), True),
    column("margin", N_("Margin"), True),
]
UNRATED_COLUMNS = CALL_COLUMNS + [column("reason", N_("Reason"))]


def _admin_only(component, is_admin: bool):
    return component if is_admin else html.Div(component, style={"display": "none"})


def pager(grid_id: str):
    """How many rows the grid has and which page it shows, with the pages to go through (no silent cap)."""
    return dbc.Row(
        [
            dbc.Col(html.Span(id=f"{grid_id}-count", className="small text-body-secondary"), className="pt-2"),
            dbc.Col(
                dbc.Pagination(id=f"{grid_id}-page", max_value=1, active_page=1, fully_expanded=False, size="sm"),
                width="auto",
                className="pt-2",
            ),
        ],
        align="center",
    )


def _download_card(heading, download_id: str, href: str, body) -> dbc.Card:
    """A card of the report's tables: its heading with the download links beside it, then the table."""
    return dbc.Card(
        [
            dbc.CardHeader(
                dbc.Row([dbc.Col(heading), dbc.Col(download_links(download_id, href), width="auto")], align="center")
            ),
            dbc.CardBody(body),
        ],
        className="mb-3",
    )


def layout(**_query):
    scope = current_scope()
    admin = scope.is_admin
    today = datetime.now(ZoneInfo(scope.timezone)).date()
    return html.Div(
        [
            html.H2(_("Billing")),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.DatePickerRange(
                            id="billing-period",
                            start_date=today.replace(day=1).isoformat(),
                            end_date=today.isoformat(),
                            display_format="YYYY-MM-DD",
                            first_day_of_week=1,
                        ),
                        width="auto",
                    ),
                    dbc.Col(
                        _admin_only(dcc.Dropdown(id="billing-customer", placeholder=_("All customers")), admin), md=3
                    ),
                    dbc.Col(
                        html.Span(_("Days in %(zone)s", zone=scope.timezone), className="small text-body-secondary"),
                        className="align-self-center",
                    ),
                ],
                className="mb-3 g-2",
            ),
            html.Div(id="billing-error"),
            dbc.Row(
                [
                    dbc.Col(kpi_card("billing-calls", _("Calls"), _("Calls started in the period.")), md=2),
                    dbc.Col(
                        kpi_card(
                            "billing-cost",
                            _("Cost"),
                            _("Sum of the buy cost of the calls (carriers).")
                            if admin
                            else _("What the calls cost you: the sum of their prices."),
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        _admin_only(
                            kpi_card("billing-revenue", _("Revenue"), _("Sum of the sell cost of the calls.")), admin
                        ),
                        md=2,
                    ),
                    dbc.Col(_admin_only(kpi_card("billing-margin", _("Margin"), _("Revenue − cost.")), admin), md=2),
                    dbc.Col(
                        _admin_only(
                            kpi_card("billing-margin-percent", _("Margin %"), _("Margin / revenue × 100.")), admin
                        ),
                        md=2,
                    ),
                    dbc.Col(
                        kpi_card(
                            "billing-unrated",
                            _("Unrated calls"),
                            _("Calls without a price: no plan, no retail or carrier rate, banned, or not rated yet."),
                        ),
                        md=2,
                    ),
                ]
            ),
            chart_card("billing-by-day", _("By day")),
            dbc.Row(
                [
                    dbc.Col(_admin_only(chart_card("billing-by-carrier", _("Cost by carrier")), admin), md=6),
                    dbc.Col(
                        chart_card("billing-by-country", _("Revenue by country") if admin else _("Cost by country")),
                        md=6,
                    ),
                ]
            ),
            _admin_only(chart_card("billing-by-customer", _("Revenue and margin by customer")), admin),
            _download_card(
                choice(
                    "billing-group",
                    {k: _(v) for k, v in GROUP_LABELS.items() if admin or k in ("day", "country")},
                    "day",
                ),
                "billing-download",
                "/download/billing.csv",
                grid("billing-table", [], height=360),
            ),
            _admin_only(
                _download_card(
                    html.Span(_("Loss-making calls (sell < buy)"), className="fw-semibold"),
                    "billing-losses-download",
                    "/download/billing-losses.csv",
                    [grid("billing-losses", LOSS_COLUMNS, height=320, client_pages=False), pager("billing-losses")],
                ),
                admin,
            ),
            _download_card(
                html.Span(_("Unrated calls"), className="fw-semibold"),
                "billing-unrated-download",
                "/download/billing-unrated.csv",
                [
                    html.Div(id="billing-unrated-reasons", className="mb-2"),
                    grid("billing-unrated-calls", UNRATED_COLUMNS, height=320, client_pages=False),
                    pager("billing-unrated-calls"),
                ],
            ),
        ]
    )
