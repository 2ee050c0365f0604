"""Calls in progress in PostgreSQL: each switch's live source, what its last poll saw, and the 15 minutes of
samples behind the Live page's sparkline and calls per second. Every reader goes through a ``Scope``: a
customer sees only the calls of their accountcodes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from data.core import audit, db
from data.core.normalise import normalise_number
from data.core.scope import Scope
from data.core.settings import load_settings
from data.live.sources import LiveCall

SPARKLINE_MINUTES = 15
CPS_WINDOW_SECONDS = 10
LIVE_KINDS = ("kamailio", "asterisk", "freeswitch")


def set_live_source(
    switch_id: int, kind: str | None, address: str = "", username: str = "", secret: str = "", actor=None
) -> None:
    """Where to poll the switch's calls in progress; ``kind`` None stops polling it. With an ``actor`` (the
    admin page), the change is in the audit log (the secret as changed or not, never its value)."""
    if kind is not None and kind not in LIVE_KINDS:
        raise ValueError(f"live source {kind!r}: use {', '.join(LIVE_KINDS)}")
    if kind is not None and not address.strip():
        raise ValueError("give the address to poll")
    with db.transaction() as conn:
        before = _source_snapshot(conn, switch_id)
        if before is None:
            raise ValueError(f"no switch {switch_id}")
        conn.execute(
            text(
                """UPDATE switch SET live_source = :kind, live_address = :address, live_username = :username,
                          live_secret = :secret WHERE id = :id"""
            ),
            {"kind": kind, "address": address, "username": username, "secret": secret, "id": switch_id},
        )
        if kind is None:
            conn.execute(text("DELETE FROM live_call WHERE switch_id = :id"), {"id": switch_id})
            conn.execute(text("DELETE FROM live_switch WHERE switch_id = :id"), {"id": switch_id})
        if actor is not None:
            after = _source_snapshot(conn, switch_id)
            after["secret_changed"] = after.pop("secret_hash") != before.pop("secret_hash")
            audit.record(conn, actor, "update", "switch-live-source", switch_id, before, after)


def _source_snapshot(conn, switch_id: int) -> dict | None:
    found = conn.execute(
        text(
            """SELECT name, live_source, live_address, live_username, md5(live_secret) AS secret_hash
                 FROM switch WHERE id = :id"""
        ),
        {"id": switch_id},
    ).first()
    return dict(found._mapping) if found else None


def source_table() -> list[dict]:
    """Every switch and its live source, for the admin page (no secrets)."""
    return db.rows(
        """SELECT s.id, s.name, s.ip, coalesce(s.live_source, '') AS kind, s.live_address AS address,
                  s.live_username AS username, s.live_secret <> '' AS has_secret,
                  CASE WHEN ls.ok THEN 'answering' WHEN ls.ok = false THEN 'unreachable: ' || ls.error END AS state
             FROM switch s LEFT JOIN live_switch ls ON ls.switch_id = s.id ORDER BY s.name"""
    )


def live_sources() -> list[dict]:
    """The switches to poll (the pollers read their credentials; nothing else does)."""
    return db.rows(
        """SELECT id, name, live_source AS kind, live_address AS address, live_username AS username,
                  live_secret AS secret FROM switch WHERE live_source IS NOT NULL ORDER BY id"""
    )


def save_poll(switch_id: int, calls: list[LiveCall], now: datetime | None = None) -> dict:
    """Replace the switch's calls by what the poll saw, in one transaction, with the owner (accountcode) and
    destination country of each; record a sample. Returns the calls and the new ones."""
    now = now or datetime.now(timezone.utc)
    plan = load_settings().number_plan
    unique = {call.key: call for call in calls if call.key}
    columns = {
        "keys": list(unique),
        "started": [c.started_at for c in unique.values()],
        "answered": [c.answered for c in unique.values()],
        "callers": [c.caller[:80] for c in unique.values()],
        "destinations": [c.destination[:80] for c in unique.values()],
        "accountcodes": [c.accountcode[:80] for c in unique.values()],
        "countries": [normalise_number(c.destination, plan).country_code for c in unique.values()],
    }
    with db.transaction() as conn:
        conn.execute(
            text("DELETE FROM live_call WHERE switch_id = :s AND call_key <> ALL(CAST(:keys AS text[]))"),
            {"s": switch_id, "keys": columns["keys"]},
        )
        new_calls = conn.execute(
            text(
                """INSERT INTO live_call (switch_id, call_key, started_at, answered, caller, destination,
                                          accountcode, user_id, country_code, first_seen)
                   SELECT :s, t.k, t.started, t.answered, t.caller, t.destination, t.accountcode, ua.user_id,
                          t.country, :now
                     FROM unnest(CAST(:keys AS text[]), CAST(:started AS timestamptz[]),
                                 CAST(:answered AS boolean[]), CAST(:callers AS text[]),
                                 CAST(:destinations AS text[]), CAST(:accountcodes AS text[]),
                                 CAST(:countries AS text[]))
                          AS t (k, started, answered, caller, destination, accountcode, country)
                     LEFT JOIN user_accountcode ua ON ua.accountcode = t.accountcode
                   ON CONFLICT (switch_id, call_key) DO UPDATE SET answered = excluded.answered
                   RETURNING (xmax = 0) AS inserted"""
            ),
            {"s": switch_id, "now": now, **columns},
        ).fetchall()
        conn.execute(
            text(
                """INSERT INTO live_sample (at, switch_id, user_id, calls, new_calls)
                   SELECT :now, :s, user_id, count(*), count(*) FILTER (WHERE first_seen = :now)
                     FROM live_call WHERE switch_id = :s GROUP BY user_id
                   UNION ALL SELECT :now, :s, NULL, 0, 0
                    WHERE NOT EXISTS (SELECT 1 FROM live_call WHERE switch_id = :s)"""
            ),
            {"s": switch_id, "now": now},
        )
        conn.execute(
            text(
                """INSERT INTO live_switch (switch_id, polled_at, ok, unreachable_since, error)
                   VALUES (:s, :now, true, NULL, '')
                   ON CONFLICT (switch_id) DO UPDATE SET polled_at = :now, ok = true, unreachable_since = NULL,
                          error = ''"""
            ),
            {"s": switch_id, "now": now},
        )
        conn.execute(
            text("DELETE FROM live_sample WHERE at < :oldest"),
            {"oldest": now - timedelta(minutes=SPARKLINE_MINUTES)},
        )
    return {"calls": len(unique), "new": sum(1 for r in new_calls if r[0])}


def save_failure(switch_id: int, error: str, now: datetime | None = None) -> None:
    """The switch did not answer: its calls are unknown (forgotten, not shown as zero), and it is
    unreachable since the first failure in a row."""
    now = now or datetime.now(timezone.utc)
    with db.transaction() as conn:
        conn.execute(text("DELETE FROM live_call WHERE switch_id = :s"), {"s": switch_id})
        conn.execute(
            text(
                """INSERT INTO live_switch (switch_id, polled_at, ok, unreachable_since, error)
                   VALUES (:s, :now, false, :now, :error)
                   ON CONFLICT (switch_id) DO UPDATE SET polled_at = :now, ok = false, error = :error,
                          unreachable_since = coalesce(live_switch.unreachable_since, :now)"""
            ),
            {"s": switch_id, "now": now, "error": error[:500]},
        )


def calls_in_progress(scope: Scope) -> int | None:
    """The scope's calls in progress on every polled switch; None when no switch has a live source."""
    where, params = scope.cdr_filter("lc")
    found = db.rows(
        f"""SELECT EXISTS (SELECT 1 FROM switch WHERE live_source IS NOT NULL) AS polled,
                   (SELECT count(*) FROM live_call lc WHERE {where}) AS calls""",
        **params,
    )[0]
    return found["calls"] if found["polled"] else None


