"""Shared pieces of the benchmark scripts: a database, peak RSS, percentiles, a logged-in HTTP client."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_database(name: str) -> str:
    """DATABASE_URL if set, else an embedded server of the benchmark's own under var/bench-NAME."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from data.core.embedded_db import start_embedded_postgres

    url = start_embedded_postgres(ROOT / "var" / f"bench-{name}", cleanup_mode="stop")
    os.environ["DATABASE_URL"] = url
    return url


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def summary_ms(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (
        f"p50 {statistics.median(ms):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms  max {max(ms):7.1f} ms  (n={len(ms)})"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(workers: int = 2, threads: int = 4) -> tuple[subprocess.Popen, str]:
    """``gunicorn 'app:create_app()'`` on a free loopback port, scheduler off."""
    port = free_port()
    env = {**os.environ, "SCHEDULER": "off", "ADMIN_PASSWORD": os.environ.get("ADMIN_PASSWORD", "bench-admin")}
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/login", timeout=1)
            return proc, base
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


class Session:
    """A logged-in browser-like HTTP session (cookies, CSRF, Dash callback calls)."""

    def __init__(self, base: str, username: str, password: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        html = self.opener.open(base + "/login").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        data = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
        self.opener.open(base + "/login", data=data)
        self.opener.open(base + "/_dash-layout").read()

    def get(self, path: str) -> bytes:
        return self.opener.open(self.base + path).read()

    def callback(self, body: dict) -> dict:
        request = urllib.request.Request(
            self.base + "/_dash-update-component",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        return json.loads(self.opener.open(request).read())
