import dash
import dash_bootstrap_components as dbc

from components.charts import chart_card
from components.filters import choice, filter_bar
from components.layout import page_layout
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.scope import current_scope

dash.register_page(__name__, path="/overview", name=N_("Overview"), order=20, access=acl.PAGE)

CHARTS = [
    ("overview-calls", N_("Calls")),
    ("overview-minutes", N_("Minutes")),
    ("overview-asr", N_("ASR")),
    ("overview-acd", N_("ACD (seconds)")),
    ("overview-pdd", N_("PDD (seconds)")),
    ("overview-short", N_("Short calls (share of answered)")),
]


def layout(**query):
    splits = {"switch": _("Per switch"), "customer": _("Per customer")}
    if not current_scope().is_admin:  # a customer sees only their own calls: nothing to split by customer
        splits = {"switch": _("Per switch")}
    split = dbc.Col(choice("overview-split", splits, query.get("split") if query.get("split") in splits else "switch"))
    compare = dbc.Col(
        dbc.Switch(
            id="overview-compare", label=_("Compare with the previous period"), value=query.get("compare") == "1"
        ),
        md="auto",
    )
    return page_layout(
        _("Overview"),
        filter_bar(query, extra=[split, compare], relative=True),
        dbc.Row([dbc.Col(chart_card(chart, _(title)), lg=6) for chart, title in CHARTS]),
        intro=_(
            "Quarter hours up to 6 hours, hourly up to 3 days, daily up to 3 months, monthly beyond. "
            "Drag across a chart to zoom to that time; click a point for its calls."
        ),
    )
