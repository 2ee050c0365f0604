"""Chart cards (graph + "Download CSV" and XLSX of exactly the data drawn) and KPI cards."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from data.core.i18n import current_language
from data.core.i18n import gettext as _


def graph_config(**extra) -> dict:
    """plotly.js settings of every chart: month names and plotly's own texts in the reader's language (the
    locales come from ``routes.i18n``), and map geometry from assets/ (plotly.js would fetch it from a CDN)."""
    return {"displaylogo": False, "topojsonURL": "/assets/topojson/", "locale": current_language(), **extra}


def chart_card(chart_id: str, title: str, height: int = 340) -> dbc.Card:
    """A graph with its data kept beside it, so the CSV and XLSX downloads return exactly what is drawn."""
    return dbc.Card(
        [
            dbc.CardHeader(
                dbc.Row(
                    [
                        dbc.Col(html.Span(title, className="fw-semibold")),
                        dbc.Col(
                            dbc.ButtonGroup(
                                [
                                    dbc.Button(
                                        label,
                                        id={"type": f"{kind}-button", "chart": chart_id},
                                        size="sm",
                                        color="secondary",
                                        outline=True,
                                    )
                                    for kind, label in (("csv", _("Download CSV")), ("xlsx", _("XLSX")))
                                ]
                            ),
                            width="auto",
                        ),
                    ],
                    align="center",
                )
            ),
            dbc.CardBody(
                dcc.Loading(dcc.Graph(id=f"{chart_id}-graph", style={"height": f"{height}px"}, config=graph_config()))
            ),
            dcc.Store(id={"type": "chart-data", "chart": chart_id}),
            dcc.Download(id={"type": "csv-download", "chart": chart_id}),
        ],
        className="mb-3",
    )


def kpi_card(kpi_id: str, label: str, definition: str) -> dbc.Card:
    """A KPI value with its definition as a tooltip."""
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    label,
                    id=f"kpi-{kpi_id}-label",
                    className="small text-body-secondary",
                    style={"cursor": "help", "textDecoration": "underline dotted"},
                ),
                html.Div("–", id=f"kpi-{kpi_id}", className="fs-3 fw-semibold"),
                dbc.Tooltip(definition, target=f"kpi-{kpi_id}-label"),
            ]
        ),
        className="mb-3 text-center",
    )
