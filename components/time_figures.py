"""Figures over time buckets: every bucket on the axis, ticks that say what a bucket is (a day, a month), the
current partial bucket marked, each point carrying the CDR search address of its calls (drill-down), and a
drag on the chart selecting a time range (the page's range follows, callbacks/filters.py)."""

from __future__ import annotations

from components.figures import dual_axis_figure, empty_figure, figure, grouped
from data.core.i18n import N_
from data.core.i18n import gettext as _
from data.core.kpis import as_float

# Tick labels and hover per bucket unit: a day axis never shows times of day, a month axis never days.
TICKS = {
    "minute": ("%H:%M\n%d %b", "%d %b %Y %H:%M"),
    "quarter": ("%H:%M\n%d %b", "%d %b %Y %H:%M"),
    "hour": ("%H:%M\n%d %b", "%d %b %Y %H:%M"),
    "day": ("%d %b\n%Y", "%a %d %b %Y"),
    "month": ("%b\n%Y", "%B %Y"),
}
PARTIAL_NOTE = N_("partial: so far")
# The legend above the plot: below it, two-line tick labels (and a narrow screen's rotated ones) run into it.
LEGEND_ON_TOP = dict(legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"), margin=dict(l=40, r=10, t=30, b=40))
# How long a bucket is, for plotly's period positioning: a point or bar sits in the middle of its bucket, and
# the tick labels of days and months stand under the period they name.
PERIOD = {"minute": 60_000, "quarter": 900_000, "hour": 3_600_000, "day": 86_400_000, "month": "M1"}


def in_period(trace: dict, unit: str, rows: list[dict], x: str) -> dict:
    """``trace`` placed in the middle of each bucket (on a date axis only)."""
    if not any("(UTC" in str(r[x]) for r in rows):
        trace.update(xperiod=PERIOD[unit], xperiodalignment="middle")
    return trace


def time_axis(unit: str, first: str, end: str) -> dict:
    """A date axis from the first bucket to the range's end, labelled for ``unit``."""
    tickformat, hoverformat = TICKS[unit]
    axis = dict(
        type="date",
        range=[first, end],
        tickformat=tickformat.replace("\n", "<br>"),
        hoverformat=hoverformat,
        ticklabelmode="period" if unit in ("day", "month") else "instant",
    )
    # plotly picks how many ticks the axis's width holds (a 390 px screen gets fewer); the format keeps them
    # whole days or months, and the explicit range keeps it from inventing a time scale around one point
    return axis


def bucket_axis(rows: list[dict], x: str, unit: str, end: str) -> dict:
    """The x axis of ``rows``' buckets: a date axis, or categories in order when a day clocks go back repeats
    an hour (its second one is labelled with its UTC offset, which a date axis cannot place)."""
    order = list(dict.fromkeys(r[x] for r in rows))
    if any("(UTC" in str(label) for label in order):
        return dict(type="category", categoryorder="array", categoryarray=order)
    return time_axis(unit, order[0], end)


def partial_marks(rows: list[dict], x: str, end: str) -> tuple[list, list]:
    """A shaded band over the partial bucket and its note: its calls so far, not a fall."""
    partial = [r[x] for r in rows if r.get("partial")]
    if not partial:
        return [], []
    start = partial[0]
    band = dict(
        type="rect",
        xref="x",
        yref="paper",
        x0=start,
        x1=end,
        y0=0,
        y1=1,
        fillcolor="rgba(128,128,128,0.15)",
        line=dict(width=0),
        layer="below",
    )
    note = dict(  # ends where the range ends: a narrow band's note stays inside the plot
        text=_(PARTIAL_NOTE),
        x=end,
        xref="x",
        xanchor="right",
        y=1,
        yref="paper",
        yanchor="top",
        showarrow=False,
        font=dict(size=11),
        name="partial",
    )
    return [band], [note]


def firing_marks(firings: list[dict]) -> tuple[list, list]:
    """A dotted vertical line and a label per alarm firing (``at``: local time text, ``label``)."""
    shapes, notes = [], []
    for firing in firings:
        shapes.append(
            dict(
                type="line",
                xref="x",
                yref="paper",
                x0=firing["at"],
                x1=firing["at"],
                y0=0,
                y1=1,
                line=dict(color="#dc3545", width=1, dash="dot"),
            )
        )
        notes.append(
            dict(
                text="⚑",
                hovertext=firing["label"],
                x=firing["at"],
                xref="x",
                y=1,
                yref="paper",
                yanchor="bottom",
                showarrow=False,
                font=dict(color="#dc3545", size=12),
                name="alarm",
            )
        )
    return shapes, notes


def time_series_figure(
    rows: list[dict],
    y: str,
    unit: str,
    end: str,
    *,
    x: str = "period",
    series: str = "series",
    kind: str = "line",
    y_title: str = "",
    percent: bool = False,
    compare: list[dict] | None = None,
    firings: list[dict] | None = None,
) -> dict:
    """One trace per series over every bucket (rows zero-filled: data/reports/timeseries.py), the partial
    bucket shaded, ``compare`` (rows of the previous period, laid on this one bucket by bucket) dashed.

    ``end`` is the range's end as local time text: the axis reaches it, so a partial bucket shows its share."""
    if not rows:
        return empty_figure()
    groups = grouped(rows, lambda row: row.get(series) or y_title or y)
    traces = []
    for name, items in groups.items():
        trace = {
            "x": [r[x] for r in items],
            "y": [as_float(r[y]) for r in items],
            "name": str(name),
            "customdata": [r.get("href") for r in items],
        }
        if kind == "bar":
            trace.update(type="bar", marker={"pattern": {"shape": ["/" if r.get("partial") else "" for r in items]}})
        else:
            symbols = ["circle-open" if r.get("partial") else "circle" for r in items]
            trace.update(type="scatter", mode="lines+markers", marker={"symbol": symbols})
        traces.append(in_period(trace, unit, items, x))
    if compare:
        xs = list(dict.fromkeys(r[x] for r in rows))
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": xs[: len(compare)],
                "y": [as_float(r[y]) for r in compare][: len(xs)],
                "text": [r[x] for r in compare][: len(xs)],
                "name": _("previous period"),
                "line": {"dash": "dash", "color": "#6c757d"},
                "hovertemplate": "%{text}: %{y}<extra>" + _("previous period") + "</extra>",
            }
        )
        in_period(traces[-1], unit, rows, x)
    shapes, notes = partial_marks(rows, x, end)
    alarm_shapes, alarm_notes = firing_marks(firings or [])
    yaxis = dict(title=dict(text=y_title), rangemode="tozero", fixedrange=True)
    if percent:
        yaxis.update(tickformat=".0%", hoverformat=".1%")
    return figure(
        traces,
        xaxis=bucket_axis(rows, x, unit, end),
        yaxis=yaxis,
        shapes=shapes + alarm_shapes,
        annotations=notes + alarm_notes,
        showlegend=len(traces) > 1,
        dragmode="zoom",
        **LEGEND_ON_TOP,
    )


