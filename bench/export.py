"""Export benchmark: 1,000,000 CDRs exported with the default template (cgr-csv) and with an FWV template.

    .venv/bin/python bench/export.py [--rows 1000000] [--python-path]

It starts a throwaway embedded PostgreSQL (or uses BENCH_DATABASE_URL, whose data it does not remove),
loads the CDRs with COPY straight into ``cdr`` (no ingest pipeline), then runs each export in a fresh
process and prints, per template: rows/s (wall clock), the CPU seconds of the exporting process and of
its PostgreSQL backend (what the machine's other load cannot inflate much), and the exporter's peak RSS.
Both templates are rendered by PostgreSQL (sqlrender.py; the FWV template's regexp field in Python);
``--python-path`` also runs both through the Python writer alone, for comparison.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# A fixed-width profile in CGRateS's JSON form (its cdre section): header, content and trailer fields.
FWV_PROFILE = json.loads((ROOT / "bench" / "fwv_profile.json").read_text())


def _environment(workdir: Path) -> None:
    os.environ.setdefault("DIALSTAT_VAR_DIR", str(workdir / "var"))
    os.environ.setdefault("EXPORT_DIR", str(workdir / "export"))
    os.environ.setdefault("SCHEDULER", "off")
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]


def load_cdrs(rows: int) -> float:
    """COPY ``rows`` answered CDRs into cdr (three switches, ten customers with tenants); returns seconds."""
    from data.core import db

    rng = random.Random(1)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO switch (name, ip, source_type) VALUES ('bench-a', '192.168.1.1', 3), "
            "('bench-b', '192.168.1.2', 4), ('bench-c', '10.0.0.3', 1) RETURNING id"
        )
        switches = [r[0] for r in cur.fetchall()]
        customers = []
        for number in range(10):
            cur.execute(
                "INSERT INTO app_user (username, password_hash, role, tenant) VALUES (%s, 'x', 'customer', %s) "
                "RETURNING id",
                (f"bench-customer-{number}", None if number == 0 else f"tenant{number}.org"),
            )
            customers.append((f"10{number:02d}", cur.fetchone()[0]))
        cur.execute("SELECT ensure_cdr_partitions(%s, %s)", (start, start + timedelta(days=60)))
    began = time.perf_counter()
    chunk = 100_000
    for first in range(0, rows, chunk):
        buffer = io.StringIO()
        for number in range(first, min(first + chunk, rows)):
            setup = start + timedelta(seconds=number * 5 + rng.randrange(5))
            billsec = rng.randrange(1, 1800)
            accountcode, user_id = customers[number % 10]
            buffer.write(
                f"{switches[number % 3]}\t{1 + number % 5}\tb{number:x}-{rng.getrandbits(48):x}@sip\t"
                f"34{rng.randrange(600000000, 999999999)}\t{setup.isoformat()}\t"
                f"{(setup + timedelta(seconds=rng.randrange(1, 20))).isoformat()}\t{billsec + 5}\t{billsec}\t"
                f"{1 + number % 2}\t{accountcode}\t{user_id}\t{rng.randrange(0, 500000) / 100000:.5f}\n"
            )
        buffer.seek(0)
        with db.raw_connection() as conn, conn.cursor() as cur:
            cur.copy_expert(
                "COPY cdr (switch_id, cdr_source_type, callid, destination_number, starting_date, "
                "answered_date, duration, billsec, direction, accountcode, user_id, sell_cost) "
                "FROM STDIN",
                buffer,
            )
    loaded = time.perf_counter() - began
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute("ANALYZE cdr")
    return loaded


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux keeps that across exec, so a child
    would report the parent's peak (the loader's, about 117 MB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(template_name: str, python_path: bool) -> None:
    """One export, in its own process so that its peak RSS is its own."""
    from data.core import db
    from data.export import cdr_query, exporter, library, load_cdre_profile
    from data.export.sqlrender import sql_rendering

    template = (
        load_cdre_profile(FWV_PROFILE, name="fwv") if template_name == "fwv" else library.get_template(template_name)
    )
    run = exporter.adhoc_run(template, cdr_query.ExportFilter(), export_id="bench", keep_exported_cgrids=False)
    run.sql_rendering = not python_path
    sql_rendered = not python_path and sql_rendering(template, template.value_format(), lambda _field: "") is not None
    with db.raw_connection() as conn:
        conn.rollback()
        backend = conn.get_backend_pid()
    began_cpu, backend_cpu, began = time.process_time(), _cpu_seconds(backend), time.perf_counter()
    result = exporter.export_to_file(run, exporter.Actor("cli", "bench"))
    wall = time.perf_counter() - began
    with db.raw_connection() as conn:
        same_backend = conn.get_backend_pid() == backend
    print(
        json.dumps(
            {
                "template": template_name + (" (Python writer)" if python_path else ""),
                "rows": result.summary.total_records,
                "seconds": wall,
                "rows_per_second": result.summary.total_records / wall,
                "python_cpu": time.process_time() - began_cpu,
                "postgres_cpu": _cpu_seconds(backend) - backend_cpu if same_backend else None,
                "peak_rss_mb": _peak_rss_mb(),
                "bytes": result.bytes,
                "sql_rendered": sql_rendered,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--python-path", action="store_true", help="also run both with the Python writer alone")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-python", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.child_python)
        return
    with tempfile.TemporaryDirectory(prefix="dialstat-bench-export-") as workdir:
        _environment(Path(workdir))
        if "DATABASE_URL" not in os.environ:
            from data.core.embedded_db import start_embedded_postgres

            os.environ["DATABASE_URL"] = start_embedded_postgres(Path(workdir) / "pgdata", cleanup_mode="delete")
        from data.core import migrate

        migrate.upgrade()
        print(f"loading {args.rows:,} CDRs with COPY ...", flush=True)
        print(f"loaded in {load_cdrs(args.rows):.1f} s", flush=True)
        runs = [("cgr-csv", False), ("fwv", False)] + ([("cgr-csv", True), ("fwv", True)] if args.python_path else [])
        print(
            f"{'template':<28}{'rows':>10}{'seconds':>9}{'rows/s':>10}{'python cpu':>12}{'postgres cpu':>14}"
            f"{'peak RSS':>10}"
        )
        for name, python_path in runs:
            command = [sys.executable, __file__, "--child", name] + (["--child-python"] if python_path else [])
            output = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ).stdout
            r = json.loads(output.strip().splitlines()[-1])
            pg = f"{r['postgres_cpu']:.1f} s" if r["postgres_cpu"] is not None else "?"
            template = r["template"] + (" (SQL)" if r["sql_rendered"] else "")
            print(
                f"{template:<28}{r['rows']:>10,}{r['seconds']:>9.1f}{r['rows_per_second']:>10,.0f}"
                f"{r['python_cpu']:>10.1f} s{pg:>14}{r['peak_rss_mb']:>7.0f} MB",
                flush=True,
            )
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
