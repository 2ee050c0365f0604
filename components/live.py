"""The Live page's pieces: pure functions of the live summary (data.live.store.live_summary)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from components.figures import figure
from components.tables import simple_table
from data.core.i18n import gettext as _


def switch_state(row: dict, zone: str) -> str:
    """ "3 calls", or "unreachable since HH:MM" (in the user's time zone), or "not polled yet"."""
    if row.get("ok") is False and row.get("unreachable_since"):
        since: datetime = row["unreachable_since"]
        return _("unreachable since %(time)s", time=f"{since.astimezone(ZoneInfo(zone)):%H:%M}")
    if row.get("ok") is None:
        return _("not polled yet")
    return _("answering")


def switch_rows(rows: list[dict], zone: str) -> list[dict]:
    return [
        {
            "switch": r["name"],
            "source": r["kind"],
            "calls": r["calls"] if r.get("ok") else None,
            "answered": r["answered"] if r.get("ok") else None,
            "state": switch_state(r, zone),
        }
        for r in rows
    ]


def switch_table(rows: list[dict], zone: str):
    columns = [("switch", _("Switch")), ("source", _("Source")), ("calls", _("Calls")), ("answered", _("Answered"))]
    return simple_table(
        switch_rows(rows, zone),
        [*columns, ("state", _("State"))],
        empty=_("No switch has a live source (admin, Switches)."),
    )


def breakdown_table(rows: list[dict], title: str):
    return simple_table(rows, [("label", title), ("calls", _("Calls"))], empty=_("No calls in progress."))


def sparkline_figure(rows: list[dict]) -> dict:
    """Calls in progress, the peak of each minute of the last 15."""
    return figure(
        [
            {
                "type": "scatter",
                "mode": "lines",
                "line": {"shape": "hv"},
                "fill": "tozeroy",
                "x": [r["minute"].isoformat() for r in rows],
                "y": [r["calls"] for r in rows],
                "hovertemplate": "%{x|%H:%M}: " + _("%(calls)s calls", calls="%{y}") + "<extra></extra>",
            }
        ],
        height=140,
        margin={"l": 30, "r": 10, "t": 10, "b": 25},
        yaxis={"rangemode": "tozero", "fixedrange": True},
        xaxis={"fixedrange": True},
    )
