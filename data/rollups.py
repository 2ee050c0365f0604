"""Rollups: sums and counts of calls per time bucket and dimensions, kept up to date incrementally.

(Being written by the reports work; the ingest pipeline calls ``add_to_rollups`` in the same
transaction that stores new CDRs.)
"""
from __future__ import annotations


def add_to_rollups(cur, rows_sql: str, params: dict | None = None) -> None:
    """Add the calls selected by ``rows_sql`` to every rollup, on the psycopg2 cursor ``cur``.

    ``rows_sql`` is a SELECT returning cdr-shaped columns (at least: starting_date, answered_date,
    accountcode, user_id, switch_id, country_code, hangup_cause_id, direction, cdr_source_type,
    duration, billsec, progresssec, buy_cost, sell_cost) for the rows just inserted into ``cdr``.
    """
