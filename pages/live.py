import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from components.charts import graph_config
from components.layout import page_layout
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/live", name=N_("Live"), order=1, access=acl.PAGE)

# Why 2 s: the pollers ask the switches every 2 s (data.live.poller); a faster page would redraw the same state.
REFRESH_MS = 2000


def _number(number_id: str, label: str) -> dbc.Card:
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(label, className="small text-body-secondary"),
                html.Div("–", id=number_id, className="fs-3 fw-semibold"),
            ]
        ),
        className="mb-3 text-center",
    )


def layout(**query):
    return page_layout(
        _("Live: calls in progress"),
        dcc.Interval(id="live-interval", interval=REFRESH_MS),
        dbc.Row(
            [
                dbc.Col(_number("live-calls", _("Calls in progress")), xs=6, md=3),
                dbc.Col(_number("live-cps", _("Calls per second (last 10 s)")), xs=6, md=3),
                dbc.Col(dcc.Graph(id="live-sparkline", config=graph_config(displayModeBar=False)), md=6),
            ]
        ),
        dbc.Row(
            [
                dbc.Col([html.H5(_("Per switch")), html.Div(id="live-switches")], lg=6),
                dbc.Col([html.H5(_("Per customer")), html.Div(id="live-customers")], lg=3),
                dbc.Col([html.H5(_("Per destination country")), html.Div(id="live-countries")], lg=3),
            ]
        ),
        intro=_(
            "Asked from the switches themselves every 2 s (Kamailio dialogs, Asterisk AMI, FreeSWITCH event "
            "socket); customers see their own calls."
        ),
    )
