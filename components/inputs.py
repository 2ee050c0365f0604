"""Form inputs the pages share (pure functions)."""

from __future__ import annotations

import dash_bootstrap_components as dbc


def whole_number(component_id: str, value: int | None, low: int = 0, high: int | None = None, **props) -> dbc.Input:
    """A number input taking whole numbers from ``low`` (to ``high``): the browser's arrows step by one."""
    bounds = {"min": low} if high is None else {"min": low, "max": high}
    return dbc.Input(id=component_id, type="number", step=1, value=value, **bounds, **props)
