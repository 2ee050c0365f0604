"""Helpers for the alarm, threat and webhook tests (no tests here): calls with cdr's extra columns,
stored with their rollups as an import does, and a real HTTP server on 127.0.0.1 for webhooks."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from data.core import db
from data.core.rollups import add_to_rollups
from tests.cdr_factory import call, ensure_switch

USES_DATABASE = False
_ids = itertools.count(1)
EXTRA = ("normalised_number", "sell_rate", "buy_rate", "import_id")


def make_call(switch_id: int, start: datetime, billsec: int = 0, **extra) -> dict:
    """A call (``tests.cdr_factory.call``) that may also carry normalised_number, sell_rate, ..."""
    extra.setdefault("callid", f"a{next(_ids)}-{start.timestamp():.0f}")
    return call(switch_id, start, billsec, **extra)


def store(calls: list[dict], stage_hook=None) -> None:
    """Insert calls into cdr and the rollups in one transaction; ``stage_hook(cur, table)`` runs on the
    staged rows before they are stored (as the import's ``flag_staged_calls`` does)."""
    if not calls:
        return
    columns = sorted({k for c in calls for k in c})
    with db.raw_connection() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT ensure_cdr_partitions(%s, %s)",
            (min(c["starting_date"] for c in calls), max(c["starting_date"] for c in calls)),
        )
        cur.execute("CREATE TEMP TABLE staged_calls (LIKE cdr INCLUDING DEFAULTS) ON COMMIT DROP")
        cur.executemany(
            f"INSERT INTO staged_calls ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
            [tuple(c.get(k) for k in columns) for c in calls],
        )
        if stage_hook is not None:
            stage_hook(cur, "staged_calls")
        cur.execute("INSERT INTO cdr SELECT * FROM staged_calls")
        add_to_rollups(cur, "SELECT * FROM staged_calls")


def spread(start: datetime, seconds: int, n: int) -> list[datetime]:
    """``n`` instants evenly spread over [start, start + seconds), in order."""
    return [start + timedelta(seconds=seconds * i / n) for i in range(n)]


def switch(name: str = "alarm-sw", ip: str = "10.9.0.1") -> int:
    return ensure_switch(name, ip)


class Receiver:
    """A webhook receiver on 127.0.0.1: records each POST; answers the statuses in ``script`` in turn
    (then 200), after ``delay`` seconds."""

    def __init__(self, script=(), delay: float = 0.0):
        self.requests: list[dict] = []
        self.script = list(script)
        self.delay = delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                status = receiver.script.pop(0) if receiver.script else 200
                try:
                    self.send_response(status)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up (timeout)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
