import dash
from dash import html

from components.charts import chart_card
from components.filters import filter_bar
from data.admin import acl
from data.core.i18n import N_

dash.register_page(__name__, path="/world-map", name=N_("World map"), order=50, access=acl.PAGE)


def layout(**query):
    return html.Div(
        [
            html.H2("World map"),
            filter_bar(query),
            chart_card("world-map", "Calls by destination country", height=560),
        ]
    )
