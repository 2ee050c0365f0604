"""The stored reference tables as the pages' choosers list them."""

from __future__ import annotations

from data.core import db


def country_rows() -> list[dict]:
    """Every country (ISO code and name), by name."""
    return db.rows("SELECT code, name FROM country ORDER BY name")


def hangup_cause_rows() -> list[dict]:
    """Every hangup cause (Q.850 code and name), by code."""
    return db.rows("SELECT code, name FROM hangup_cause ORDER BY code")
