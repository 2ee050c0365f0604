"""Plotly figures built from report rows (pure functions: rows in, figure out)."""
from __future__ import annotations

import plotly.graph_objects as go

from data.kpis import as_float

LAYOUT = dict(margin=dict(l=40, r=10, t=10, b=40), paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
              legend=dict(orientation="h", y=-0.2), hovermode="x unified")


def empty_figure(message: str = "No calls in this range") -> go.Figure:
    fig = go.Figure(layout=LAYOUT)
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def series_figure(rows: list[dict], x: str, y: str, series: str | None = None, kind: str = "line",
                  y_title: str = "") -> go.Figure:
    """One trace per value of ``series`` (or a single trace)."""
    if not rows:
        return empty_figure()
    fig = go.Figure(layout=LAYOUT)
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get(series) if series else y, []).append(row)
    for name, items in groups.items():
        xs, ys = [r[x] for r in items], [as_float(r[y]) for r in items]
        trace = go.Bar(x=xs, y=ys, name=str(name)) if kind == "bar" else go.Scatter(
            x=xs, y=ys, name=str(name), mode="lines+markers")
        fig.add_trace(trace)
    fig.update_layout(yaxis_title=y_title, yaxis_rangemode="tozero", showlegend=len(groups) > 1)
    return fig


def dual_axis_figure(rows: list[dict], x: str, left: tuple[str, str], right: tuple[str, str]) -> go.Figure:
    """Bars on the left axis, a line on the right (e.g. calls and minutes per hour)."""
    if not rows:
        return empty_figure()
    fig = go.Figure(layout=LAYOUT)
    fig.add_trace(go.Bar(x=[r[x] for r in rows], y=[as_float(r[left[0]]) for r in rows], name=left[1]))
    fig.add_trace(go.Scatter(x=[r[x] for r in rows], y=[as_float(r[right[0]]) for r in rows], name=right[1],
                             yaxis="y2", mode="lines+markers"))
    fig.update_layout(yaxis=dict(title=left[1], rangemode="tozero"),
                      yaxis2=dict(title=right[1], overlaying="y", side="right", rangemode="tozero"),
                      showlegend=True)
    return fig


def bar_figure(rows: list[dict], label: str, value: str, horizontal: bool = True) -> go.Figure:
    if not rows:
        return empty_figure()
    labels, values = [r[label] for r in rows], [as_float(r[value]) for r in rows]
    bar = go.Bar(y=labels[::-1], x=values[::-1], orientation="h") if horizontal else go.Bar(x=labels, y=values)
    fig = go.Figure(bar, layout=LAYOUT)
    fig.update_layout(hovermode="closest")
    return fig


def pie_figure(rows: list[dict], label: str, value: str) -> go.Figure:
    if not rows:
        return empty_figure()
    fig = go.Figure(go.Pie(labels=[r[label] for r in rows], values=[as_float(r[value]) for r in rows], hole=0.4,
                           sort=False), layout=LAYOUT)
    fig.update_layout(hovermode="closest")
    return fig


def choropleth_figure(rows: list[dict]) -> go.Figure:
    """Calls per country on a world map (the geometry comes from assets/, see ``chart_card``)."""
    fig = go.Figure(go.Choropleth(
        locations=[r["alpha3"] for r in rows], z=[r["calls"] for r in rows], locationmode="ISO-3",
        text=[r["label"] for r in rows], colorscale="Blues", colorbar_title="Calls",
        customdata=[[r["minutes"], r["acd"], r["asr"]] for r in rows],
        hovertemplate="<b>%{text}</b><br>Calls: %{z:,}<br>Minutes: %{customdata[0]:,.0f}"
                      "<br>ACD: %{customdata[1]} <br>ASR: %{customdata[2]}<extra></extra>",
    ), layout=LAYOUT)
    fig.update_geos(showframe=False, showcoastlines=False, projection_type="natural earth")
    fig.update_layout(geo=dict(bgcolor="rgba(0,0,0,0)"), hovermode="closest")
    return fig
