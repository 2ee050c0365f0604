"""Figures are plain dicts, equal to what the same figure built with ``plotly.graph_objects`` gives."""

import json
from datetime import datetime
from decimal import Decimal

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from components import figures
from components.figures import LAYOUT
from data.core.kpis import as_float

USES_DATABASE = False

ROWS = [
    {
        "period": "2026-11-20 10:00:00",
        "series": "sw-a",
        "label": "Spain",
        "calls": 12,
        "minutes": Decimal("3.5"),
        "asr": 0.5,
        "acd": 17.5,
        "alpha3": "ESP",
        "hour": 10,
        "peak": 3,
    },
    {
        "period": "2026-11-20 11:00:00",
        "series": "sw-a",
        "label": "France",
        "calls": 7,
        "minutes": 1.25,
        "asr": None,
        "acd": None,
        "alpha3": "FRA",
        "hour": 11,
        "peak": 0,
    },
    {
        "period": "2026-11-20 10:00:00",
        "series": "sw-b",
        "label": "Cause 16",
        "calls": 3,
        "minutes": 0.0,
        "asr": 1.0,
        "acd": 2.0,
        "alpha3": None,
        "hour": 10,
        "peak": 5,
    },
    {
        "period": datetime(2026, 11, 20, 12),
        "series": "sw-b",
        "label": "(none)",
        "calls": 0,
        "minutes": None,
        "asr": 0.0,
        "acd": 0.0,
        "alpha3": "DEU",
        "hour": 12,
        "peak": 1,
    },
]


# The same figures, the graph_objects way (as they were built before they became plain dicts).
def go_empty(message="No calls in this range"):
    fig = go.Figure(layout=LAYOUT)
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def go_series(rows, x, y, series=None, kind="line", y_title="", mode="lines+markers", line_shape=None):
    if not rows:
        return go_empty()
    fig = go.Figure(layout=LAYOUT)
    groups = {}
    for row in rows:
        groups.setdefault(row.get(series) if series else y, []).append(row)
    for name, items in groups.items():
        xs, ys = [r[x] for r in items], [as_float(r[y]) for r in items]
        fig.add_trace(
            go.Bar(x=xs, y=ys, name=str(name))
            if kind == "bar"
            else go.Scatter(x=xs, y=ys, name=str(name), mode="lines+markers")
        )
    fig.update_layout(yaxis_title=y_title, yaxis_rangemode="tozero", showlegend=len(groups) > 1)
    if kind != "bar" and (mode != "lines+markers" or line_shape):
        fig.update_traces(mode=mode, **({"line_shape": line_shape} if line_shape else {}))
    return fig


def go_dual(rows, x, left, right):
    if not rows:
        return go_empty()
    fig = go.Figure(layout=LAYOUT)
    fig.add_trace(go.Bar(x=[r[x] for r in rows], y=[as_float(r[left[0]]) for r in rows], name=left[1]))
    fig.add_trace(
        go.Scatter(
            x=[r[x] for r in rows],
            y=[as_float(r[right[0]]) for r in rows],
            name=right[1],
            yaxis="y2",
            mode="lines+markers",
        )
    )
    left_axis, right_axis = figures.aligned_axes(
        max((as_float(r[left[0]]) or 0 for r in rows), default=0),
        max((as_float(r[right[0]]) or 0 for r in rows), default=0),
    )
    fig.update_layout(
        yaxis=dict(title=left[1], **left_axis),
        yaxis2=dict(title=right[1], overlaying="y", side="right", showgrid=False, **right_axis),
        showlegend=True,
    )
    return fig


def go_bar(rows, label, value, horizontal=True):
    if not rows:
        return go_empty()
    labels, values = [r[label] for r in rows], [as_float(r[value]) for r in rows]
    bar = go.Bar(y=labels[::-1], x=values[::-1], orientation="h") if horizontal else go.Bar(x=labels, y=values)
    fig = go.Figure(bar, layout=LAYOUT)
    fig.update_layout(hovermode="closest")
    return fig


