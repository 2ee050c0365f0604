"""The database connection: one SQLAlchemy engine per process, on DATABASE_URL or the embedded server, and the
read replicas (READ_DATABASE_URL) that the read-only paths use (``reading``)."""

from __future__ import annotations

import contextvars
import functools
import inspect
import itertools
import logging
import re
import threading
import time
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

from data.core.settings import Settings, load_settings

log = logging.getLogger("dialstat.db")

_engine: Engine | None = None
_lock = threading.Lock()


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set (any PostgreSQL >= 14), else the embedded server under var/pgdata."""
    if settings.database_url:
        url = make_url(settings.database_url)
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername="postgresql+psycopg2")
        return url.render_as_string(hide_password=False)
    from data.core.embedded_db import start_embedded_postgres

    return start_embedded_postgres(
        settings.var_dir / "pgdata",
        listen=settings.embedded_db_listen,
        password_file=settings.var_dir / "embedded_db_password",  # next to secret_key
    )


# Imports stage each batch in temporary tables (tens of MB) and read them several times; with the
# default 8 MB of temp buffers every read goes back to the file system. Memory is taken only as used.
SESSION_OPTIONS = "-c temp_buffers=128MB"


def _create_engine(url: str, connect_timeout: int | None = None, **pool) -> Engine:
    options = " ".join(filter(None, (make_url(url).query.get("options"), SESSION_OPTIONS)))
    connect = {"options": options, **({"connect_timeout": connect_timeout} if connect_timeout else {})}
    return create_engine(url, pool_pre_ping=True, connect_args=connect, **pool)


def primary_engine() -> Engine:
    global _engine
    with _lock:
        if _engine is None:
            _engine = _create_engine(resolve_database_url(load_settings()), pool_size=10, max_overflow=20)
        return _engine


def engine() -> Engine:
    """The primary, or inside ``reading`` a healthy replica (the primary when there is none)."""
    return read_engine() if _reading.get() else primary_engine()


def use_database(url: str, read_urls: tuple[str, ...] | None = None) -> Engine:
    """Point this process at another database (tests, tools); ``read_urls`` replace READ_DATABASE_URL."""
    global _engine
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = _create_engine(url)
    if read_urls is not None:
        use_replicas(read_urls)
    return _engine


# ---- read replicas -------------------------------------------------------------------------------------------
# Reports, the CDR search and its exports, the API's GETs, mail reports and the alarm and threat evaluations only
# read: their data/ functions run under ``reading`` (report_cache.cached implies it), and every connection they
# take comes from a replica. Writes, admin pages (read-your-writes) and job claims never enter ``reading``.

_reading = contextvars.ContextVar("dialstat_reading", default=False)
_replica_in_use = contextvars.ContextVar("dialstat_replica_in_use", default=None)
PROBE_SECONDS = 5  # a replica's health is asked again after this long; a down one is retried after it
_replicas: list[Replica] | None = None
_next_replica = itertools.count()


class Replica:
    """One READ_DATABASE_URL: its engine and what this process last saw of it (the diagnostic page shows it)."""

    def __init__(self, url: str):
        self.url = url
        parsed = make_url(url)  # shown on the diagnostic page and in the log: where, not who
        host = parsed.host or parsed.query.get("host", "")
        self.label = f"{host}:{parsed.port or parsed.query.get('port') or 5432}/{parsed.database}"
        # A replica that does not answer in 3 s is taken for down: its reads go to the primary.
        self.engine = _create_engine(url, connect_timeout=3, pool_size=5, max_overflow=10)
        self.up: bool | None = None
        self.error: str | None = None
        self.checked_at = 0.0
        self.down_since: float | None = None

    def healthy(self) -> bool:
        if time.monotonic() - self.checked_at >= PROBE_SECONDS:
            try:
                with self.engine.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
                self._mark(True)
            except DBAPIError as exc:
                self._mark(False, exc)
        return bool(self.up)

    def _mark(self, up: bool, exc: BaseException | None = None) -> None:
        self.checked_at = time.monotonic()
        if not up:
            self.error = _one_line(exc)
            if self.up is not False:
                self.down_since = time.time()
                log.warning("read replica %s is down (%s): reads go to the primary", self.label, self.error)
                self.engine.dispose()
        elif self.up is False:
            log.warning("read replica %s is back", self.label)
            self.error = self.down_since = None
        self.up = up


def _one_line(exc: BaseException | None) -> str:
    return (str(getattr(exc, "orig", None) or exc or "").strip().splitlines() or ["unknown error"])[0][:160]


def read_database_urls(value: str | None) -> tuple[str, ...]:
    """READ_DATABASE_URL: one URL or several, separated by spaces or commas."""
    urls = []
    for part in filter(None, re.split(r"[\s,]+", value or "")):
        url = make_url(part)
        if url.drivername in ("postgres", "postgresql"):
            url = url.set(drivername="postgresql+psycopg2")
        urls.append(url.render_as_string(hide_password=False))
    return tuple(urls)


def use_replicas(urls: tuple[str, ...]) -> None:
    global _replicas
    with _lock:
        for old in _replicas or []:
            old.engine.dispose()
        _replicas = [Replica(url) for url in urls]


def replicas() -> list[Replica]:
    global _replicas
    with _lock:
        if _replicas is None:
            _replicas = [Replica(url) for url in read_database_urls(load_settings().read_database_url)]
        return _replicas


def read_engine() -> Engine:
    """A healthy replica, taken in turn; the primary when none is configured or none answers."""
    pool = replicas()
    start = next(_next_replica)
    for i in range(len(pool)):
        replica = pool[(start + i) % len(pool)]
        if replica.healthy():
            _replica_in_use.set(replica)
            return replica.engine
    _replica_in_use.set(None)
    return primary_engine()


def is_recovery_conflict(exc: BaseException) -> bool:
    """A query on a hot standby cancelled because the replay of the primary's changes needed what it held
    (SQLSTATE 40001 with "conflict with recovery")."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "pgcode", None) == "40001" and "conflict with recovery" in str(orig)


