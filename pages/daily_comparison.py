import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.charts import chart_card
from components.filters import choice, filter_bar
from components.inputs import whole_number
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/daily-comparison", name=N_("Daily comparison"), order=30, access=acl.PAGE)

MODES = [
    {"label": N_("Previous days"), "value": "previous-days"},
    {"label": N_("Same day, previous weeks"), "value": "previous-weeks"},
    {"label": N_("Chosen dates"), "value": "chosen"},
]


def layout(**query):
    chosen = [d for d in (query.get("dates") or "").split(",") if len(d) == 10]
    controls = dbc.Card(
        dbc.CardBody(
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(_("Day")),
                            dcc.DatePickerSingle(id="compare-day", date=query.get("day"), display_format="YYYY-MM-DD"),
                        ],
                        md="auto",
                    ),
                    dbc.Col(
                        [
                            dbc.Label(_("Compare with")),
                            dcc.Dropdown(
                                id="compare-mode",
                                options=[{**mode, "label": _(mode["label"])} for mode in MODES],
                                clearable=False,
                                value=query.get("mode", "previous-days"),
                            ),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(_("How many")),
                            whole_number("compare-count", int(query.get("count", 1)), 1, 6),
                        ],
                        md=1,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(_("Chosen dates (up to 6)")),
                            dcc.Dropdown(
                                id="compare-dates",
                                multi=True,
                                options=[{"label": d, "value": d} for d in chosen],
                                value=chosen,
                            ),
                        ],
                        md=3,
                    ),
                    dbc.Col(
                        [
                            dbc.Label(_("Metric")),
                            choice(
                                "compare-metric",
                                {"calls": _("Calls"), "minutes": _("Minutes")},
                                query.get("metric", "calls"),
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
            html.H2(_("Daily comparison")),
            filter_bar(query, show_dates=False),
            controls,
            html.P(
                _("Hours still to come are left blank; the hour in progress is marked. Click a point for its calls."),
                className="text-body-secondary small",
            ),
            chart_card("daily-comparison", _("By hour of day")),
        ]
    )
