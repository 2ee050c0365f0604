"""Load test: concurrent logged-in users on the dashboard, overview and CDR search callbacks.

    .venv/bin/python bench/load.py [--users 50] [--seconds 60] [--workers 2] [--threads 8] [--url URL]
                                   [--live-dashboards 50]

Uses the reports benchmark's database (``var/bench-reports``, 10M calls: ``bench/reports.py`` loads it;
``--prepare`` loads it here if it is not there yet) and serves it with gunicorn as ``make serve`` does
(``--workers``/``--threads``: 2 workers (one per core here) and 8 threads by default, ``--reuse-port``, report cache
5 s, scheduler off), on loopback. ``--url`` aims at a server already running.

Each simulated user logs in with its own session, then sends callbacks back to back (no think time)
for ``--seconds``: the dashboard's refresh, the overview (last 7 or 30 days, per switch), the CDR
search's first block of the grid and its "Report by day" chart. Users differ in their filters (a
switch, an accountcode, or none; the range), so they do not all ask the same question. The first 5
seconds are a warm-up, not counted. Prints requests/s, p50/p95/p99 latency and errors, per callback
and overall.

``--live-dashboards N`` adds N open dashboards beside the users: each asks the dashboard's 2-second question
("calls in progress, and has the data version moved?", ``check_data_version``) every 2 s, as a browser
tab left open does; their requests are counted apart, so the users' throughput with and without them
compares the cost of the live updates.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import statistics
import sys
import threading
import time
import urllib.parse
from datetime import date, timedelta

from common import ROOT, bench_database, percentile, start_server

WARMUP_SECONDS = 5
PASSWORD = "bench-admin"


class User:
    """One browser: a session cookie and a keep-alive connection."""

    def __init__(self, base: str, username: str, password: str):
        url = urllib.parse.urlparse(base)
        self.host, self.port = url.hostname, url.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.cookies: dict[str, str] = {}
        html = self._request("GET", "/login")[1].decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        body = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token})
        status, _ = self._request("POST", "/login", body.encode(), "application/x-www-form-urlencoded")
        if status != 302:
            raise RuntimeError(f"login failed: {status}")
        self._request("GET", "/_dash-layout")

    def _request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if content_type:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def callback(self, body: dict) -> int:
        status, _ = self._request("POST", "/_dash-update-component", json.dumps(body).encode(), "application/json")
        return status


def scenarios(callbacks: dict, rng: random.Random) -> list[tuple[str, dict]]:
    """One user's callbacks, with that user's filters."""
    from tests.dash_client import callback_body

    today = date.today()
    days = rng.choice([7, 7, 30])
    first = (today - timedelta(days=days - 1)).isoformat()
    switch = rng.choice([None, None, [1], [2], [3]])
    code = None if switch else rng.choice([None, None, [f"acct{rng.randint(1, 20)}"]])
    query = {"start": first, "end": today.isoformat()}
    if switch:  # the search's own filters: none or a switch (an accountcode filter scans cdr; see README)
        query["switch"] = str(switch[0])
    qs = "?" + urllib.parse.urlencode(query)
    filters = [first, today.isoformat(), None, switch, None, code]
    grid_request = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}}
    return [
        ("dashboard", callback_body(callbacks, "refresh_dashboard", [switch, None, code, rng.randint(0, 99)])),
        ("overview", callback_body(callbacks, "refresh_overview", [*filters, "switch"])),
        ("cdr search grid", callback_body(callbacks, "load_block", [grid_request], [qs, None, None])),
        ("cdr search by day", callback_body(callbacks, "refresh_by_day", [qs])),
    ]


LIVE_PERIOD_SECONDS = 2.0  # pages/dashboard.py's interval
LIVE = "(live dashboards)"


class Window:
    """The measured window and what was measured in it (shared by the client threads)."""

    def __init__(self, seconds: float):
        self.start = time.perf_counter() + 0.5
        self.measure_from = self.start + WARMUP_SECONDS
        self.stop = self.measure_from + seconds
        self.results: dict[str, list] = {}
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()

    def wait_for(self, instant: float) -> None:
        while time.perf_counter() < instant:
            time.sleep(0.01)

    def send(self, name: str, session: User, body: dict) -> float | None:
        """One callback, recorded if inside the window; None once the window is over."""
        t0 = time.perf_counter()
        if t0 >= self.stop:
            return None
        try:
            status = session.callback(body)
        except Exception:
            status = -1
        t1 = time.perf_counter()
        if t0 >= self.measure_from and t1 <= self.stop:
            with self.lock:
                self.results.setdefault(name, []).append(t1 - t0)
                if status != 200:
                    self.errors[name] = self.errors.get(name, 0) + 1
        return t0


def user_loop(window: Window, callbacks: dict, index: int, session: User) -> None:
    rng = random.Random(index)
    plan = scenarios(callbacks, rng)
    window.wait_for(window.start)
    i = rng.randrange(len(plan))
    while True:
        name, body = plan[i % len(plan)]
        if window.send(name, session, body) is None:
            return
        i += 1


def watcher_loop(window: Window, callbacks: dict, index: int, count: int, session: User) -> None:
    """An open dashboard: the drawn version is the current one (nothing new arrives during the bench)."""
    from tests.dash_client import callback_body

    body = callback_body(callbacks, "check_data_version", [index], [None])
    window.wait_for(window.start + LIVE_PERIOD_SECONDS * index / max(count, 1))  # tabs were not opened at once
    while (sent := window.send(LIVE, session, body)) is not None:
        time.sleep(max(0.0, LIVE_PERIOD_SECONDS - (time.perf_counter() - sent)))


def run(
    base: str, users: int, seconds: float, callbacks: dict, server_pid: int | None = None, live_dashboards: int = 0
) -> dict:
    password = os.environ.get("ADMIN_PASSWORD", PASSWORD)
    sessions = [User(base, "admin", password) for _ in range(users)]
    watchers = [User(base, "admin", password) for _ in range(live_dashboards)]
    window = Window(seconds)
    threads = [
        threading.Thread(target=user_loop, args=(window, callbacks, i, s), daemon=True) for i, s in enumerate(sessions)
    ]
    threads += [
        threading.Thread(target=watcher_loop, args=(window, callbacks, i, live_dashboards, s), daemon=True)
        for i, s in enumerate(watchers)
    ]
    for t in threads:
        t.start()
    window.wait_for(window.measure_from)
    cpu_before = {**cpu_snapshot(server_pid), "client": time.process_time()}
    load_before = os.getloadavg()[0]
    window.wait_for(window.stop)
    cpu_after = {**cpu_snapshot(server_pid), "client": time.process_time()}
    load_after = os.getloadavg()[0]
    for t in threads:
        t.join()
    cpu = {k: cpu_after[k] - cpu_before[k] for k in cpu_before} if server_pid else None
    return {
        "results": window.results,
        "errors": window.errors,
        "seconds": seconds,
        "cpu": cpu,
        "load": (load_before, load_after),
    }


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def _tree_cpu(root: int, tree: dict[int, list[int]]) -> float:
    """CPU seconds (user + system) of ``root`` and its descendants now alive (Linux /proc)."""
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
        todo += tree.get(pid, [])
    return total


def cpu_snapshot(server_pid: int | None) -> dict[str, float]:
    """CPU seconds used so far by the gunicorn processes and by the database server's processes."""
    tree = _children()
    postmaster = None
    for pid in tree.get(1, []) + [p for kids in tree.values() for p in kids]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ")
        except OSError:
            continue
        if b"bin/postgres" in cmd and b"bench-reports" in cmd:
            postmaster = pid
            break
    return {
        "web": _tree_cpu(server_pid, tree) if server_pid else 0.0,
        "db": _tree_cpu(postmaster, tree) if postmaster else 0.0,
    }


