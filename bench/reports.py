"""Reports at scale: 10 million calls, each page's main callbacks timed over HTTP, rollup upkeep.

    .venv/bin/python bench/reports.py [--rows 10000000] [--repeat 20] [--skip-upkeep]

Loads the calls with set-based SQL straight into ``cdr`` (30 days; a few switches, 200 accountcodes
with a skewed traffic share, 60 countries, realistic causes and durations) and rebuilds the rollups.
Then it measures, through gunicorn with a logged-in session, p50/p95 of each callback; the time to
add 100,000 new calls to the rollups, six times in a row as successive imports (the first, just after
the server started, printed apart); and, for comparison, REFRESH MATERIALIZED VIEW
CONCURRENTLY of an equivalent hourly view (what CDR-Stats does every 15 minutes). ``--skip-upkeep``
times the callbacks only (the upkeep adds 600,000 calls to the database each time it runs).
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import date, datetime, timedelta, timezone

from common import ROOT, Session, bench_database, start_server, summary_ms  # noqa: F401

COUNTRIES = [
    "34",
    "44",
    "1",
    "49",
    "33",
    "39",
    "351",
    "31",
    "32",
    "41",
    "43",
    "48",
    "46",
    "47",
    "45",
    "358",
    "353",
    "30",
    "420",
    "36",
    "40",
    "359",
    "385",
    "386",
    "421",
    "370",
    "371",
    "372",
    "7",
    "380",
    "90",
    "972",
    "971",
    "966",
    "20",
    "212",
    "213",
    "216",
    "234",
    "254",
    "27",
    "91",
    "92",
    "880",
    "86",
    "81",
    "82",
    "852",
    "65",
    "60",
    "62",
    "63",
    "66",
    "84",
    "61",
    "64",
    "52",
    "55",
    "54",
    "57",
]


def generate_calls(conn, rows: int, first_id: int, days: int = 30, batch: int = 1_000_000) -> None:
    """Insert ``rows`` calls spread over the last ``days`` days, in committed batches."""
    from sqlalchemy import text

    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    conn.execute(text("SELECT ensure_cdr_partitions(:s, :e)"), {"s": start, "e": end})
    for n in (1, 2, 3):
        conn.execute(
            text(
                "INSERT INTO switch (id, name, ip, source_type) "
                "VALUES (:n, 'bench-' || :n, '10.99.0.' || :n, 3) ON CONFLICT DO NOTHING"
            ),
            {"n": n},
        )
    conn.execute(text("SELECT setval('switch_id_seq', (SELECT max(id) FROM switch))"))
    conn.commit()
    done = 0
    while done < rows:
        n = min(batch, rows - done)
        t0 = time.perf_counter()
        conn.execute(
            text("""
            INSERT INTO cdr (switch_id, cdr_source_type, callid, destination_number, normalised_number, dialcode,
                             country_code, starting_date, answered_date, duration, billsec, progresssec,
                             hangup_cause_id, direction, accountcode, user_id, buy_cost, sell_cost)
            SELECT 1 + (acct % 3), 3, 'bench-' || g, '00' || dial || '600' || (g % 100000),
                   dial || '600' || (g % 100000), dial, p.country_code, t,
                   CASE WHEN answered THEN t + interval '3 seconds' END,
                   CASE WHEN answered THEN billsec + 3 ELSE 20 END, CASE WHEN answered THEN billsec ELSE 0 END,
                   2 + (g % 4), CASE WHEN answered THEN 16 ELSE (ARRAY[17,19,21,34,1,31,41])[1 + (g % 7)] END,
                   2, 'acct' || acct, NULL,
                   CASE WHEN answered THEN round((billsec * 0.01 / 60)::numeric, 5) END,
                   CASE WHEN answered THEN round((billsec * 0.013 / 60)::numeric, 5) END
            FROM (
                SELECT g,
                       -- a few accountcodes carry most traffic, as in real life
                       1 + floor(200 * power(random(), 3))::int AS acct,
                       (:countries)[1 + floor(60 * power(random(), 2))::int] AS dial,
                       :start + (random() * (:end - :start)) AS t,
                       random() < 0.55 AS answered,
                       floor(-ln(1 - random()) * 150)::int + 1 AS billsec
                FROM generate_series(:first, :last) g
            ) c JOIN dial_prefix p ON p.prefix = c.dial"""),
            {
                "countries": COUNTRIES,
                "start": start,
                "end": end,
                "first": first_id + done,
                "last": first_id + done + n - 1,
            },
        )
        conn.commit()
        done += n
        print(f"  generated {done:,} calls ({n / (time.perf_counter() - t0):,.0f}/s)", flush=True)


def add_calls(rows: int) -> tuple[float, float]:
    """One import's worth: ``rows`` new calls of the last hour into cdr and every rollup, committed.

    Returns the seconds of the insert into cdr and of the rollup update (``add_to_rollups``)."""
    from data.core import db
    from data.core.rollups import add_to_rollups

    with db.raw_connection() as raw, raw.cursor() as cur:
        cur.execute("CREATE TEMP TABLE new_calls (LIKE cdr INCLUDING DEFAULTS) ON COMMIT DROP")
        cur.execute("INSERT INTO new_calls SELECT * FROM cdr ORDER BY id DESC LIMIT %s", (rows,))
        cur.execute(
            "UPDATE new_calls SET id = id - (SELECT min(id) FROM new_calls) + (SELECT max(id) FROM cdr) + 1, "
            "callid = callid || '-new', starting_date = now() - random() * interval '1 hour'"
        )
        t0 = time.perf_counter()
        cur.execute("INSERT INTO cdr SELECT * FROM new_calls")
        t1 = time.perf_counter()
        add_to_rollups(cur, "SELECT * FROM new_calls")
        return t1 - t0, time.perf_counter() - t1


def rollup_upkeep(conn, rows: int = 100_000, batches: int = 5) -> None:
    """Add batches of 100k new calls to the 10M table and its rollups, as imports do; then the matview way.

    The first batch after the server started may find pages of its tables still on disk (autoprewarm
    reads them back in the background): it is printed apart from the ``batches`` that follow it.
    """
    from sqlalchemy import text

    timings = [add_calls(rows) for _ in range(batches + 1)]
    (insert_first, rollup_first), rest = timings[0], timings[1:]
    print(f"add {rows:,} calls, first batch: insert into cdr {insert_first:.2f} s, rollup update {rollup_first:.2f} s")
    updates = sorted(r for _, r in rest)
    print(
        f"add {rows:,} calls, next {batches} batches: rollup update {', '.join(f'{u:.2f}' for u in updates)} s "
        f"(median {updates[len(updates) // 2]:.2f} s); insert into cdr median "
        f"{sorted(i for i, _ in rest)[len(rest) // 2]:.2f} s"
    )

    conn.execute(text("DROP MATERIALIZED VIEW IF EXISTS bench_matv_hour"))
    conn.execute(
        text("""
        CREATE MATERIALIZED VIEW bench_matv_hour AS
        SELECT date_trunc('hour', starting_date) AS bucket, COALESCE(user_id, 0) AS user_id,
               switch_id, COALESCE(country_code, '') AS country_code,
               COALESCE(hangup_cause_id, 0) AS hangup_cause_id, direction, cdr_source_type,
               count(*) AS attempts, count(*) FILTER (WHERE billsec > 0) AS answered, sum(duration) AS duration,
               sum(billsec) AS billsec, sum(buy_cost) AS buy_cost, sum(sell_cost) AS sell_cost
        FROM cdr GROUP BY 1, 2, 3, 4, 5, 6, 7""")
    )
    conn.execute(
        text(
            "CREATE UNIQUE INDEX ON bench_matv_hour (bucket, user_id, switch_id, country_code, "
            "hangup_cause_id, direction, cdr_source_type)"
        )
    )
    conn.commit()
    t0 = time.perf_counter()
    conn.execute(text("REFRESH MATERIALIZED VIEW CONCURRENTLY bench_matv_hour"))
    conn.commit()
    print(f"REFRESH MATERIALIZED VIEW CONCURRENTLY of an equivalent hourly view: {time.perf_counter() - t0:.1f} s")
    conn.execute(text("DROP MATERIALIZED VIEW bench_matv_hour"))
    conn.commit()


def callback_timings(repeat: int) -> None:
    from app import create_app
    from tests.dash_client import callback_body

    app = create_app()
    app.test_client().get("/login")  # Dash merges its callbacks on the first request
    callbacks = app.extensions["dash_app"].callback_map
    today = date.today()
    filters = lambda first, last: [first.isoformat(), last.isoformat(), None, None, None, None]  # noqa: E731
    cases = {
        "dashboard": ("refresh_dashboard", [None, None, None, None]),
        "overview 1 day": ("refresh_overview", [*filters(today, today), "switch"]),
        "overview 30 days": ("refresh_overview", [*filters(today - timedelta(days=29), today), "switch"]),
        "overview 1 year": ("refresh_overview", [*filters(today - timedelta(days=364), today), "switch"]),
        "daily comparison": (
            "refresh_daily_comparison",
            [today.isoformat(), "previous-days", 6, [], "calls", None, None, None],
        ),
        "country report": ("refresh_countries", [*filters(today - timedelta(days=29), today), "calls"]),
        "world map": ("refresh_world_map", filters(today - timedelta(days=29), today)),
        "concurrent calls 1 day": (
            "refresh_concurrent_calls",
            filters(today - timedelta(days=1), today - timedelta(days=1)),
        ),
    }
    month = f"start={(today - timedelta(days=29)).isoformat()}&end={today.isoformat()}"
    first_page = {"startRow": 0, "endRow": 100, "sortModel": []}
    searches = {
        "CDR search, first page": ("load_block", [first_page], [f"?{month}", None, None]),
        "CDR search, filtered": ("load_block", [first_page], [f"?{month}&switch=2&answered=1", None, None]),
    }
    server, base = start_server()
    print(
        f"load average (1 min) before the timings: {os.getloadavg()[0]:.1f}; REPORT_CACHE_SECONDS="
        f"{os.environ.get('REPORT_CACHE_SECONDS', 'unset (off)')}"
    )
    try:
        session = Session(base, "admin", "bench-admin")
        bodies = {name: callback_body(callbacks, func, inputs) for name, (func, inputs) in cases.items()}
        bodies.update(
            {name: callback_body(callbacks, func, inputs, state) for name, (func, inputs, state) in searches.items()}
        )
        for name, body in bodies.items():
            session.callback(body)  # warm-up
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                session.callback(body)
                samples.append(time.perf_counter() - t0)
            print(f"{name:28s} {summary_ms(samples)}")
        print(f"load average (1 min) after the timings: {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait()


def standby_for_reads() -> str:
    """A hot standby of the embedded store (``pg_basebackup -R`` the first time, a copy as big as the store),
    set as READ_DATABASE_URL for the server the timings go through; it is stopped when this process ends."""
    import atexit

    from common import free_port

    from data.core.embedded_db import start_standby

    t0 = time.perf_counter()
    standby = start_standby(ROOT / "var" / "bench-reports", ROOT / "var" / "bench-reports-replica", free_port())
    atexit.register(standby.stop)
    os.environ["READ_DATABASE_URL"] = standby.url
    print(f"hot standby on port {standby.port} ready in {time.perf_counter() - t0:.0f} s: the reports read it")
    return standby.url


def replica_transactions(url: str) -> int:
    """Transactions the standby has served (its statistics are flushed within 10 s of a session's last one)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        served = conn.exec_driver_sql(
            "SELECT pg_is_in_recovery(), xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).one()
    engine.dispose()
    assert served[0], "READ_DATABASE_URL is not a standby"
    return served[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-upkeep", action="store_true", help="time the callbacks only")
    parser.add_argument(
        "--replica",
        action="store_true",
        help="serve the reports from a hot standby of the store (var/bench-reports-replica, made once)",
    )
    parser.add_argument("--language", help="the benchmark user's language (de, es, ru…): the callbacks in it")
    args = parser.parse_args()
    os.environ.setdefault("ADMIN_PASSWORD", "bench-admin")
    os.environ["SCHEDULER"] = "off"
    bench_database("reports")
    replica = standby_for_reads() if args.replica else None
    served = replica_transactions(replica) if replica else 0
    from data.core import db, migrate
    from data.core.concurrency import refresh_concurrency
    from data.core.rollups import rebuild_rollups

    migrate.upgrade()
    with db.engine().connect() as conn:
        have = conn.exec_driver_sql("SELECT count(*) FROM cdr").scalar()
        if have < args.rows:
            print(f"loading {args.rows - have:,} calls ...")
            first = (conn.exec_driver_sql("SELECT COALESCE(max(id), 0) FROM cdr").scalar() or 0) + 1
            generate_calls(conn, args.rows - have, first)
            t0 = time.perf_counter()
            counts = rebuild_rollups(date.today() - timedelta(days=31), date.today() + timedelta(days=1))
            print(f"rollups rebuilt from cdr in {time.perf_counter() - t0:.1f} s: {counts}")
            t0 = time.perf_counter()
            refresh_concurrency()
            print(f"concurrent calls per minute computed in {time.perf_counter() - t0:.1f} s")
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        print(
            f"cdr rows: {conn.exec_driver_sql('SELECT count(*) FROM cdr').scalar():,}; "
            f"hour rollup rows: {conn.exec_driver_sql('SELECT count(*) FROM cdr_rollup_hour').scalar():,}"
        )
        conn.exec_driver_sql("UPDATE app_user SET language = %(l)s WHERE username = 'admin'", {"l": args.language})
        conn.commit()
        print(f"the admin's language: {args.language or 'the browser’s (English)'}")
        callback_timings(args.repeat)
        if replica:
            time.sleep(11)
            print(f"transactions the standby served meanwhile: {replica_transactions(replica) - served:,}")
        if not args.skip_upkeep:
            rollup_upkeep(conn)


if __name__ == "__main__":
    main()
