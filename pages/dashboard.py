import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.charts import chart_card, kpi_card
from components.filters import filter_bar
from data.admin import acl
from data.core.i18n import N_
from data.core.kpis import DEFINITIONS

dash.register_page(__name__, path="/", name=N_("Dashboard"), order=0, access=acl.PAGE)

KPIS = [("calls", "Calls"), ("minutes", "Minutes"), ("asr", "ASR"), ("acd", "ACD"), ("ner", "NER"), ("cost", "Cost")]


def layout(**query):
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H2("Dashboard · last 24 hours")),
                    dbc.Col(
                        dcc.Link(
                            ["Calls in progress ", dbc.Badge("–", id="dashboard-live-calls", color="success")],
                            href="/live",
                        ),
                        width="auto",
                        className="align-self-center",
                    ),
                    dbc.Col(
                        dbc.Switch(id="dashboard-autorefresh", label="Update as calls arrive", value=True),
                        width="auto",
                        className="align-self-center",
                    ),
                ]
            ),
            # Every 2 s the page asks whether calls arrived since what it shows (one sequence read), and only
            # then redraws (callbacks.dashboard): a CDR shows seconds after its import.
            dcc.Interval(id="dashboard-interval", interval=2_000),
            dcc.Store(id="dashboard-version"),
            dcc.Store(id="dashboard-drawn-version"),
            filter_bar(query, show_dates=False),
            dbc.Row([dbc.Col(kpi_card(key, label, DEFINITIONS[key]), xs=6, md=2) for key, label in KPIS]),
            chart_card("dashboard-hourly", "Calls and minutes per hour"),
            dbc.Row(
                [
                    dbc.Col(chart_card("dashboard-causes", "Hangup causes"), lg=4),
                    dbc.Col(chart_card("dashboard-countries", "Top countries"), lg=4),
                    dbc.Col(chart_card("dashboard-switches", "Calls per switch"), lg=4),
                ]
            ),
        ]
    )
