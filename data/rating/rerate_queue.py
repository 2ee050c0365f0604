"""The re-rating queue: requests (shell, rate plans page, a customer's VoIP plan change), their progress.

The "rerate" job (``data.rating.rater.run_rerate_queue``) runs them in order; this module only writes and
reads ``rerate_request``, so the rates module can queue one without importing the rating engine.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from data.core import audit, db


def period_bounds(start: date | datetime, end: date | datetime) -> tuple[datetime, datetime]:
    """[start, end) in UTC: dates are whole days, ``end`` included (``--from 2026-01-01 --to 2026-01-31``
    is January); datetimes are taken as they are (naive: UTC)."""

    def moment(value, next_day: bool) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        day = value + timedelta(days=1) if next_day else value
        return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)

    first, last = moment(start, False), moment(end, True)
    if last <= first:
        raise ValueError("the period ends before it starts")
    return first, last


def queue_rerate(
    start: date | datetime, end: date | datetime, customer: int | None = None, requested_by: str = ""
) -> int:
    """Ask for a re-rating; the "rerate" job runs it within a minute. Returns the request id."""
    with db.transaction() as conn:
        return queue_rerate_on(conn, start, end, customer, requested_by)


def queue_rerate_on(
    conn, start: date | datetime, end: date | datetime, customer: int | None = None, requested_by: str = "", why=None
) -> int:
    """``queue_rerate`` in the caller's transaction (``conn``), audited there."""
    first, last = period_bounds(start, end)
    request_id = conn.exec_driver_sql(
        "INSERT INTO rerate_request (period_start, period_end, user_id, requested_by) "
        "VALUES (%(s)s, %(e)s, %(u)s, %(by)s) RETURNING id",
        {"s": first, "e": last, "u": customer, "by": requested_by},
    ).scalar()
    details = {"period_start": first, "period_end": last, "customer_id": customer}
    audit.record(conn, audit.current_actor(), "queue", "rerate", request_id, after={**details, **(why or {})})
    return request_id


def queue_customer_rerate(conn, user_id: int, why: str) -> dict | None:
    """Queue a re-rating of every stored call of a customer (their VoIP plan changed), in ``conn``'s
    transaction. Returns {"request_id", "calls", "period_start", "period_end"}, None without calls."""
    span = (
        conn.exec_driver_sql(
            "SELECT min(starting_date) AS first, max(starting_date) AS last, count(*) AS calls FROM cdr "
            "WHERE user_id = %(u)s",
            {"u": user_id},
        )
        .mappings()
        .first()
    )
    if not span["calls"]:
        return None
    last = span["last"] + timedelta(seconds=1)
    request_id = queue_rerate_on(conn, span["first"], last, user_id, "VoIP plan change", {"why": why})
    return {"request_id": request_id, "calls": span["calls"], "period_start": span["first"], "period_end": last}


def latest_customer_rerate(user_id: int) -> int | None:
    """The newest re-rating request of a customer's calls (the users page follows it)."""
    return db.scalar(
        "SELECT id FROM rerate_request WHERE user_id = :u ORDER BY requested_at DESC, id DESC LIMIT 1", u=user_id
    )


def describe_rerate(progress: dict | None) -> str:
    """A re-rating request's state in words, for the page that queued it."""
    if progress is None:
        return ""
    state = progress["status"]
    if state == "queued":
        return (
            f"Re-rating #{progress['id']} queued: the calls keep their old prices (or stay unrated) until it runs, "
            "within a minute."
        )
    if state == "running":
        done, total = progress["days_done"] or 0, progress["days_total"] or "?"
        return (
            f"Re-rating #{progress['id']} running: day {done} of {total}, {progress['calls'] or 0:,} calls re-priced."
        )
    if state == "done":
        return f"Re-rating #{progress['id']} done: {progress['calls'] or 0:,} calls re-priced on the new plan."
    return f"Re-rating #{progress['id']} failed: {progress['error']}. The calls keep their old prices."


def rerate_progress(request_id: int) -> dict | None:
    """Where a re-rating request stands: status, days done of days, calls changed so far, error."""
    found = db.rows(
        """SELECT id, status, days_done, days_total, calls, error, requested_at, started_at, finished_at
           FROM rerate_request WHERE id = :id""",
        id=request_id,
    )
    return found[0] if found else None


def report_progress(request_id: int, days_done: int, days_total: int, changed: int) -> None:
    with db.transaction() as conn:
        conn.exec_driver_sql(
            "UPDATE rerate_request SET days_done = %(d)s, days_total = %(t)s, calls = %(c)s WHERE id = %(id)s",
            {"d": days_done, "t": days_total, "c": changed, "id": request_id},
        )


def finish_request(request_id: int, status: str, *, calls: int | None = None, error: str | None = None) -> None:
    with db.transaction() as conn:
        conn.exec_driver_sql(
            "UPDATE rerate_request SET status = %(st)s, finished_at = clock_timestamp(), calls = %(c)s, "
            "error = %(e)s WHERE id = %(id)s",
            {"st": status, "c": calls, "e": error, "id": request_id},
        )


def rerate_requests(limit: int = 20) -> list[dict]:
    return db.rows(
        """SELECT r.id, r.period_start, r.period_end, u.username AS customer, r.requested_by,
                             r.requested_at, r.status, r.started_at, r.finished_at, r.calls, r.error
                      FROM rerate_request r LEFT JOIN app_user u ON u.id = r.user_id
                      ORDER BY r.requested_at DESC, r.id DESC LIMIT :limit""",
        limit=limit,
    )
