"""What a call costs in the database, measured on the reports benchmark's store, and what that makes of
100 million calls a day on a Citus cluster of 4, 16 and 64 workers (docs/scaling.md, *The numbers*).

    .venv/bin/python bench/sizes.py [--calls-per-day 100000000] [--wal-sample 100000]

Reads the store `bench/reports.py` loaded (var/bench-reports, or DATABASE_URL): rows and bytes of `cdr` (heap
and TOAST, each index), of each rollup level and of the concurrency table, per call and per day. The dedup key
table (`cdr_call_key`) is not filled by the benchmark's loader: it is measured on a temporary copy of the keys
of 1,000,000 calls. WAL per call: ``--wal-sample`` calls of the last hour copied into `cdr`, their keys claimed and
added to every rollup as an import does, the WAL position read before and after, then rolled back (the store is
left as it was).
"""

from __future__ import annotations

import argparse
import os

from common import bench_database

ROLLUPS = (
    "cdr_rollup_minute",
    "cdr_rollup_minute_account",
    "cdr_rollup_hour",
    "cdr_rollup_hour_traffic",
    "cdr_rollup_hour_country",
    "cdr_rollup_hour_cause",
    "cdr_rollup_day",
    "concurrent_calls_minute",
)
KEY_SAMPLE = 1_000_000


def _size(cur, table: str) -> tuple[int, int, int]:
    """Rows (exact), heap + TOAST bytes, index bytes of a table or a partitioned table's partitions."""
    cur.execute(
        """SELECT sum(pg_table_size(relid))::bigint, sum(pg_indexes_size(relid))::bigint FROM (
               SELECT relid FROM pg_partition_tree(%(t)s::regclass) WHERE isleaf
               UNION SELECT oid FROM pg_class WHERE oid = %(t)s::regclass AND relkind = 'r') t""",
        {"t": table},
    )
    heap, indexes = cur.fetchone()
    cur.execute(f"SELECT count(*) FROM {table}")
    return cur.fetchone()[0], heap or 0, indexes or 0


def _indexes(cur) -> list[tuple[str, int]]:
    """Each index of cdr, summed over the partitions."""
    cur.execute(
        """SELECT i.relname, sum(pg_relation_size(t.relid))::bigint
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
           CROSS JOIN LATERAL pg_partition_tree(i.oid) t
           WHERE x.indrelid = 'cdr'::regclass GROUP BY 1 ORDER BY 2 DESC"""
    )
    return cur.fetchall()


def _keys(cur) -> tuple[int, int]:
    cur.execute(
        "CREATE TEMP TABLE key_sample AS SELECT switch_id, callid, starting_date FROM cdr LIMIT %s", (KEY_SAMPLE,)
    )
    cur.execute("ALTER TABLE key_sample ADD PRIMARY KEY (switch_id, callid)")
    cur.execute(
        "SELECT pg_table_size('key_sample'), pg_indexes_size('key_sample'), avg(length(callid)) FROM key_sample"
    )
    heap, index, callid = cur.fetchone()
    cur.execute("DROP TABLE key_sample")
    return heap / KEY_SAMPLE, index / KEY_SAMPLE, float(callid)


def _archive_per_call(cur) -> tuple[float, float]:
    """Bytes per call of an archive (data.ingest.archives: COPY CSV with a header, gzip level 6), on a sample."""
    import gzip
    import io

    raw = io.BytesIO()
    cur.copy_expert(f"COPY (SELECT * FROM cdr LIMIT {KEY_SAMPLE}) TO STDOUT WITH (FORMAT csv, HEADER)", raw)
    return raw.tell() / KEY_SAMPLE, len(gzip.compress(raw.getvalue(), compresslevel=6)) / KEY_SAMPLE


