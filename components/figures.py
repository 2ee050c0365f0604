"""Plotly figures built from report rows (pure functions: rows in, figure out).

Figures are plain dicts (``{"data": [...], "layout": {...}}``), exactly what ``go.Figure(...)
.to_plotly_json()`` gives for the same traces, template included, so they look the same. Why not
``go.Figure``: it deep-copies its template and validates every property, and Dash then has to walk
the figure in Python to encode it; plain dicts of numbers and strings go straight to orjson. That was
most of the CPU of a chart callback (bench/README.md, *Load*). ``tests/test_figures.py`` checks that
each figure equals its ``go.Figure`` counterpart.

The template is one dict shared by every figure: never change a figure's ``layout["template"]``.
"""

from __future__ import annotations

import functools

from data.core.kpis import as_float

LAYOUT = dict(
    margin=dict(l=40, r=10, t=10, b=40),
    paper_bgcolor="rgba(0,0,0,0)",
    plot_bgcolor="rgba(0,0,0,0)",
    legend=dict(orientation="h", y=-0.2),
    hovermode="x unified",
)


@functools.cache
def template() -> dict:
    """The default Plotly template as a plain dict, as ``go.Figure`` puts it in every layout."""
    import plotly.io as pio

    return pio.templates[pio.templates.default].to_plotly_json()


@functools.cache
def _colorscale(name: str) -> list:
    """A named colour scale as the pairs ``go`` would send for it."""
    import plotly.graph_objects as go

    return [list(pair) for pair in go.Choropleth(colorscale=name).colorscale]


def figure(data: list[dict], **layout) -> dict:
    return {"data": data, "layout": {**LAYOUT, **layout, "template": template()}}


def with_xaxis(fig: dict, **props) -> dict:
    """``fig`` with ``props`` set on its x axis (as ``go.Figure.update_xaxes`` would)."""
    fig["layout"]["xaxis"] = {**fig["layout"].get("xaxis", {}), **props}
    return fig


def empty_figure(message: str = "No calls in this range") -> dict:
    return figure(
        [],
        annotations=[dict(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)],
        xaxis=dict(visible=False),
        yaxis=dict(visible=False),
    )


def series_figure(
    rows: list[dict],
    x: str,
    y: str,
    series: str | None = None,
    kind: str = "line",
    y_title: str = "",
    mode: str = "lines+markers",
    line_shape: str | None = None,
    percent: bool = False,
) -> dict:
    """One trace per value of ``series`` (or a single trace); lines (``mode``, ``line_shape``) or bars.

    ``percent``: the values are ratios (ASR), shown as percentages on the axis and on hover."""
    if not rows:
        return empty_figure()
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get(series) if series else y, []).append(row)
    traces = []
    for name, items in groups.items():
        trace = {"x": [r[x] for r in items], "y": [as_float(r[y]) for r in items], "name": str(name)}
        if kind == "bar":
            trace["type"] = "bar"
        else:
            trace.update(type="scatter", mode=mode)
            if line_shape:
                trace["line"] = {"shape": line_shape}
        traces.append(trace)
    yaxis = dict(title=dict(text=y_title), rangemode="tozero")
    if percent:
        yaxis.update(tickformat=".0%", hoverformat=".1%")
    fig = figure(traces, yaxis=yaxis, showlegend=len(groups) > 1)
    if any(isinstance(r[x], str) and "(UTC" in r[x] for r in rows):
        # a day when clocks go back: its repeated hour is labelled with its offset, which a date axis
        # cannot place; the hours are shown in their order as categories instead
        order = list(dict.fromkeys(r[x] for r in rows))  # rows come in time order
        with_xaxis(fig, type="category", categoryorder="array", categoryarray=order)
    return fig


def dual_axis_figure(rows: list[dict], x: str, left: tuple[str, str], right: tuple[str, str]) -> dict:
    """Bars on the left axis, a line on the right (e.g. calls and minutes per hour)."""
    if not rows:
        return empty_figure()
    xs = [r[x] for r in rows]
    return figure(
        [
            {"type": "bar", "x": xs, "y": [as_float(r[left[0]]) for r in rows], "name": left[1]},
            {
                "type": "scatter",
                "x": list(xs),
                "y": [as_float(r[right[0]]) for r in rows],
                "name": right[1],
                "yaxis": "y2",
                "mode": "lines+markers",
            },
        ],
        yaxis=dict(title=dict(text=left[1]), rangemode="tozero"),
        yaxis2=dict(title=dict(text=right[1]), overlaying="y", side="right", rangemode="tozero"),
        showlegend=True,
    )


def bar_figure(rows: list[dict], label: str, value: str, horizontal: bool = True) -> dict:
    if not rows:
        return empty_figure()
    labels, values = [r[label] for r in rows], [as_float(r[value]) for r in rows]
    bar = (
        {"type": "bar", "y": labels[::-1], "x": values[::-1], "orientation": "h"}
        if horizontal
        else {"type": "bar", "x": labels, "y": values}
    )
    return figure([bar], hovermode="closest")


def pie_figure(rows: list[dict], label: str, value: str) -> dict:
    if not rows:
        return empty_figure()
    return figure(
        [
            {
                "type": "pie",
                "labels": [r[label] for r in rows],
                "values": [as_float(r[value]) for r in rows],
                "hole": 0.4,
                "sort": False,
            }
        ],
        hovermode="closest",
    )


def choropleth_figure(rows: list[dict]) -> dict:
    """Calls per country on a world map (the geometry comes from assets/, see ``chart_card``)."""
    return figure(
        [
            {
                "type": "choropleth",
                "locations": [r["alpha3"] for r in rows],
                "z": [r["calls"] for r in rows],
                "locationmode": "ISO-3",
                "text": [r["label"] for r in rows],
                "colorscale": _colorscale("Blues"),
                "colorbar": {"title": {"text": "Calls"}},
                "customdata": [[r["minutes"], r["acd"], r["asr"]] for r in rows],
                "hovertemplate": "<b>%{text}</b><br>Calls: %{z:,}<br>Minutes: %{customdata[0]:,.0f}"
                "<br>ACD: %{customdata[1]} <br>ASR: %{customdata[2]}<extra></extra>",
            }
        ],
        # Greenwich in the middle: left alone, plotly centres the map on the data's longitudes, which
        # put the Pacific in the middle once traffic reaches both Alaska and New Zealand.
        geo=dict(
            showframe=False,
            showcoastlines=False,
            projection=dict(type="natural earth", rotation=dict(lon=0)),
            bgcolor="rgba(0,0,0,0)",
        ),
        hovermode="closest",
    )
