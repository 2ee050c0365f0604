"""Per-request cost of the login: logged-in users asking for the lightest authenticated answer, back to back.

    .venv/bin/python bench/sessions.py [--users 16] [--seconds 20] [--workers 2] [--threads 8]

Every request loads its user from its session (server-side since issue #20: one row read, kept a second per
process with the report cache on, ``last_seen_at`` written at most once a minute). This serves a small database
of its own (``var/bench-sessions``) with gunicorn as ``make serve`` does (report cache 5 s), logs ``--users``
users in (each its own session), and has them GET ``/api/v1/`` (the API index: authentication, the access
guard, a few URLs as JSON, nothing else) for ``--seconds``; the first 3 seconds are a warm-up. Prints
requests/s and p50/p95/p99 latency. Compare two checkouts by running it in each.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from common import Session, bench_database, percentile, start_server

WARMUP_SECONDS = 3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    bench_database("sessions")
    os.environ.setdefault("REPORT_CACHE_SECONDS", "5")
    os.environ.setdefault("SECRET_KEY", "bench-sessions")
    server, base = start_server(args.workers, args.threads)
    try:
        users = [Session(base, "admin", "bench-admin") for _ in range(args.users)]
        latencies: list[float] = []
        errors = [0]
        start = time.monotonic()
        counting_from, stop = start + WARMUP_SECONDS, start + WARMUP_SECONDS + args.seconds

        def run(user: Session) -> None:
            while (now := time.monotonic()) < stop:
                try:
                    user.get("/api/v1/")
                except OSError:
                    errors[0] += 1
                    continue
                if now >= counting_from:
                    latencies.append(time.monotonic() - now)

        threads = [threading.Thread(target=run, args=(u,)) for u in users]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ms = [x * 1000 for x in latencies]
        print(
            f"{args.users} users, {args.workers} workers x {args.threads} threads, {args.seconds:.0f} s: "
            f"{len(ms) / args.seconds:.0f} requests/s, p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} "
            f"ms, p99 {percentile(ms, 99):.1f} ms, errors {errors[0]}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
