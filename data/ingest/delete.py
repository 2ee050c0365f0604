"""Deleting stored calls: the calls, their keys in ``cdr_call_key`` and their share of every rollup, in one
transaction, so that importing them again stores them again (CDR-Stats' "start over", see docs/ingestion.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from data.core import db
from data.core.rollups import remove_from_rollups
from data.ingest.mediation import record_key_sql


class DeleteError(ValueError):
    """The selection names a switch or customer that does not exist, or an empty period."""


@dataclass
class DeletedCalls:
    calls: int
    keys: int
    dry_run: bool

    def line(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return f"{verb} calls={self.calls} keys={self.keys}"


def _one_id(cur, sql: str, value: str, what: str) -> int:
    cur.execute(sql, {"v": value})
    found = cur.fetchall()
    if len(found) != 1:
        raise DeleteError(f"no {what} {value!r}")
    return found[0][0]


def delete_calls(
    first_day: date,
    last_day: date,
    switch: str | None = None,
    customer: str | None = None,
    dry_run: bool = False,
) -> DeletedCalls:
    """Delete the calls that started on the UTC days ``first_day`` to ``last_day`` (both included), of
    ``switch`` (name or IP) and ``customer`` (username) when given."""
    if last_day < first_day:
        raise DeleteError(f"--to {last_day} is before --from {first_day}")
    start = datetime.combine(first_day, time.min, tzinfo=timezone.utc)
    params: dict = {"start": start, "end": start + timedelta(days=(last_day - first_day).days + 1)}
    with db.raw_connection() as conn, conn.cursor() as cur:
        where = ["starting_date >= %(start)s", "starting_date < %(end)s"]
        if switch:
            params["switch_id"] = _one_id(
                cur, "SELECT id FROM switch WHERE name = %(v)s OR ip = %(v)s", switch, "switch"
            )
            where.append("switch_id = %(switch_id)s")
        if customer:
            params["user_id"] = _one_id(cur, "SELECT id FROM app_user WHERE username = %(v)s", customer, "customer")
            where.append("user_id = %(user_id)s")
        cur.execute(
            f"CREATE TEMP TABLE deleted_calls ON COMMIT DROP AS SELECT * FROM cdr WHERE {' AND '.join(where)}", params
        )
        calls = cur.rowcount
        keys = 0
        if calls:
            remove_from_rollups(cur, "SELECT * FROM deleted_calls")
            cur.execute(
                f"""DELETE FROM cdr_call_key k USING deleted_calls d
                    WHERE k.switch_id = d.switch_id AND k.callid = {record_key_sql("d")}"""
            )
            keys = cur.rowcount
            cur.execute(
                "DELETE FROM cdr c USING deleted_calls d WHERE c.id = d.id AND c.starting_date = d.starting_date "
                "AND c.starting_date >= %(start)s AND c.starting_date < %(end)s",
                params,
            )
        if dry_run:
            conn.rollback()
        else:
            conn.commit()
    return DeletedCalls(calls, keys, dry_run)
