import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.charts import chart_card, kpi_card
from components.filters import filter_bar
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.kpis import DEFINITIONS
from data.core.settings import report_currency

dash.register_page(__name__, path="/", name=N_("Dashboard"), order=0, access=acl.PAGE)

KPIS = [
    ("calls", N_("Calls"), "calls"),
    ("minutes", N_("Minutes"), "minutes"),
    ("asr", N_("ASR"), "asr"),
    ("acd", N_("ACD"), "acd"),
    ("ner", N_("NER"), "ner"),
    ("pdd", N_("PDD"), "pdd"),
    ("short", N_("Short calls"), "short_calls"),
    ("cost", N_("Cost"), "cost"),
]


def _label(key: str, label: str) -> str:
    return f"{_(label)} ({report_currency()})" if key == "cost" else _(label)


def layout(**query):
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(html.H2(_("Dashboard · last 24 hours"))),
                    dbc.Col(
                        dcc.Link(
                            [_("Calls in progress") + " ", dbc.Badge("–", id="dashboard-live-calls", color="success")],
                            href="/live",
                        ),
                        width="auto",
                        className="align-self-center",
                    ),
                    dbc.Col(
                        dbc.Switch(id="dashboard-autorefresh", label=_("Update as calls arrive"), value=True),
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
            dbc.Row(
                [
                    dbc.Col(kpi_card(key, _label(key, label), _(DEFINITIONS[definition])), xs=6, md=3, xxl=True)
                    for key, label, definition in KPIS
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(
                        chart_card("dashboard-hourly", _("Calls and minutes per hour (the last hour so far)")), lg=8
                    ),
                    dbc.Col(chart_card("dashboard-asr", _("ASR per hour")), lg=4),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(chart_card("dashboard-causes", _("Hangup causes")), lg=4),
                    dbc.Col(chart_card("dashboard-countries", _("Top countries")), lg=4),
                    dbc.Col(chart_card("dashboard-switches", _("Calls per switch")), lg=4),
                ]
            ),
        ]
    )
