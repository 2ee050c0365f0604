import dash
from dash import html

dash.register_page(__name__, path="/", name="Home", order=0)


def layout(**_query):
    return html.Div([
        html.H2("Calls per switch"),
        html.Div(id="home-calls-per-switch"),
    ])
