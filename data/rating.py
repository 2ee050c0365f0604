"""Rating: prices every call from rate plans (being written by the rating work)."""
from __future__ import annotations


def rate_staged_calls(cur, stage_table: str) -> None:
    """Fill buy/sell rate and cost, carrier_id and rating_status on the rows of ``stage_table``.

    Called by the ingest pipeline, on its psycopg2 cursor, before the staged rows are inserted into
    ``cdr``. The stage table has cdr's columns (normalised_number, user_id, billsec, starting_date,
    buy_rate, buy_cost, sell_rate, sell_cost, carrier_id, rating_status ...). Rows that arrive with
    rates keep them (rating_status stays NULL → set by the rating work).
    """