def live_summary(scope: Scope, now: datetime | None = None) -> dict:
    """What the Live page shows: calls in progress per switch (with its state), customer and country, calls
    per second over the last 10 s, and per-minute peaks of the last 15 minutes."""
    now = now or datetime.now(timezone.utc)
    where, params = scope.cdr_filter("lc")
    sample_where, _ = scope.cdr_filter("ls")
    switches = db.rows(
        f"""SELECT s.id, s.name, s.live_source AS kind, ls.ok, ls.unreachable_since, ls.polled_at,
                   count(lc.call_key) AS calls, count(lc.call_key) FILTER (WHERE lc.answered) AS answered
              FROM switch s
              LEFT JOIN live_switch ls ON ls.switch_id = s.id
              LEFT JOIN live_call lc ON lc.switch_id = s.id AND {where}
             WHERE s.live_source IS NOT NULL
             GROUP BY s.id, s.name, s.live_source, ls.ok, ls.unreachable_since, ls.polled_at
             ORDER BY s.name""",
        **params,
    )
    countries = db.rows(
        f"""SELECT coalesce(lc.country_code, '') AS code, coalesce(c.name, 'Unknown') AS label, count(*) AS calls
              FROM live_call lc LEFT JOIN country c ON c.code = lc.country_code
             WHERE {where} GROUP BY 1, 2 ORDER BY calls DESC, label""",
        **params,
    )
    customers = db.rows(
        f"""SELECT lc.user_id, coalesce(u.username, 'No customer') AS label, count(*) AS calls
              FROM live_call lc LEFT JOIN app_user u ON u.id = lc.user_id
             WHERE {where} GROUP BY 1, 2 ORDER BY calls DESC, label""",
        **params,
    )
    new_calls = db.scalar(
        f"SELECT coalesce(sum(new_calls), 0) FROM live_sample ls WHERE at > :since AND at <= :now AND {sample_where}",
        since=now - timedelta(seconds=CPS_WINDOW_SECONDS),
        now=now,
        **params,
    )
    # Each switch is polled at its own instant: a minute's figure is the sum of each switch's peak in it.
    sparkline = db.rows(
        f"""SELECT minute, sum(peak) AS calls
              FROM (SELECT date_trunc('minute', at) AS minute, switch_id, max(calls) AS peak
                      FROM (SELECT at, switch_id, sum(calls) AS calls FROM live_sample ls
                             WHERE at > :since AND at <= :now AND {sample_where} GROUP BY at, switch_id) per_poll
                     GROUP BY 1, 2) per_switch
             GROUP BY 1 ORDER BY 1""",
        since=now - timedelta(minutes=SPARKLINE_MINUTES),
        now=now,
        **params,
    )
    return {
        "calls": sum(s["calls"] for s in switches),
        "cps": round(float(new_calls) / CPS_WINDOW_SECONDS, 2),
        "switches": switches,
        "countries": countries,
        "customers": customers,
        "sparkline": sparkline,
    }
