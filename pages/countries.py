import dash
import dash_bootstrap_components as dbc
from dash import html

from components.charts import chart_card
from components.filters import choice, filter_bar
from data.admin import acl
from data.core.i18n import N_

dash.register_page(__name__, path="/countries", name=N_("Countries"), order=40, access=acl.PAGE)


def layout(**query):
    metric = dbc.Col(
        choice(
            "countries-metric", {"calls": "Calls", "minutes": "Minutes", "cost": "Cost"}, query.get("metric", "calls")
        ),
        md="auto",
    )
    return html.Div(
        [
            html.H2("Country report · top 10"),
            filter_bar(query, extra=[metric]),
            dbc.Row(
                [
                    dbc.Col(chart_card("countries-top", "Top 10 countries, the rest as Other", height=420), lg=6),
                    dbc.Col(
                        dbc.Card([dbc.CardHeader("Countries"), dbc.CardBody(html.Div(id="countries-table"))]), lg=6
                    ),
                ]
            ),
        ]
    )