def go_pie(rows, label, value):
    if not rows:
        return go_empty()
    fig = go.Figure(
        go.Pie(labels=[r[label] for r in rows], values=[as_float(r[value]) for r in rows], hole=0.4, sort=False),
        layout=LAYOUT,
    )
    fig.update_layout(hovermode="closest")
    return fig


def go_choropleth(rows):
    fig = go.Figure(
        go.Choropleth(
            locations=[r["alpha3"] for r in rows],
            z=[r["calls"] for r in rows],
            locationmode="ISO-3",
            text=[r["label"] for r in rows],
            colorscale="Blues",
            colorbar_title="Calls",
            customdata=[[r["calls"], r["minutes"], r["acd"], r["asr"], r.get("cost"), None] for r in rows],
            hovertemplate="<b>%{text}</b><br>Calls: %{customdata[0]:,}<br>Minutes: %{customdata[1]:,.0f}"
            "<br>ACD: %{customdata[2]:.0f} s<br>ASR: %{customdata[3]:.1%}"
            "<br>Cost: %{customdata[4]:,.2f} <extra></extra>",
        ),
        layout=LAYOUT,
    )
    fig.update_geos(showframe=False, showcoastlines=False, projection_type="natural earth", projection_rotation_lon=0)
    fig.update_layout(geo=dict(bgcolor="rgba(0,0,0,0)"), hovermode="closest")
    return fig


def same(ours: dict, theirs: go.Figure) -> None:
    """Equal as the browser gets them (the JSON Dash sends)."""
    assert isinstance(ours, dict)
    assert json.loads(pio.to_json(ours, validate=False)) == json.loads(pio.to_json(theirs))


@pytest.mark.parametrize("rows", [ROWS, ROWS[:1], []])
def test_figures_equal_their_graph_objects_version(rows):
    same(
        figures.series_figure(rows, "period", "calls", "series", y_title="Calls"),
        go_series(rows, "period", "calls", "series", y_title="Calls"),
    )
    same(figures.series_figure(rows, "hour", "minutes", "series"), go_series(rows, "hour", "minutes", "series"))
    same(figures.series_figure(rows, "period", "acd"), go_series(rows, "period", "acd"))
    same(
        figures.series_figure(rows, "period", "calls", "series", kind="bar"),
        go_series(rows, "period", "calls", "series", kind="bar"),
    )
    same(
        figures.series_figure(
            rows, "period", "peak", "series", y_title="Simultaneous calls", mode="lines", line_shape="hv"
        ),
        go_series(rows, "period", "peak", "series", y_title="Simultaneous calls", mode="lines", line_shape="hv"),
    )
    same(
        figures.dual_axis_figure(rows, "period", ("calls", "Calls"), ("minutes", "Minutes")),
        go_dual(rows, "period", ("calls", "Calls"), ("minutes", "Minutes")),
    )
    same(figures.bar_figure(rows, "label", "calls"), go_bar(rows, "label", "calls"))
    same(
        figures.bar_figure(rows, "label", "minutes", horizontal=False),
        go_bar(rows, "label", "minutes", horizontal=False),
    )
    same(figures.pie_figure(rows, "label", "calls"), go_pie(rows, "label", "calls"))
    same(figures.choropleth_figure(rows), go_choropleth(rows))
    same(figures.empty_figure("Nothing"), go_empty("Nothing"))
    hours = go_series(rows, "hour", "calls", "series", y_title="Calls")
    hours.update_xaxes(dtick=1, range=[-0.5, 23.5], title="Hour of day")
    same(
        figures.with_xaxis(
            figures.series_figure(rows, "hour", "calls", "series", y_title="Calls"),
            dtick=1,
            range=[-0.5, 23.5],
            title=dict(text="Hour of day"),
        ),
        hours,
    )


def test_figures_encode_without_plotly_objects():
    """Nothing in a figure needs plotly's slow cleaning pass: orjson takes it as it is."""
    orjson = pytest.importorskip("orjson")
    fig = figures.dual_axis_figure(ROWS, "period", ("calls", "Calls"), ("minutes", "Minutes"))
    orjson.dumps(fig)
    assert fig["layout"]["template"] is figures.empty_figure()["layout"]["template"]