def time_dual_axis_figure(
    rows: list[dict], left: tuple[str, str], right: tuple[str, str], unit: str, end: str, x: str = "period"
) -> dict:
    """``dual_axis_figure`` over every bucket: the partial bucket's bar hatched and its point open, each
    bar and point carrying the CDR search of its calls, the axis labelled for ``unit``."""
    fig = dual_axis_figure(rows, x, left, right)
    if not rows:
        return fig
    hrefs, partial = [r.get("href") for r in rows], [bool(r.get("partial")) for r in rows]
    bars, line = fig["data"]
    bars.update(customdata=hrefs, marker={"pattern": {"shape": ["/" if p else "" for p in partial]}})
    line.update(customdata=hrefs, marker={"symbol": ["circle-open" if p else "circle" for p in partial]})
    for trace in (bars, line):
        in_period(trace, unit, rows, x)
    shapes, notes = partial_marks(rows, x, end)
    layout = fig["layout"]
    layout.update(xaxis=bucket_axis(rows, x, unit, end), shapes=shapes, annotations=notes, **LEGEND_ON_TOP)
    layout["yaxis"]["fixedrange"] = layout["yaxis2"]["fixedrange"] = True
    return fig


def hour_of_day_figure(rows: list[dict], marks: list[dict], y: str, y_title: str = "") -> dict:
    """Days laid over each other by hour of day (``rows``: hour, series, value; ``marks``: the same rows'
    ``partial`` and ``href``): the hour in progress drawn as an open marker, hours to come left out."""
    if not rows:
        return empty_figure()
    groups: dict[str, list[tuple[dict, dict]]] = {}
    for row, mark in zip(rows, marks, strict=True):
        groups.setdefault(row["series"], []).append((row, mark))
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": str(name),
            "x": [r["hour"] for r, _ in items],
            "y": [as_float(r[y]) for r, _ in items],
            "customdata": [m["href"] for _, m in items],
            "marker": {"symbol": ["circle-open" if m["partial"] else "circle" for _, m in items], "size": 7},
        }
        for name, items in groups.items()
    ]
    return figure(
        traces, yaxis=dict(title=dict(text=y_title), rangemode="tozero", fixedrange=True), showlegend=len(traces) > 1
    )
