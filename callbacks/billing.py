"""Callbacks of the billing report."""

from urllib.parse import urlencode

import plotly.graph_objects as go
from dash import Input, Output, clientside_callback, html

from callbacks.filters import THEME_INPUT
from components.figures import LAYOUT, bar_figure, empty_figure, themed
from components.rating import column, grid_rows
from data.admin import acl
from data.core.i18n import DEFAULT_LANGUAGE, N_, current_language, ngettext, number, percent
from data.core.i18n import gettext as _
from data.core.kpis import as_float, format_kpi
from data.core.scope import current_scope
from data.core.settings import report_currency
from data.rating import billing, rates
from data.rating.billing import period_from_args
from pages.billing import GROUP_LABELS, SUMMARY_COLUMNS
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/billing"))

# Every part of the report shows the chosen period and (admins) the chosen customer.
PERIOD_AND_CUSTOMER = (
    Input("billing-period", "start_date"),
    Input("billing-period", "end_date"),
    Input("billing-customer", "value"),
)

# The words data.rating.billing gives the rating statuses (RatingStatus.label) and its rows without a name:
# kept as they are in the data and the CSV downloads, translated where the page shows them.
REASONS = {
    "rated": N_("rated"),
    "no retail rate": N_("no retail rate"),
    "no carrier rate": N_("no carrier rate"),
    "banned": N_("banned"),
    "zero duration": N_("zero duration"),
    "imported": N_("imported"),
    "no plan": N_("no plan"),
    "internal": N_("internal"),
    "not rated": N_("not rated"),
    "not rated yet": N_("not rated yet"),
}
NAMELESS = {"(no customer)": N_("(no customer)"), "(no carrier)": N_("(no carrier)"), "(unknown)": N_("(unknown)")}
_NAMED = ("customer", "carrier", "country")


def _money(value) -> str:
    return format_kpi(value, "money", report_currency())


def _count(value) -> str:
    return number(value, current_language())


def _reason(text: str) -> str:
    return _(REASONS[text]) if text in REASONS else text


def _shown(rows: list[dict]) -> list[dict]:
    """Rows with their reason and their nameless groups in the user's language."""
    for row in rows:
        if "reason" in row:
            row["reason"] = _reason(row["reason"])
        for key in _NAMED:
            if row.get(key) in NAMELESS:
                row[key] = _(NAMELESS[row[key]])
    return rows


def _margin_percent(value) -> str:
    """Margin % (already × 100, two decimals) the locale's way; English keeps "12.34 %"."""
    if value is None:
        return "–"
    language = current_language()
    return f"{value} %" if language == DEFAULT_LANGUAGE else percent(value / 100, language, 2)


def _day_figure(days: list[dict], admin: bool) -> go.Figure:
    if not days:
        return empty_figure()
    fig = go.Figure(layout=LAYOUT)
    x = [d["day"] for d in days]
    if admin:
        fig.add_trace(go.Bar(x=x, y=[as_float(d["revenue"]) for d in days], name=_("Revenue")))
    fig.add_trace(go.Bar(x=x, y=[as_float(d["cost"]) for d in days], name=_("Cost")))
    if admin:
        margin = go.Scatter(x=x, y=[as_float(d["margin"]) for d in days], name=_("Margin"), mode="lines+markers")
        fig.add_trace(margin)
    fig.update_layout(barmode="group", showlegend=True)
    return fig


@callback(Output("billing-customer", "options"), Input("billing-customer", "id"))
def list_customers(_component_id):
    scope = current_scope()
    return [{"label": c["username"], "value": c["id"]} for c in rates.customers(scope)] if scope.is_admin else []


