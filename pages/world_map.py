import dash
import dash_bootstrap_components as dbc
from dash import html

from components.charts import chart_card
from components.filters import choice, filter_bar
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/world-map", name=N_("World map"), order=50, access=acl.PAGE)

METRICS = {"calls": N_("Calls"), "minutes": N_("Minutes"), "cost": N_("Cost")}


def layout(**query):
    metric = dbc.Col(
        choice(
            "world-map-metric",
            {key: _(label) for key, label in METRICS.items()},
            query.get("metric") if query.get("metric") in METRICS else "calls",
        )
    )
    return html.Div(
        [
            html.H2(_("World map")),
            filter_bar(query, extra=[metric], relative=True),
            chart_card("world-map", _("By destination country (click a country for its calls)"), height=560),
        ]
    )
