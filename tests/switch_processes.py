"""Real switch programs for the tests: Kamailio (with docs/switches/kamailio.cfg), SIPp, MariaDB.

Each runs on 127.0.0.1 with ports and a folder of its own, in its own process group, and is stopped by the
test that started it. A missing program skips the test, except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KAMAILIO_CFG = ROOT / "docs" / "switches" / "kamailio.cfg"
SIPP_DIR = Path(__file__).resolve().parent / "sipp"


def require_programs(*names: str) -> dict[str, str]:
    """The programs' paths; skip (fail under CI=true) when one is missing."""
    found = {name: shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin") for name in names}
    missing = [name for name, path in found.items() if not path]
    if missing:
        message = f"{', '.join(missing)} missing (apt-get install kamailio sip-tester mariadb-server, see .ci/run)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (Kamailio's SIP is UDP, its HTTP is TCP)."""
    while True:
        with socket.socket(socket.AF_INET, kind) as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
            with socket.socket(socket.AF_INET, other) as second:
                try:
                    second.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port


def stop(process: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM to the process group, SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)
    except ProcessLookupError:
        pass


def start(command: list[str], folder: Path, log_name: str) -> subprocess.Popen:
    log = open(folder / log_name, "wb")  # noqa: SIM115 - the child writes it until stopped
    try:
        return subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        log.close()


def json_rpc(url: str, method: str, params: list | None = None, timeout: float = 2) -> dict:
    body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params or [], "id": 1}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


class Kamailio:
    """docs/switches/kamailio.cfg run as it is, with the defines a test needs."""

    def __init__(self, folder: Path, db_url: str, gateway_port: int, extra_defines: tuple[str, ...] = ()):
        self.folder = folder
        self.sip_port, self.http_port = free_port(), free_port(socket.SOCK_STREAM)
        self.rpc_url = f"http://127.0.0.1:{self.http_port}/RPC"
        self.command = [
            require_programs("kamailio")["kamailio"],
            "-DD",
            "-E",
            "-f",
            str(KAMAILIO_CFG),
            "-Y",
            str(folder),
            "-w",
            str(folder),
            "-m",
            "64",
            "-A",
            f"SIP_PORT={self.sip_port}",
            "-A",
            f"HTTP_PORT={self.http_port}",
            "-A",
            f'DBURL="{db_url}"',
            "-A",
            f'GATEWAY="sip:127.0.0.1:{gateway_port}"',
            *(arg for define in extra_defines for arg in ("-A", define)),
        ]
        self.process: subprocess.Popen | None = None

    def start(self) -> Kamailio:
        self.process = start(self.command, self.folder, "kamailio.log")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kamailio exited: {self.log()[-3000:]}")
            try:
                json_rpc(self.rpc_url, "core.version", timeout=0.5)
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"kamailio did not answer on {self.rpc_url}: {self.log()[-3000:]}")

    def log(self) -> str:
        return (self.folder / "kamailio.log").read_text(errors="replace")

    def stop(self) -> None:
        stop(self.process)


def sipp_uas(folder: Path) -> tuple[subprocess.Popen, int]:
    """The carrier: tests/sipp/uas.xml on a port of its own, answering as each INVITE asks."""
    port = free_port()
    sipp = require_programs("sipp")["sipp"]
    command = [sipp, "-sf", str(SIPP_DIR / "uas.xml"), "-i", "127.0.0.1", "-p", str(port), "-nostdin"]
    command += ["-trace_err", "-error_file", str(folder / "uas-errors.log")]
    return start(command, folder, "uas.log"), port


def sipp_uac(
    folder: Path,
    proxy_port: int,
    scenario: str,
    number: str,
    answer: str,
    calls: int = 1,
    hold_ms: int = 0,
    account: str = "acme",
    caller: str = "1001",
    rate: float = 10,
) -> subprocess.Popen:
    """Calls placed through the proxy: ``calls`` of them, at ``rate`` per second, each holding (or ringing,
    for the cancel scenario) ``hold_ms``."""
    port = free_port()
    name = f"uac-{scenario}-{answer}-{port}"
    command = [require_programs("sipp")["sipp"], f"127.0.0.1:{proxy_port}", "-sf", str(SIPP_DIR / f"{scenario}.xml")]
    command += ["-i", "127.0.0.1", "-p", str(port), "-s", number, "-m", str(calls), "-r", str(rate), "-nostdin"]
    command += ["-d", str(hold_ms), "-key", "answer", answer, "-key", "account", account, "-key", "caller", caller]
    command += ["-trace_err", "-error_file", str(folder / f"{name}-errors.log"), "-timeout", "60s"]
    return start(command, folder, f"{name}.log")


class MariaDB:
    """A MariaDB server of its own: datadir, socket and a TCP port on 127.0.0.1, no system config read.

    ``user``/``password`` may do anything on every database (created through the socket as root).
    """

    user, password = "dialstat", "collector-secret"

    def __init__(self, folder: Path):
        programs = require_programs("mariadbd", "mariadb-install-db")
        self.folder, self.programs = folder, programs
        self.datadir, self.socket = folder / "data", folder / "mysqld.sock"
        self.port = free_port(socket.SOCK_STREAM)
        self.process: subprocess.Popen | None = None

    def start(self) -> MariaDB:
        as_root = ["--user=root"] if os.geteuid() == 0 else []  # mariadbd refuses to run as root without it
        install = [self.programs["mariadb-install-db"], "--no-defaults", f"--datadir={self.datadir}"]
        install += ["--auth-root-authentication-method=socket", "--skip-test-db", *as_root]
        subprocess.run(install, check=True, capture_output=True, timeout=120)
        command = [self.programs["mariadbd"], "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}"]
        command += [f"--port={self.port}", "--bind-address=127.0.0.1", f"--pid-file={self.folder / 'mariadb.pid'}"]
        command += ["--skip-log-bin", "--innodb-buffer-pool-size=32M", "--skip-name-resolve", *as_root]
        command += [f"--log-error={self.folder / 'mariadb.err'}"]
        self.process = start(command, self.folder, "mariadb.log")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.folder / "mariadb.err").read_text(errors="replace")[-3000:])
            try:
                with self.root() as conn, conn.cursor() as cur:
                    cur.execute(f"CREATE USER IF NOT EXISTS '{self.user}'@'127.0.0.1' IDENTIFIED BY '{self.password}'")
                    cur.execute(f"GRANT ALL ON *.* TO '{self.user}'@'127.0.0.1'")
                return self
            except OSError:
                time.sleep(0.2)
            except Exception as exc:  # pymysql's OperationalError while the socket is not there yet
                if "2002" not in str(exc) and "Can't connect" not in str(exc):
                    raise
                time.sleep(0.2)
        raise RuntimeError("mariadbd did not start")

    def root(self):
        import pymysql

        return pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)

    def connect(self, database: str | None = None):
        import pymysql

        return pymysql.connect(
            host="127.0.0.1", port=self.port, user=self.user, password=self.password, database=database, autocommit=True
        )

    def dsn(self, database: str) -> str:
        """CDR-Pusher's Go DSN, as an operator's cdr-pusher.yaml gives it."""
        return f"{self.user}:{self.password}@tcp(127.0.0.1:{self.port})/{database}"

    def stop(self) -> None:
        stop(self.process, timeout=30)