def report(outcome: dict) -> None:
    seconds = outcome["seconds"]
    everything = [s for name, samples in outcome["results"].items() if not name.startswith("(") for s in samples]

    def line(name: str, samples: list[float], errors: int) -> str:
        ms = [s * 1000 for s in samples] or [0.0]
        return (
            f"{name:20s} {len(samples) / seconds:8.1f}/s  p50 {statistics.median(ms):7.1f} ms  "
            f"p95 {percentile(ms, 95):7.1f} ms  p99 {percentile(ms, 99):7.1f} ms  errors {errors}"
        )

    for name, samples in sorted(outcome["results"].items()):
        print(line(name, samples, outcome["errors"].get(name, 0)))
    print(line("ALL (users)", everything, sum(n for k, n in outcome["errors"].items() if not k.startswith("("))))
    cpu = outcome.get("cpu")
    if cpu and everything:
        per = {k: v / len(everything) * 1000 for k, v in cpu.items()}
        print(
            f"CPU per callback: web {per['web']:.1f} ms, PostgreSQL {per['db']:.1f} ms, this load generator "
            f"{per['client']:.1f} ms -> at most {2000 / max(per['web'] + per['db'], 0.001):.0f} callbacks/s on 2 "
            "idle cores (server side only)"
        )
    before, after = outcome["load"]
    print(f"load average (1 min) at the start / end of the measured window: {before:.1f} / {after:.1f}")