@callback(
    Output("kpi-billing-calls", "children"),
    Output("kpi-billing-cost", "children"),
    Output("kpi-billing-revenue", "children"),
    Output("kpi-billing-margin", "children"),
    Output("kpi-billing-margin-percent", "children"),
    Output("kpi-billing-unrated", "children"),
    Output("billing-by-day-graph", "figure"),
    Output({"type": "chart-data", "chart": "billing-by-day"}, "data"),
    Output("billing-by-carrier-graph", "figure"),
    Output({"type": "chart-data", "chart": "billing-by-carrier"}, "data"),
    Output("billing-by-country-graph", "figure"),
    Output({"type": "chart-data", "chart": "billing-by-country"}, "data"),
    Output("billing-by-customer-graph", "figure"),
    Output({"type": "chart-data", "chart": "billing-by-customer"}, "data"),
    Output("billing-table", "columnDefs"),
    Output("billing-table", "rowData"),
    Output("billing-download", "href"),
    Output("billing-losses-download", "href"),
    Output("billing-losses-page", "max_value"),
    Output("billing-losses-page", "active_page"),
    Output("billing-unrated-download", "href"),
    Output("billing-unrated-calls-page", "max_value"),
    Output("billing-unrated-calls-page", "active_page"),
    Output("billing-unrated-reasons", "children"),
    Output("billing-error", "children"),
    [*PERIOD_AND_CUSTOMER, Input("billing-group", "value"), THEME_INPUT],
)
def show_billing(first, last, customer, group, dark):
    scope = current_scope()
    admin = scope.is_admin
    customer = customer if admin else None
    try:
        period = period_from_args(first, last, billing.today_in(scope))
    except ValueError as exc:
        return (*(["–"] * 6), *([empty_figure(), []] * 4), [], [], "", "", 1, 1, "", 1, 1, "", str(exc))
    summary = billing.billing_summary(scope, period, customer=customer)
    total = summary["total"]
    rows = {g: grid_rows(_shown(summary.get(g, []))) for g in billing.GROUPINGS}  # the charts' rows too
    group = group if group in summary else "day"
    columns = [column(group, _(GROUP_LABELS[group]))] + [
        {**c, "headerName": _(c["headerName"])}
        for c in SUMMARY_COLUMNS
        if admin or c["field"] not in ("revenue", "margin", "margin_percent", "loss_calls")
    ]
    if not admin:  # a customer's cost is what they pay
        columns = [{**c, "headerName": _("Cost")} if c["field"] == "cost" else c for c in columns]
    columns = [{**c, "headerTooltip": c["headerName"]} for c in columns]  # as components.rating.grid
    query = urlencode(
        {k: v for k, v in (("first", period.first), ("last", period.last), ("customer", customer)) if v is not None}
    )
    counts = billing.unrated_reasons(scope, period, customer=customer)
    by_carrier = rows["carrier"] if admin else []
    by_customer = rows["customer"] if admin else []
    return (
        _count(total["calls"]),
        _money(total["cost"]),
        _money(total.get("revenue")),
        _money(total.get("margin")),
        _margin_percent(total.get("margin_percent")),
        _count(counts["unrated"]),
        themed(_day_figure(summary["day"], admin), dark),
        rows["day"],
        themed(bar_figure(summary.get("carrier", []), "carrier", "cost"), dark),
        by_carrier,
        themed(bar_figure(summary["country"], "country", "revenue" if admin else "cost"), dark),
        rows["country"],
        themed(bar_figure(summary.get("customer", []), "customer", "revenue"), dark),
        by_customer,
        columns,
        rows[group],
        f"/download/billing.csv?{query}&group={group}",
        f"/download/billing-losses.csv?{query}",
        billing.pages(total.get("loss_calls", 0)),
        1,
        f"/download/billing-unrated.csv?{query}",
        billing.pages(counts["unrated"]),
        1,
        unrated_summary(counts),
        None,
    )


def unrated_summary(counts: dict):
    """Priced + each unrated reason = calls, written out so the reader can check it."""
    if not counts["calls"]:
        return _("No calls in this period.")
    priced = ", ".join(f"{_reason(r['reason'])} {_count(r['calls'])}" for r in counts["priced_by_status"])
    terms = [_("priced %(calls)s", calls=_count(counts["priced"])) + (f" ({priced})" if priced else "")]
    terms += [f"{_reason(r['reason'])} {_count(r['calls'])}" for r in counts["reasons"]]
    calls, terms = counts["calls"], " + ".join(terms)
    text = ngettext("%(terms)s = %(num)s call", "%(terms)s = %(num)s calls", calls, terms=terms, num=_count(calls))
    return html.Span(text, id="billing-unrated-sum")


def _list_page(kind: str, first, last, customer, page):
    """One page of a call list, and which rows of how many it is."""
    scope = current_scope()
    admin = scope.is_admin
    customer = customer if admin else None
    try:
        period = period_from_args(first, last, billing.today_in(scope))
    except ValueError:
        return [], ""
    if kind == "losses":
        if not admin:
            return [], ""
        rows = billing.loss_making_calls(scope, period, customer=customer, page=page or 1)
        total = billing.billing_summary(scope, period, customer=customer)["total"]["loss_calls"]
    else:
        rows = billing.unrated_calls(scope, period, customer=customer, page=page or 1)
        total = billing.unrated_reasons(scope, period, customer=customer)["unrated"]
    first_row = ((page or 1) - 1) * billing.PAGE_SIZE + 1
    if rows:
        last_row = first_row + len(rows) - 1
        shown = _(
            "rows %(first)s–%(last)s of %(total)s", first=_count(first_row), last=_count(last_row), total=_count(total)
        )
    else:
        shown = _("%(total)s rows", total=_count(total))
    return _shown(grid_rows(rows)), _("%(rows)s (the CSV has them all)", rows=shown)


@callback(
    [Output("billing-losses", "rowData"), Output("billing-losses-count", "children")],
    [*PERIOD_AND_CUSTOMER, Input("billing-losses-page", "active_page")],
)
def show_losses_page(first, last, customer, page):
    return _list_page("losses", first, last, customer, page)


@callback(
    [Output("billing-unrated-calls", "rowData"), Output("billing-unrated-calls-count", "children")],
    [*PERIOD_AND_CUSTOMER, Input("billing-unrated-calls-page", "active_page")],
)
def show_unrated_page(first, last, customer, page):
    return _list_page("unrated", first, last, customer, page)


# The XLSX link of each download follows its CSV link (components.tables.download_links).
for _link in ["billing-download", "billing-losses-download", "billing-unrated-download"]:
    clientside_callback(
        "function(href) { return href ? href.replace('.csv', '.xlsx') : window.dash_clientside.no_update; }",
        Output(f"{_link}-xlsx", "href"),
        Input(_link, "href"),
    )
