"""Ingest benchmark: the raw COPY of a CDR-Stats CSV (the machine's limit) against ``flask import-cdr``.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--without-hooks] [--profile]

1. Generates (once, cached under bench/out/) a CDR-Stats CSV: 4 switches, 200 accountcodes, about 60
   destination countries with real number plans, 30 days, answer rates and causes like real traffic.
2. COPYs it as it is into a bare table with cdr's columns and types, no index: the physical limit. Then
   inserts those rows straight into cdr and cdr_call_key (their indexes, no checks): the schema's floor.
3. Imports it with ``flask --app app import-cdr`` in a fresh database: COPY into the stage, set-based
   mediation, dedup, rating and rollups, one transaction per batch.
4. Prints both rates, their ratio, the import's peak RSS, the rows it wrote per call in each table that
   grows with traffic, and the machine's load (the machine is shared).

``--profile`` then imports the same file again, in a fresh database, with an import profile (``PROFILE``:
every column by header name, a strftime date pattern, an RSR regexp on the destination, a map of the
cause column to Q.850) and prints its rate against the built-in ``cdr-stats`` format's of the same run.

``--without-hooks`` also imports the file in-process with the rating and rollup hooks replaced by no-ops,
to show the pipeline's own share of the time.
Uses its own embedded server (var/bench-ingest), or a database it creates next to DATABASE_URL's.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, bench_database

OUT = ROOT / "bench" / "out"
SWITCHES = ("10.20.0.1", "10.20.0.2", "10.20.0.3", "10.20.0.4")
CDR_COLUMNS_SQL = """
    switch text, cdr_source_type smallint, callid text, caller_id_number text, caller_id_name text,
    destination_number text, dialcode text, state text, channel text, starting_date timestamptz, duration integer,
    billsec integer, progresssec integer, answersec integer, waitsec integer, hangup_cause_id integer,
    hangup_cause text, direction smallint, country_code text, accountcode text, buy_rate numeric(14, 5),
    buy_cost numeric(14, 5), sell_rate numeric(14, 5), sell_cost numeric(14, 5), extradata jsonb"""


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """A realistic CDR-Stats CSV of ``rows`` calls over 30 days."""
    from datetime import datetime, timedelta

    from data.demo.demo_data import DESTINATIONS, FAILURE_CAUSES, HOURLY_PROFILE, _number_pool
    from data.ingest.fields import CDR_STATS_FIELDS

    rng = random.Random(seed)
    regions = list(DESTINATIONS)
    pools = {r: _number_pool(r, rng, 200) for r in regions}
    region_weights = [DESTINATIONS[r] for r in regions]
    accountcodes = [f"cust{n:03d}" for n in range(200)]
    causes = [c for c, _ in FAILURE_CAUSES]
    cause_weights = [w for _, w in FAILURE_CAUSES]
    start = datetime(2026, 1, 1)
    # Draw in blocks: random.choices with k is far faster than one call per row.
    block = 50_000
    with open(path, "w") as out:
        out.write(",".join(CDR_STATS_FIELDS) + "\n")
        for first in range(0, rows, block):
            k = min(block, rows - first)
            days = rng.choices(range(30), k=k)
            hours = rng.choices(range(24), weights=HOURLY_PROFILE, k=k)
            dests = rng.choices(regions, weights=region_weights, k=k)
            fails = rng.choices(causes, weights=cause_weights, k=k)
            lines = []
            for i in range(k):
                n = first + i
                t = start + timedelta(days=days[i], hours=hours[i], seconds=rng.randrange(3600))
                answered = rng.random() < 0.58
                ring = rng.randint(2, 30)
                billsec = int(rng.lognormvariate(4.3, 1.1)) + 1 if answered else 0
                lines.append(
                    f"{SWITCHES[n % 4]},1,bench-{seed}-{n:09d},{2070000000 + n % 5000},Caller,"
                    f"+{rng.choice(pools[dests[i]])},,,,{t:%Y-%m-%d %H:%M:%S},{ring + billsec},{billsec},,,,"
                    f"{16 if answered else fails[i]},,2,,{accountcodes[n % 200]},,,,,{{}}\n"
                )
            out.writelines(lines)


def fresh_database() -> str:
    """An empty, migrated database for this run; returns its URL."""
    import psycopg2
    from sqlalchemy.engine import make_url

    given = os.environ.get("DATABASE_URL")
    url = make_url(bench_database("ingest"))
    name = f"{url.database}_bench_ingest" if given else url.database
    cargs = {
        "dbname": "postgres",
        "user": url.username,
        "host": url.host or url.query.get("host"),
        "port": url.port,
        "password": url.password,
    }
    conn = psycopg2.connect(**{k: v for k, v in cargs.items() if v})
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    bench_url = url.set(database=name).render_as_string(hide_password=False)
    os.environ["DATABASE_URL"] = bench_url
    from data.core import migrate

    migrate.upgrade()
    return bench_url


def raw_copy_rate(path: Path, rows: int) -> tuple[float, float]:
    """Rows/s of the raw COPY, and of storing the same rows into the real cdr and cdr_call_key tables
    (their indexes, no checks): what the schema alone costs."""
    from data.core import db

    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS bench_raw_copy; CREATE TABLE bench_raw_copy ({CDR_COLUMNS_SQL})")
        conn.commit()
        started = time.perf_counter()
        with open(path, "rb") as f:
            cur.copy_expert("COPY bench_raw_copy FROM STDIN (FORMAT csv, HEADER true)", f, size=1 << 20)
        conn.commit()
        copy_seconds = time.perf_counter() - started
        cur.execute("INSERT INTO switch (name, ip) VALUES ('bench-floor', 'bench-floor') RETURNING id")
        switch_id = cur.fetchone()[0]
        cur.execute("SELECT ensure_cdr_partitions(min(starting_date), max(starting_date)) FROM bench_raw_copy")
        conn.commit()
        started = time.perf_counter()
        cur.execute(
            """INSERT INTO cdr_call_key (switch_id, callid, starting_date)
                       SELECT %s, callid, starting_date FROM bench_raw_copy ORDER BY callid COLLATE "C"
                       ON CONFLICT DO NOTHING""",
            (switch_id,),
        )
        cur.execute(
            """INSERT INTO cdr (switch_id, cdr_source_type, callid, caller_id_number, caller_id_name,
                           destination_number, starting_date, duration, billsec, hangup_cause_id, direction,
                           accountcode, extradata)
                       SELECT %s, cdr_source_type, callid, caller_id_number, caller_id_name, destination_number,
                           starting_date, duration, billsec, hangup_cause_id, direction, accountcode, extradata
                       FROM bench_raw_copy ORDER BY starting_date""",
            (switch_id,),
        )
        conn.commit()
        store_seconds = time.perf_counter() - started
        cur.execute("DROP TABLE bench_raw_copy; TRUNCATE cdr, cdr_call_key; DELETE FROM switch")
    return rows / copy_seconds, rows / store_seconds


PROFILE = {
    "name": "bench-profile",
    "fields": {
        "switch": "switch",
        "cdr_source_type": "cdr_source_type",
        "callid": "callid",
        "caller_id_number": "caller_id_number",
        "caller_id_name": "caller_id_name",
        "destination_number": r"~destination_number:s/^\+(\d+)$/+${1}/",
        "starting_date": "starting_date",
        "duration": "duration",
        "billsec": "billsec",
        "hangup_cause_id": "hangup_cause_id",
        "direction": "direction",
        "accountcode": "accountcode",
    },
    "dates": "%Y-%m-%d %H:%M:%S",
    "cause_map": {
        "field": "hangup_cause_id",
        "values": {str(c): c for c in (1, 16, 17, 19, 21, 28, 34, 41)},
    },
    "extradata": "none",
}


def cli_import(path: Path, *options: str) -> tuple[float, str, float, float]:
    """(rows/s as the command reports it, its last line, wall seconds, peak RSS in MB) of import-cdr."""
    env = {**os.environ, "SCHEDULER": "off"}
    started = time.perf_counter()
    done = subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "app", "import-cdr", str(path), *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"import-cdr failed:\n{done.stderr[-3000:]}")
    lines = done.stdout.strip().splitlines()
    rate = float(re.search(r"\(([\d,]+) rows/s\)", done.stdout).group(1).replace(",", ""))
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return rate, lines[-1], wall, rss


def rows_written_per_call(calls: int) -> str:
    """Rows the import left in each table that grows with traffic, per call stored: what it wrote."""
    from data.core import db
    from data.core.rollups import KEYS

    tables = ("cdr", "cdr_call_key", *KEYS)
    counts = {t: db.scalar(f"SELECT count(*) FROM {t}") for t in tables}
    per_call = ", ".join(f"{t} {n / calls:.2f}" for t, n in counts.items())
    return f"{sum(counts.values()) / calls:.2f} ({per_call})"


def profile_import(path: Path, format_rate: float) -> None:
    """The same file with ``PROFILE``, in a fresh database: its rate against the built-in format's."""
    from data.ingest.profile_spec import profile_to_yaml

    profile_file = OUT / "bench-profile.yaml"
    profile_file.write_text(profile_to_yaml(PROFILE))
    fresh_database()
    load_before = os.getloadavg()[0]
    rate, last_line, wall, _rss = cli_import(path, "--profile", str(profile_file))
    load_after = os.getloadavg()[0]
    print(f"import-cdr --profile {rate:,.0f} rows/s ({wall:.1f} s wall) · {last_line}")
    print(f"profile / cdr-stats  {rate / format_rate:.2f} (goal >= 0.8)")
    print(f"load average         {load_before:.1f} before, {load_after:.1f} after the profile import")


