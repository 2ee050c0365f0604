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

import copy
import functools
import math

from data.core.i18n import N_, current_language, plotly_separators
from data.core.i18n import gettext as _
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


# The dark theme's chart colours: Bootstrap's dark body text on the card (the plot background is transparent),
# gridlines faint. tests/test_chart_browser.py reads the computed colours and checks their contrast.
DARK_TEXT = "#dee2e6"
DARK_GRID = "rgba(222,226,230,0.14)"
LIGHT_GRID = "rgba(33,37,41,0.1)"  # plotly's white gridlines are meant for its blue-grey plot background


@functools.cache
def light_template() -> dict:
    """The default template on the page's own (transparent) background, with gridlines that show on it."""
    light = copy.deepcopy(template())
    for axis in ("xaxis", "yaxis"):
        light["layout"][axis] = {**light["layout"][axis], "gridcolor": LIGHT_GRID, "zerolinecolor": LIGHT_GRID}
    return light


@functools.cache
def dark_template() -> dict:
    """Plotly's dark template, on the page's own background, with the theme's text and grid colours."""
    import plotly.io as pio

    dark = pio.templates["plotly_dark"].to_plotly_json()
    layout = dark["layout"]
    layout.update(paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", font={"color": DARK_TEXT})
    for axis in ("xaxis", "yaxis"):
        layout[axis] = {**layout[axis], "gridcolor": DARK_GRID, "zerolinecolor": DARK_GRID, "linecolor": DARK_GRID}
    layout["geo"] = {**layout["geo"], "bgcolor": "rgba(0,0,0,0)", "landcolor": "#343a40", "lakecolor": "#212529"}
    layout["annotationdefaults"] = {**layout["annotationdefaults"], "font": {"color": DARK_TEXT}}
    return dark


def themed(fig, dark: bool) -> dict:
    """``fig`` (a figure dict or ``go.Figure``) in the page's theme (the theme switch's value): the dark
    template, or the default one."""
    fig = fig if isinstance(fig, dict) else fig.to_plotly_json()
    fig["layout"]["template"] = dark_template() if dark else light_template()
    fig["layout"]["separators"] = plotly_separators(current_language())  # 1.234,5 in German, 1 234,5 in Russian
    return fig


def figure(data: list[dict], **layout) -> dict:
    return {"data": data, "layout": {**LAYOUT, **layout, "template": template()}}


def with_xaxis(fig: dict, **props) -> dict:
    """``fig`` with ``props`` set on its x axis (as ``go.Figure.update_xaxes`` would)."""
    fig["layout"]["xaxis"] = {**fig["layout"].get("xaxis", {}), **props}
    return fig


def empty_figure(message: str = N_("No calls in this range")) -> dict:
    return figure(
        [],
        annotations=[dict(text=_(message), showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)],
        xaxis=dict(visible=False),
        yaxis=dict(visible=False),
    )


def grouped(rows: list[dict], name_of) -> dict[str, list[dict]]:
    """``rows`` by the name of their series (``name_of(row)``), in the order the names first come."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(name_of(row), []).append(row)
    return groups


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
    groups = grouped(rows, lambda row: row.get(series) if series else y)
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


def nice_step(top: float, intervals: int) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that splits 0..``top`` into ``intervals`` steps."""
    rough = max(top, 1e-9) / intervals
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough - 1e-12)


def _steps_to(top: float, step: float) -> int:
    """How many ``step``s reach ``top`` (within float rounding: no extra step for a last bit)."""
    count = max(round(top / step), 1)
    return count + 1 if step * count < top * (1 - 1e-9) else count


