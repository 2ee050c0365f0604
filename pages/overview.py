import dash
import dash_bootstrap_components as dbc
from dash import html

from components.charts import chart_card
from components.filters import choice, filter_bar
from data.admin import acl
from data.core.i18n import N_
from data.core.scope import current_scope

dash.register_page(__name__, path="/overview", name=N_("Overview"), order=20, access=acl.PAGE)

CHARTS = [
    ("overview-calls", "Calls"),
    ("overview-minutes", "Minutes"),
    ("overview-asr", "ASR"),
    ("overview-acd", "ACD (seconds)"),
    ("overview-pdd", "PDD (seconds)"),
    ("overview-short", "Short calls (% of answered)"),
]


def layout(**query):
    splits = {"switch": "Per switch", "customer": "Per customer"}
    if not current_scope().is_admin:  # a customer sees only their own calls: nothing to split by customer
        splits = {"switch": "Per switch"}
    split = dbc.Col(choice("overview-split", splits, query.get("split") if query.get("split") in splits else "switch"))
    compare = dbc.Col(
        dbc.Switch(id="overview-compare", label="Compare with the previous period", value=query.get("compare") == "1"),
        md="auto",
    )
    return html.Div(
        [
            html.H2("Overview"),
            html.P(
                "Quarter hours up to 6 hours, hourly up to 3 days, daily up to 3 months, monthly beyond. "
                "Drag across a chart to zoom to that time; click a point for its calls.",
                className="text-body-secondary",
            ),
            filter_bar(query, extra=[split, compare], relative=True),
            dbc.Row([dbc.Col(chart_card(chart, title), lg=6) for chart, title in CHARTS]),
        ]
    )
