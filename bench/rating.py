"""Rating benchmark: the ingest benchmark (bench/ingest.py) with every call rated against real plans.

    .venv/bin/python bench/rater.py [--rows 1000000]

1. The same CSV as bench/ingest.py (generated once under bench/out/).
2. A fresh database with rating configured: the 200 accountcodes belong to customers, 190 of them on
   two VoIP plans; three carrier decks of about 20,000 prefixes each (every dial prefix, the number
   ranges the traffic calls, filler ranges), one retail plan derived from carrier A plus 30 %, one
   carrier plan valid only until mid-month (so rates change during the period), a ban plan.
3. The raw COPY rate, then ``flask import-cdr`` with rating on; the ratio must stay >= 0.5.
4. In-process, the same import again (fresh tables) with ``rate_staged_calls`` timed, wall clock and the CPU
   seconds of its PostgreSQL backends (the machine is shared: the CPU seconds are rating's own cost).
5. The rating statuses of the stored calls.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timezone
from decimal import Decimal

from common import ROOT, bench_database
from ingest import OUT, cli_import, fresh_database, generate, raw_copy_rate

ACCOUNTCODES = [f"cust{n:03d}" for n in range(200)]


def _deck_prefixes(rng: random.Random) -> list[str]:
    """Every dial prefix, the heads of the numbers the traffic calls, and filler ranges: an A-Z deck."""
    from data.core.reference_data import dial_prefixes
    from data.demo.demo_data import DESTINATIONS, _number_pool

    pools_rng = random.Random(1)  # bench/ingest.py's generate() draws its pools first, with seed 1
    pools = {r: _number_pool(r, pools_rng, 200) for r in DESTINATIONS}
    prefixes = set(dial_prefixes())
    for numbers in pools.values():
        for number in numbers:
            for extra in (1, 2, 3, 4):
                if rng.random() < 0.3:
                    prefixes.add(number[: len(number) - 8 + extra] if len(number) > 9 else number[:4])
    codes = sorted(dial_prefixes())
    while len(prefixes) < 20_000:
        code = rng.choice(codes)
        prefixes.add(code + str(rng.randrange(10 ** rng.randint(1, 4))))
    return sorted(prefixes)


def configure_rating(rng: random.Random) -> None:
    from data.core import db
    from data.core.scope import Scope
    from data.rating import rates
    from data.rating.rates import RateRow

    admin = Scope(user_id=None)
    start = datetime(2025, 12, 1, tzinfo=timezone.utc)
    mid_month = datetime(2026, 1, 15, tzinfo=timezone.utc)
    prefixes = _deck_prefixes(rng)
    carrier_plans = []
    for name, priority in (("A", 1), ("B", 2), ("C", 3)):
        provider = rates.create_provider(admin, f"Carrier {name}", priority=priority)
        plan = rates.create_rate_plan(admin, f"carrier-{name}", "carrier", provider_id=provider)
        rows = [
            RateRow(
                p,
                "",
                Decimal(rng.randrange(100, 20000)).scaleb(-5),
                Decimal(0),
                rng.choice([1, 30, 60]),
                rng.choice([1, 6, 60]),
                start,
                mid_month if name == "C" else None,
            )
            for p in prefixes
            if name == "A" or rng.random() < 0.8
        ]
        rates.store_rates(admin, plan, rows)
        carrier_plans.append(plan)
    retail = rates.create_rate_plan(admin, "retail", "retail")
    rates.derive_retail_rates(admin, carrier_plans[0], retail, Decimal(30))
    bans = rates.create_ban_plan(admin, "premium", ["88213", "881", "3490", "4470"])
    plans = [
        rates.create_voip_plan(admin, "standard", [retail, *carrier_plans], [bans]),
        rates.create_voip_plan(admin, "two carriers", [retail, *carrier_plans[:2]], [bans]),
    ]
    with db.transaction() as conn:
        for n, code in enumerate(ACCOUNTCODES):
            plan = plans[0] if n < 150 else plans[1] if n < 190 else None
            user_id = conn.exec_driver_sql(
                "INSERT INTO app_user (username, password_hash, role, voip_plan_id) "
                "VALUES (%(u)s, '!', 'customer', %(p)s) RETURNING id",
                {"u": code, "p": plan},
            ).scalar()
            conn.exec_driver_sql(
                "INSERT INTO user_accountcode (accountcode, user_id) VALUES (%(c)s, %(u)s)", {"c": code, "u": user_id}
            )
    print(
        f"rate decks           {len(prefixes):,} prefixes per deck, {db.scalar('SELECT count(*) FROM rate'):,} "
        "rates in all"
    )


def _backend_cpu(pid: int) -> float:
    """CPU seconds used so far by a local PostgreSQL backend (0 when /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def import_with_rating_timed(path) -> dict:
    """An in-process import into emptied tables, with the PostgreSQL CPU seconds of whole batches and of
    ``rate_staged_calls`` in them (on a shared machine the CPU seconds are the work's own cost; the wall
    clock is not), and the wall seconds of rating summed over the two workers."""
    from data.core import db
    from data.ingest import pipeline
    from data.rating import rater

    with db.transaction() as conn:
        conn.exec_driver_sql("TRUNCATE cdr, cdr_call_key, import_batch CASCADE")
    spent = {"rating_wall": 0.0, "rating_cpu": 0.0, "batch_cpu": 0.0}
    rate_staged_calls, store_once = rater.rate_staged_calls, pipeline._store_once

    def timed_rating(cur, table):
        pid = cur.connection.get_backend_pid()
        started, cpu = time.perf_counter(), _backend_cpu(pid)
        rate_staged_calls(cur, table)
        spent["rating_wall"] += time.perf_counter() - started
        spent["rating_cpu"] += _backend_cpu(pid) - cpu

    def timed_batch(conn, *args, **kwargs):
        cpu = _backend_cpu(conn.get_backend_pid())
        try:
            return store_once(conn, *args, **kwargs)
        finally:
            spent["batch_cpu"] += _backend_cpu(conn.get_backend_pid()) - cpu

    pipeline.rating.rate_staged_calls, pipeline._store_once = timed_rating, timed_batch
    try:
        summary = pipeline.import_file(path)
    finally:
        pipeline.rating.rate_staged_calls, pipeline._store_once = rate_staged_calls, store_once
    return {"rate": summary.rate, **spent}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-plans", action="store_true", help="the same without any plan (for comparison)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"cdr-stats-{args.rows}.csv"
    if not path.exists():
        generate(path, args.rows)
    bench_database("rating")  # its own server (var/bench-rating): never the ingest benchmark's
    load_before = os.getloadavg()[0]
    fresh_database()
    if not args.no_plans:
        configure_rating(random.Random(5))
    measured = raw_copy_rate(path, args.rows)  # (raw COPY, store floor) or the raw COPY alone
    copy_rate = measured[0] if isinstance(measured, tuple) else measured
    rate, last_line, wall, rss = cli_import(path)
    load_after = os.getloadavg()[0]
    from data.core import db
    from data.rating.rater import RatingStatus

    print(f"rows                 {args.rows:,}")
    print(f"raw COPY             {copy_rate:,.0f} rows/s")
    print(f"import-cdr, rated    {rate:,.0f} rows/s ({wall:.1f} s wall, with the command's start)")
    print(f"ratio                {rate / copy_rate:.2f}")
    print(f"summary              {last_line}")
    statuses = db.rows("SELECT rating_status, count(*) AS calls FROM cdr GROUP BY 1 ORDER BY 1")
    print(
        "rating statuses      "
        + ", ".join(
            f"{RatingStatus(r['rating_status']).label if r['rating_status'] else 'none'}: {r['calls']:,}"
            for r in statuses
        )
    )
    print(f"load average         {load_before:.1f} before, {load_after:.1f} after ({os.cpu_count()} cores)")
    timed = import_with_rating_timed(path)
    print(
        f"in-process import    {timed['rate']:,.0f} rows/s; PostgreSQL CPU of the batches "
        f"{timed['batch_cpu']:.1f} s, "
        f"of which rate_staged_calls {timed['rating_cpu']:.1f} s ({timed['rating_cpu'] * 1e6 / args.rows:.1f} µs "
        f"per call, {timed['rating_cpu'] / max(timed['batch_cpu'], 1e-9):.0%}); rating wall "
        f"{timed['rating_wall']:.1f} s over the two workers"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
