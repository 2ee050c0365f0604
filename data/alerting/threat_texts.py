"""What threat control shows in words: the kinds of threat, the thresholds' labels, the high-cost categories,
marked for the catalogs here and written in the reader's language by the functions below."""

from __future__ import annotations

from data.core.i18n import N_
from data.core.i18n import gettext as _

KINDS = {
    "velocity": N_("Velocity"),
    "spike": N_("Spike against baseline"),
    "new_country": N_("New destination country"),
    "high_cost": N_("High-cost destination"),
    "short_burst": N_("Short-call burst"),
    "repeat_number": N_("Repeated number"),
}
LABELS = {
    "spike_min_calls": N_("Spike: minimum calls in the hour"),
    "spike_score": N_("Spike: minimum robust z-score"),
    "spike_ratio": N_("Spike: minimum ratio to the median"),
    "spike_min_history_days": N_("Spike: minimum days of history"),
    "new_country_window_hours": N_("New country: recent window (hours)"),
    "new_country_history_days": N_("New country: history (days)"),
    "new_country_min_history_calls": N_("New country: minimum history calls of the accountcode"),
    "new_country_min_history_days": N_("New country: minimum days with calls of the accountcode"),
    "new_country_min_calls": N_("New country: minimum calls to the new country"),
    "high_cost_window_hours": N_("High cost: window (hours)"),
    "high_cost_min_calls": N_("High cost: minimum calls per accountcode"),
    "short_burst_window_minutes": N_("Short-call burst: window (minutes)"),
    "short_burst_min_calls": N_("Short-call burst: minimum short calls"),
    "short_burst_ratio": N_("Short-call burst: minimum share of answered calls"),
    "repeat_window_minutes": N_("Repeated number: window (minutes)"),
    "repeat_min_calls": N_("Repeated number: minimum calls to one number"),
}
# what a velocity limit counts, and per what (put together where it is shown: ``setting_label``)
MEASURES = {"calls": N_("calls"), "minutes": N_("minutes"), "cost": N_("cost")}
MEASURE_TITLES = {"calls": N_("Calls"), "minutes": N_("Minutes"), "cost": N_("Cost")}
DIMENSIONS = {"accountcode": N_("accountcode"), "country": N_("country")}


def setting_label(key: str) -> str:
    """The threshold ``key``'s label in the current language."""
    if key.startswith("velocity_"):
        _velocity, dim, measure, window = key.split("_")
        return _(
            "Velocity: %(measure)s per %(dimension)s in %(window)s min",
            measure=_(MEASURES[measure]),
            dimension=_(DIMENSIONS[dim]),
            window=window,
        )
    return _(LABELS[key])


def kind_label(kind: str) -> str:
    return _(KINDS[kind]) if kind in KINDS else kind


CATEGORIES = {"premium rate": N_("premium rate"), "shared cost": N_("shared cost"), "satellite": N_("satellite")}


def category_label(category: str) -> str:
    """A high-cost category in the current language (the admin list's own ones: "admin list <description>")."""
    if category in CATEGORIES:
        return _(CATEGORIES[category])
    if category.startswith("admin list "):
        return _("admin list %(name)s", name=category.removeprefix("admin list "))
    return category