def import_without_hooks(path: Path) -> float:
    from data.core import db, rollups
    from data.ingest import pipeline
    from data.rating import rater

    with db.transaction() as conn:
        conn.exec_driver_sql("TRUNCATE cdr, cdr_call_key, import_batch CASCADE")
    rater.rate_staged_calls = lambda cur, table: None
    rollups.add_to_rollups = lambda cur, rows_sql, params=None: None
    summary = pipeline.import_file(path)
    return summary.rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--without-hooks", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also import the file with an import profile")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"cdr-stats-{args.rows}.csv"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s")
    load_before = os.getloadavg()[0]
    fresh_database()
    copy_rate, store_rate = raw_copy_rate(path, args.rows)
    rate, last_line, wall, rss = cli_import(path)
    load_after = os.getloadavg()[0]
    print(f"rows                 {args.rows:,} ({path.stat().st_size / 1e6:.0f} MB)")
    print(f"raw COPY             {copy_rate:,.0f} rows/s")
    print(f"store floor          {store_rate:,.0f} rows/s (the rows straight into cdr + cdr_call_key, no checks)")
    print(f"import-cdr           {rate:,.0f} rows/s ({wall:.1f} s wall, with the command's start)")
    print(f"ratio                {rate / copy_rate:.2f}")
    print(f"import peak RSS      {rss:.0f} MB")
    print(f"summary              {last_line}")
    print(f"rows written per call {rows_written_per_call(args.rows)}")
    print(f"load average         {load_before:.1f} before, {load_after:.1f} after ({os.cpu_count()} cores)")
    if args.profile:
        profile_import(path, rate)
    if args.without_hooks:
        print(f"without rating/rollup hooks  {import_without_hooks(path):,.0f} rows/s (in-process)")


if __name__ == "__main__":
    main()
