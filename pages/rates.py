"""Rates: the sell rates of the customer's VoIP plan (admins pick a plan), searchable, downloadable."""

import dash
import dash_bootstrap_components as dbc
from dash import html

from components.layout import page_layout
from components.rating import RATE_COLUMNS, grid, plan_picker, rate_search
from components.tables import download_links
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.scope import current_scope

dash.register_page(__name__, path="/rates", name=N_("Rates"), order=60, access=acl.PAGE)


def layout(**_query):
    return page_layout(
        _("Rates"),
        dbc.Row(
            [
                plan_picker("rates-plan", current_scope().is_admin),
                rate_search("rates-search", _("Prefix, number, destination or country")),
                dbc.Col(
                    download_links("rates-download", "/download/rates.csv"),
                    width="auto",
                    className="align-self-center",
                ),
            ],
            className="mb-2 g-2",
        ),
        html.Div(id="rates-count", className="small text-body-secondary mb-1"),
        grid("rates-grid", RATE_COLUMNS),
        intro=_(
            "The rates in force now, per prefix. Search by prefix (or a whole number: its rates), "
            "destination or country."
        ),
    )