def _wal_per_call(cur, rows: int) -> float:
    from data.core.rollups import add_to_rollups

    cur.execute("BEGIN")
    cur.execute("CREATE TEMP TABLE new_calls (LIKE cdr INCLUDING DEFAULTS) ON COMMIT DROP")
    cur.execute("INSERT INTO new_calls SELECT * FROM cdr ORDER BY id DESC LIMIT %s", (rows,))
    cur.execute(
        "UPDATE new_calls SET id = id - (SELECT min(id) FROM new_calls) + (SELECT max(id) FROM cdr) + 1, "
        "callid = callid || '-wal', starting_date = now() - random() * interval '1 hour'"
    )
    cur.execute("SELECT pg_current_wal_insert_lsn()")
    before = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO cdr_call_key (switch_id, callid, starting_date) SELECT switch_id, callid, starting_date "
        "FROM new_calls ON CONFLICT DO NOTHING"
    )
    cur.execute("INSERT INTO cdr SELECT * FROM new_calls")
    add_to_rollups(cur, "SELECT * FROM new_calls")
    cur.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", (before,))
    wal = float(cur.fetchone()[0])
    cur.execute("ROLLBACK")
    return wal / rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls-per-day", type=int, default=100_000_000)
    parser.add_argument("--wal-sample", type=int, default=100_000)
    args = parser.parse_args()
    os.environ["SCHEDULER"] = "off"
    bench_database("reports")
    from data.core import db

    with db.raw_connection() as conn, conn.cursor() as cur:
        conn.autocommit = True
        calls, heap, index = _size(cur, "cdr")
        cur.execute("SELECT (max(starting_date) - min(starting_date)) FROM cdr")
        days = cur.fetchone()[0].total_seconds() / 86400
        print(
            f"cdr: {calls:,} calls over {days:.1f} days; heap+TOAST {heap / calls:.0f} B/call, "
            f"indexes {index / calls:.0f} B/call"
        )
        for name, size in _indexes(cur):
            print(f"  index {name:40s} {size / calls:6.1f} B/call  ({size / 2**30:.2f} GiB)")
        key_heap, key_index, callid = _keys(cur)
        print(
            f"cdr_call_key (sample of {KEY_SAMPLE:,}, callid {callid:.0f} chars): heap {key_heap:.0f} B/call, "
            f"primary key {key_index:.0f} B/call"
        )
        per_call = (heap + index) / calls + key_heap + key_index
        print(f"raw calls in all: {per_call:.0f} B/call")
        rollup_bytes_per_day = 0.0
        for table in ROLLUPS:
            rows, r_heap, r_index = _size(cur, table)
            column = {"cdr_rollup_day": "day", "concurrent_calls_minute": "minute"}.get(table, "bucket")
            cur.execute(f"SELECT count(DISTINCT date_trunc('day', {column})) FROM {table}")
            table_days = max(cur.fetchone()[0], 1)
            per_row = (r_heap + r_index) / rows if rows else 0
            rollup_bytes_per_day += (r_heap + r_index) / table_days
            print(
                f"{table:28s} {rows:>11,} rows over {table_days} days ({rows / table_days:>9,.0f}/day, "
                f"{rows / calls:.4f} per call), {per_row:.0f} B/row with indexes, "
                f"{(r_heap + r_index) / 2**20:,.0f} MiB"
            )
        csv_bytes, gz_bytes = _archive_per_call(cur)
        print(f"archive (sample of {KEY_SAMPLE:,}): CSV {csv_bytes:.0f} B/call, gzip {gz_bytes:.0f} B/call")
        wal = _wal_per_call(cur, args.wal_sample)
        print(f"WAL: {wal:.0f} B/call (import of {args.wal_sample:,} calls: keys, cdr, every rollup; rolled back)")
        conn.autocommit = False

    day = args.calls_per_day
    print(f"\n{day:,} calls a day:")
    print(
        f"  raw calls {day * per_call / 2**30:,.0f} GiB/day, {day * per_call * 30 / 2**40:,.1f} TiB/month; "
        f"WAL {day * wal / 2**30:,.0f} GiB/day ({day * wal / 86400 / 2**20:,.1f} MiB/s on average)"
    )
    print(
        f"  rollups at the benchmark's key mix: {rollup_bytes_per_day / 2**20:,.0f} MiB/day "
        "(they grow with keys, not calls)"
    )
    for workers in (4, 16, 64):
        print(
            f"  {workers:2d} workers: per shard {day / workers:>12,.0f} calls/day, "
            f"{day * per_call / workers / 2**30:6,.1f} GiB/day raw, "
            f"{day * per_call * 30 / workers / 2**40:5,.2f} TiB/month, "
            f"WAL {day * wal / workers / 86400 / 2**20:5,.2f} MiB/s"
        )


if __name__ == "__main__":
    main()
