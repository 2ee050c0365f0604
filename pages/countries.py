import dash
import dash_bootstrap_components as dbc
from dash import html

from components.charts import chart_card
from components.filters import choice, filter_bar
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/countries", name=N_("Countries"), order=40, access=acl.PAGE)


def layout(**query):
    metric = dbc.Col(
        choice(
            "countries-metric",
            {"calls": _("Calls"), "minutes": _("Minutes"), "cost": _("Cost")},
            query.get("metric", "calls"),
        ),
        md="auto",
    )
    return html.Div(
        [
            html.H2(_("Country report · top 10")),
            filter_bar(query, extra=[metric], relative=True),
            dbc.Row(
                [
                    dbc.Col(chart_card("countries-top", _("Top 10 countries, the rest as Other"), height=420), lg=6),
                    dbc.Col(
                        dbc.Card([dbc.CardHeader(_("Countries")), dbc.CardBody(html.Div(id="countries-table"))]), lg=6
                    ),
                ]
            ),
        ]
    )