def aligned_axes(left_top: float, right_top: float, intervals: int = 4) -> tuple[dict, dict]:
    """Ranges and steps for two y axes with round ticks on both (1, 2, 2.5, 5 × 10ⁿ) and the same number of
    intervals, so the gridlines of one are the ticks of the other."""
    left_top, right_top = left_top or 1, right_top or 1  # an empty range still gets 0..1 with round ticks
    left, right = nice_step(left_top, intervals), nice_step(right_top, intervals)
    count = max(_steps_to(left_top, left), _steps_to(right_top, right), 1)
    return (
        dict(range=[0, left * count], dtick=left, tick0=0),
        dict(range=[0, right * count], dtick=right, tick0=0),
    )


def dual_axis_figure(
    rows: list[dict], x: str, left: tuple[str, str], right: tuple[str, str], note: tuple[str, str, str] | None = None
) -> dict:
    """Bars on the left axis, a line on the right (e.g. calls and minutes per hour), both with round ticks;
    ``note`` (key, label, unit) adds a third figure to the bars' hover (e.g. the ACD)."""
    if not rows:
        return empty_figure()
    xs = [r[x] for r in rows]
    left_axis, right_axis = aligned_axes(
        max((as_float(r[left[0]]) or 0 for r in rows), default=0),
        max((as_float(r[right[0]]) or 0 for r in rows), default=0),
    )
    return figure(
        [
            {
                "type": "bar",
                "x": xs,
                "y": [as_float(r[left[0]]) for r in rows],
                "name": left[1],
                **(
                    {
                        "customdata": [as_float(r[note[0]]) for r in rows],
                        "hovertemplate": f"%{{y:,}} ({note[1]} %{{customdata:.0f}} {note[2]})",
                    }
                    if note
                    else {}
                ),
            },
            {
                "type": "scatter",
                "x": list(xs),
                "y": [as_float(r[right[0]]) for r in rows],
                "name": right[1],
                "yaxis": "y2",
                "mode": "lines+markers",
            },
        ],
        yaxis=dict(title=dict(text=left[1]), **left_axis),
        yaxis2=dict(title=dict(text=right[1]), overlaying="y", side="right", showgrid=False, **right_axis),
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
    if any(r.get("href") for r in rows):  # a click opens the CDR search of the bar's calls
        hrefs = [r.get("href") for r in rows]
        bar["customdata"] = hrefs[::-1] if horizontal else hrefs
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
                **({"customdata": [r.get("href") for r in rows]} if any(r.get("href") for r in rows) else {}),
            }
        ],
        hovermode="closest",
    )


MAP_METRICS = {"calls": N_("Calls"), "minutes": N_("Minutes"), "cost": N_("Cost")}


def choropleth_figure(
    rows: list[dict], metric: str = "calls", currency: str = "", hrefs: list[str] | None = None
) -> dict:
    """Calls, minutes or cost per country on a world map (the geometry comes from assets/, see ``chart_card``);
    the hover gives every figure with its unit, ``hrefs`` the CDR search of each country's calls."""
    metric = metric if metric in MAP_METRICS else "calls"
    title = _("Cost (%(currency)s)", currency=currency) if metric == "cost" and currency else _(MAP_METRICS[metric])
    hrefs = hrefs or [None] * len(rows)
    return figure(
        [
            {
                "type": "choropleth",
                "locations": [r["alpha3"] for r in rows],
                "z": [r[metric] for r in rows],
                "locationmode": "ISO-3",
                "text": [r["label"] for r in rows],
                "colorscale": _colorscale("Blues"),
                "colorbar": {"title": {"text": title}},
                "customdata": [
                    [r["calls"], r["minutes"], r["acd"], r["asr"], r.get("cost"), href]
                    for r, href in zip(rows, hrefs, strict=True)
                ],
                "hovertemplate": "<b>%{text}</b><br>"
                + _("Calls")
                + ": %{customdata[0]:,}<br>"
                + _("Minutes")
                + ": %{customdata[1]:,.0f}<br>ACD: %{customdata[2]:.0f} s<br>ASR: %{customdata[3]:.1%}<br>"
                + _("Cost")
                + f": %{{customdata[4]:,.2f}} {currency}<extra></extra>",
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
