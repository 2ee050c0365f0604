import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.charts import chart_card
from components.filters import choice, filter_bar
from data.admin import acl
from data.core.i18n import N_

dash.register_page(__name__, path="/daily-comparison", name=N_("Daily comparison"), order=30, access=acl.PAGE)

MODES = [
    {"label": "Previous days", "value": "previous-days"},
    {"label": "Same day, previous weeks", "value": "previous-weeks"},
    {"label": "Chosen dates", "value": "chosen"},
]


def layout(**query):
    controls = dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label("Day"),
                            dcc.DatePickerSingle(id="compare-day", date=query.get("day"), display_format="YYYY-MM-DD"),
                        ],
                        md="auto",
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Compare with"),
                            dcc.Dropdown(
                                id="compare-mode",
                                options=MODES,
                                clearable=False,
                                value=query.get("mode", "previous-days"),
                            ),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("How many"),
                            dbc.Input(
                                id="compare-count",
                                type="number",
                                min=1,
                                max=6,
                                step=1,
                                value=int(query.get("count", 1)),
                            ),
                        ],
                        md=1,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Chosen dates (up to 6)"),
                            dcc.Dropdown(id="compare-dates", multi=True, options=[], value=[]),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Label("Metric"),
                            choice(
                                "compare-metric", {"calls": "Calls", "minutes": "Minutes"}, query.get("metric", "calls")
                            ),
                        ],
                        md="auto",
                    ),
                ],
                className="g-3",
            )
        ),
        className="mb-3",
    )
    return html.Div(
        [
            html.H2("Daily comparison"),
            filter_bar(query, show_dates=False),
            controls,
            chart_card("daily-comparison", "By hour of day"),
        ]
    )