def prepare(rows: int) -> None:
    """The reports benchmark's 10M calls, loaded here if they are not there yet."""
    from data.core import db, migrate
    from data.core.rollups import rebuild_rollups

    migrate.upgrade()
    with db.engine().connect() as conn:
        have = conn.exec_driver_sql("SELECT count(*) FROM cdr").scalar()
        if have >= rows:
            print(f"cdr rows: {have:,}")
            return
        from reports import generate_calls

        print(f"loading {rows - have:,} calls ...", flush=True)
        first = (conn.exec_driver_sql("SELECT COALESCE(max(id), 0) FROM cdr").scalar() or 0) + 1
        generate_calls(conn, rows - have, first)
        t0 = time.perf_counter()
        rebuild_rollups(date.today() - timedelta(days=31), date.today() + timedelta(days=1))
        print(f"rollups rebuilt in {time.perf_counter() - t0:.0f} s", flush=True)
        conn.commit()
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--url", help="a running server (admin password in ADMIN_PASSWORD)")
    parser.add_argument("--prepare", action="store_true", help="load the calls if they are missing, and stop")
    parser.add_argument("--live-dashboards", type=int, default=0, help="open dashboards polling every 2 s")
    args = parser.parse_args()
    os.environ.setdefault("ADMIN_PASSWORD", PASSWORD)
    os.environ.setdefault("REPORT_CACHE_SECONDS", "5")  # as make serve
    os.environ.setdefault("GUNICORN_CMD_ARGS", "--reuse-port")  # as make serve: connections spread over workers
    os.environ["SCHEDULER"] = "off"
    bench_database("reports")
    if args.prepare:
        prepare(args.rows)
        return
    from app import create_app

    app = create_app()
    app.test_client().get("/login")  # Dash merges its callbacks on the first request
    callbacks = app.extensions["dash_app"].callback_map
    server = None
    base = args.url
    if not base:
        server, base = start_server(workers=args.workers, threads=args.threads)
    try:
        print(
            f"{args.users} users, {args.seconds:.0f} s (after {WARMUP_SECONDS} s warm-up), {base}, "
            f"{args.workers} workers x {args.threads} threads, REPORT_CACHE_SECONDS="
            f"{os.environ.get('REPORT_CACHE_SECONDS', 'default')}",
            flush=True,
        )
        print(f"{args.live_dashboards} live dashboards asking every {LIVE_PERIOD_SECONDS:.0f} s", flush=True)
        report(run(base, args.users, args.seconds, callbacks, server.pid if server else None, args.live_dashboards))
    finally:
        if server is not None:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "bench"))
    main()
