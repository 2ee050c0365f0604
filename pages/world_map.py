import dash
import dash_bootstrap_components as dbc
from dash import html

from components.charts import chart_card
from components.filters import choice, filter_bar
from data.admin import acl
from data.core.i18n import N_

dash.register_page(__name__, path="/world-map", name=N_("World map"), order=50, access=acl.PAGE)

METRICS = {"calls": "Calls", "minutes": "Minutes", "cost": "Cost"}


def layout(**query):
    metric = dbc.Col(
        choice("world-map-metric", METRICS, query.get("metric") if query.get("metric") in METRICS else "calls")
    )
    return html.Div(
        [
            html.H2("World map"),
            filter_bar(query, extra=[metric], relative=True),
            chart_card("world-map", "By destination country (click a country for its calls)", height=560),
        ]
    )
