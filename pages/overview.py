import dash
import dash_bootstrap_components as dbc
from dash import html

from components.charts import chart_card
from components.filters import choice, filter_bar
from data.admin import acl
from data.core.i18n import N_

dash.register_page(__name__, path="/overview", name=N_("Overview"), order=20, access=acl.PAGE)


def layout(**query):
    split = dbc.Col(
        choice("overview-split", {"switch": "Per switch", "customer": "Per customer"}, query.get("split", "switch")),
        md="auto",
    )
    return html.Div(
        [
            html.H2("Overview"),
            html.P("Hourly up to 3 days, daily up to 3 months, monthly beyond.", className="text-body-secondary"),
            filter_bar(query, extra=[split]),
            dbc.Row(
                [
                    dbc.Col(chart_card("overview-calls", "Calls"), lg=6),
                    dbc.Col(chart_card("overview-minutes", "Minutes"), lg=6),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(chart_card("overview-asr", "ASR"), lg=6),
                    dbc.Col(chart_card("overview-acd", "ACD (seconds)"), lg=6),
                ]
            ),
        ]
    )
