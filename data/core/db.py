"""The database connection: one SQLAlchemy engine per process, on DATABASE_URL or the embedded server."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

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


def _create_engine(url: str, **pool) -> Engine:
    options = " ".join(filter(None, (make_url(url).query.get("options"), SESSION_OPTIONS)))
    return create_engine(url, pool_pre_ping=True, connect_args={"options": options}, **pool)


def engine() -> Engine:
    global _engine
    with _lock:
        if _engine is None:
            _engine = _create_engine(resolve_database_url(load_settings()), pool_size=10, max_overflow=20)
        return _engine


def use_database(url: str) -> Engine:
    """Point this process at another database (tests, tools)."""
    global _engine
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = _create_engine(url)
        return _engine


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