def _lost_replica(exc: DBAPIError) -> Replica | None:
    """The replica this read was on, if the error says its server or connection is gone (not a query error)."""
    code = getattr(exc.orig, "pgcode", None)
    lost = exc.connection_invalidated or code is None or code.startswith("08") or code in ("57P01", "57P02", "57P03")
    return _replica_in_use.get() if lost else None


def reading(func):
    """Run ``func`` (a data/ function that only reads) against a read replica. A query cancelled by a replay
    conflict is run once more; a replica lost under the read is marked down and the read done on the primary.
    A generator function reads its rows from the replica as they are taken."""
    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def generator(*args, **kwargs):
            rows = func(*args, **kwargs)
            while True:
                token = _reading.set(True)
                try:
                    item = next(rows)
                except StopIteration:
                    return
                finally:
                    _reading.reset(token)
                yield item

        return generator

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if _reading.get():
            return func(*args, **kwargs)
        token, in_use = _reading.set(True), _replica_in_use.set(None)
        try:
            try:
                return func(*args, **kwargs)
            except DBAPIError as exc:
                if is_recovery_conflict(exc):
                    log.warning("%s cancelled on the replica by a replay conflict: run again", func.__qualname__)
                elif (replica := _lost_replica(exc)) is not None:
                    replica._mark(False, exc)
                else:
                    raise
                return func(*args, **kwargs)
        finally:
            _reading.reset(token)
            _replica_in_use.reset(in_use)

    return wrapper


def replica_status() -> list[dict]:
    """Each replica as this process sees it, asked now: up, in recovery, replay lag (the diagnostic page)."""
    found = []
    for replica in replicas():
        state = {"url": replica.label, "up": False, "error": replica.error, "lag_seconds": None, "in_recovery": None}
        try:
            with replica.engine.connect() as conn:
                conn.exec_driver_sql("SET statement_timeout = 2000")
                in_recovery, lag = conn.exec_driver_sql(
                    "SELECT pg_is_in_recovery(), extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8"
                ).one()
            replica._mark(True)
            state.update(up=True, error=None, in_recovery=in_recovery, lag_seconds=lag)
        except DBAPIError as exc:
            replica._mark(False, exc)
            state["error"] = replica.error
        state["down_since"] = replica.down_since
        found.append(state)
    return found


@contextmanager
def transaction():
    """A connection in a transaction: committed on success, rolled back on error."""
    with engine().begin() as conn:
        yield conn


@contextmanager
def raw_connection():
    """A DBAPI (psycopg2) connection for COPY and server-side cursors; committed on success."""
    conn = engine().raw_connection()
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def scalar(sql: str, **params):
    with engine().connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(sql: str, **params) -> list[dict]:
    with engine().connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def execute(sql: str, **params) -> int:
    """Run one statement in its own transaction; returns the number of rows it touched."""
    with transaction() as conn:
        return conn.execute(text(sql), params).rowcount


def first(sql: str, **params) -> dict | None:
    """Run one statement in its own transaction; its first row (e.g. of ``RETURNING``), or None."""
    with transaction() as conn:
        row = conn.execute(text(sql), params).mappings().first()
    return None if row is None else dict(row)


def is_reachable(timeout_ms: int = 2000) -> bool:
    """Does the database answer a trivial query within ``timeout_ms``? (the health check)"""
    try:
        with engine().connect() as conn:
            conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        log.warning("database unreachable: %s", type(exc).__name__)
        return False
    return True


def psql_args() -> list[str]:
    """Connection arguments for psql on the database in use."""
    url = engine().url
    args = ["-d", url.database or "postgres"]
    if url.host:
        args += ["-h", url.host]
    elif url.query.get("host"):
        args += ["-h", url.query["host"]]
    if url.port:
        args += ["-p", str(url.port)]
    if url.username:
        args += ["-U", url.username]
    return args
