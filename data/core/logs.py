"""Logging: one line per event, with the request id and the user, to stderr and rotating files.

Files under ``var/log/`` (``DIALSTAT_VAR_DIR``):

- ``jobs.log``: the scheduler and the jobs (logger ``dialstat.jobs``);
- ``imports.log``: CDR imports (``dialstat.ingest``, ``dialstat.import``);
- ``app.log``: everything else (requests, logins, admin changes, mail, ...).

Each file rotates at 10 MB, 10 kept. Several processes (gunicorn workers, the scheduler) write the
same files: :class:`SharedRotatingFileHandler` takes an exclusive ``flock`` while it writes or
rotates, and reopens the file when another process has rotated it, so no line is lost or split.

Every request gets an id (the ``X-Request-Id`` header when a proxy sets a sane one, else a new one),
returned in the ``X-Request-Id`` response header; every line logged while serving it carries it and
the username. One access line per request is logged by ``dialstat.http``.
"""

from __future__ import annotations

import fcntl
import logging
import logging.handlers
import os
import re
import sys
import time
import uuid
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user)s] %(message)s"
FILES = {  # file -> logger name prefixes that go to it (app.log takes the rest)
    "jobs.log": ("dialstat.jobs",),
    "imports.log": ("dialstat.ingest", "dialstat.import"),
}
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 10
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_configured_dir: Path | None = None


class ContextFilter(logging.Filter):
    """Adds ``request_id`` and ``user`` (``-`` outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id, user = "-", "-"
        try:
            from flask import g, has_request_context

            if has_request_context():
                request_id = getattr(g, "request_id", "-")
                user = getattr(g, "log_user", None) or _username()
        except Exception:  # logging must never fail
            pass
        record.request_id, record.user = request_id, user
        return True


def _username() -> str:
    from flask_login import current_user

    try:
        return current_user.username if current_user and current_user.is_authenticated else "-"
    except Exception:
        return "-"


class OneLineFormatter(logging.Formatter):
    """A record and its traceback on one line (new lines escaped), so each event is one line."""

    def format(self, record: logging.LogRecord) -> str:
        for name in ("request_id", "user"):
            if not hasattr(record, name):
                setattr(record, name, "-")
        return super().format(record).replace("\r", "").replace("\n", " \\n ")


class PrefixFilter(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...], include: bool):
        super().__init__()
        self.prefixes, self.include = prefixes, include

    def filter(self, record: logging.LogRecord) -> bool:
        matches = any(record.name == p or record.name.startswith(p + ".") for p in self.prefixes)
        return matches if self.include else not matches


class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler several processes can share (flock around writes and rotation)."""

    def __init__(self, filename: str, **kwargs):
        super().__init__(filename, delay=True, **kwargs)
        self._lock_path = filename + ".lock"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            with open(self._lock_path, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    self._reopen_if_rotated()
                    super().emit(record)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
        except Exception:
            self.handleError(record)

    def _reopen_if_rotated(self) -> None:
        if self.stream is None:
            return
        try:
            same = os.fstat(self.stream.fileno()).st_ino == os.stat(self.baseFilename).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            self.stream.close()
            self.stream = None  # reopened by emit

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # noqa: N802 - logging's name
        if self.stream is None:
            self.stream = self._open()
        try:
            return os.path.getsize(self.baseFilename) >= self.maxBytes > 0
        except OSError:
            return False


def configure_logging(log_dir: Path, level: str = "INFO") -> None:
    """Install the handlers once per process (idempotent: later calls with the same directory do nothing)."""
    global _configured_dir
    if _configured_dir == log_dir:
        return
    log_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "dialstat", False) or type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    formatter = OneLineFormatter(FORMAT)
    context = ContextFilter()
    stderr = logging.StreamHandler(sys.stderr)
    handlers: list[logging.Handler] = [stderr]
    every_special = tuple(p for prefixes in FILES.values() for p in prefixes)
    app_file = SharedRotatingFileHandler(str(log_dir / "app.log"), maxBytes=MAX_BYTES, backupCount=BACKUPS)
    app_file.addFilter(PrefixFilter(every_special, include=False))
    handlers.append(app_file)
    for name, prefixes in FILES.items():
        handler = SharedRotatingFileHandler(str(log_dir / name), maxBytes=MAX_BYTES, backupCount=BACKUPS)
        handler.addFilter(PrefixFilter(prefixes, include=True))
        handlers.append(handler)
    for handler in handlers:
        handler.dialstat = True
        handler.setFormatter(formatter)
        handler.addFilter(context)
        root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # dialstat.http logs each request once
    _configured_dir = log_dir


def init_request_logging(server) -> None:
    """Request ids, the ``X-Request-Id`` header and one access line per request."""
    from flask import g, request

    access = logging.getLogger("dialstat.http")

    @server.before_request
    def _start():
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex[:16]
        g.request_started = time.perf_counter()

    @server.after_request
    def _finish(response):
        request_id = getattr(g, "request_id", None)
        if request_id:
            response.headers["X-Request-Id"] = request_id
        started = getattr(g, "request_started", None)
        if started is not None and not request.path.startswith(("/assets/", "/_dash-component-suites/")):
            g.log_user = _username()
            level = logging.WARNING if response.status_code >= 500 else logging.INFO
            access.log(
                level,
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
        return response
