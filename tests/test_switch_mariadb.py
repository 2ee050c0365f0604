"""The collector against a real MariaDB server (started here: own datadir, socket and port on 127.0.0.1).

- Asterisk's ``cdr`` table, with Asterisk's own schema (contrib/ast-db-manage/cdr, revisions 210693f3123d and
  54cde9847798: ``sequence``, ``linkedid``) and the ``id`` key CDR-Pusher's documentation asks for, filled by
  INSERTs as cdr_mysql / cdr_adaptive_odbc make them.
- The CDR table docs/switches/kamailio.cfg writes, written by a real Kamailio through ``db_mysql`` while SIPp
  places calls.

Each is collected with the documented yaml in both progress modes (flag field, high-water mark), with a
collector stopped in the middle and a new one taking over, while rows keep arriving: every row read once.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
import yaml

from data.core import db
from data.ingest import collectors
from tests.switch_processes import ROOT, Kamailio, MariaDB, sipp_uac, sipp_uas, stop

SWITCH_DOCS = ROOT / "docs" / "switches"
MODES = {"flag": "flag_imported", "high-water": ""}

# Asterisk's cdr table (contrib/ast-db-manage/cdr/versions/210693f3123d_create_cdr_table.py, accountcode and
# peeraccount widened to 80 by 54cde9847798), in MySQL's words.
ASTERISK_CDR_TABLE = """CREATE TABLE cdr (
    accountcode VARCHAR(80), src VARCHAR(80), dst VARCHAR(80), dcontext VARCHAR(80), clid VARCHAR(80),
    channel VARCHAR(80), dstchannel VARCHAR(80), lastapp VARCHAR(80), lastdata VARCHAR(80),
    start DATETIME, answer DATETIME, end DATETIME, duration INTEGER, billsec INTEGER,
    disposition VARCHAR(45), amaflags VARCHAR(45), userfield VARCHAR(256), uniqueid VARCHAR(150),
    linkedid VARCHAR(150), peeraccount VARCHAR(80), sequence INTEGER)"""
CDR_PUSHER_KEY = "ALTER TABLE cdr ADD COLUMN id INT UNSIGNED PRIMARY KEY AUTO_INCREMENT FIRST"
DISPOSITIONS = ("ANSWERED", "BUSY", "NO ANSWER", "FAILED", "CONGESTION")


@pytest.fixture(scope="module")
def mariadb(app, tmp_path_factory):
    server = MariaDB(tmp_path_factory.mktemp("mariadb"))
    try:
        yield server.start()
    finally:
        server.stop()


def write_config(folder, template: str, **changes):
    config = yaml.safe_load((SWITCH_DOCS / template).read_text()) | changes
    path = folder / f"{changes['switch_ip']}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def asterisk_row(n: int) -> dict:
    """One CDR as Asterisk writes it; every fifth channel also leaves a second CDR (a transfer): same
    uniqueid and linkedid, the next sequence."""
    start = datetime(2026, 12, 1, 9, 0) + timedelta(minutes=n)
    disposition = DISPOSITIONS[n % len(DISPOSITIONS)]
    billsec = 30 + n if disposition == "ANSWERED" else 0
    channel = n - n % 5 if n % 5 == 1 else n  # 0 and 1, 5 and 6, ... share a channel
    return {
        "accountcode": f"acct{n % 3}",
        "src": f"100{n % 7}",
        "dst": f"3491{n:07d}",
        "dcontext": "from-internal",
        "clid": f'"Desk {n % 7}" <100{n % 7}>',
        "channel": f"PJSIP/100{n % 7}-{channel:08x}",
        "dstchannel": f"PJSIP/carrier-{n:08x}",
        "lastapp": "Dial",
        "lastdata": "PJSIP/carrier",
        "start": start,
        "answer": start + timedelta(seconds=5) if billsec else None,
        "end": start + timedelta(seconds=5 + billsec),
        "duration": 5 + billsec,
        "billsec": billsec,
        "disposition": disposition,
        "amaflags": "DOCUMENTATION",
        "userfield": "",
        "uniqueid": f"1764579600.{channel}",
        "linkedid": f"1764579600.{channel}",
        "peeraccount": "",
        "sequence": n,
    }


def insert_asterisk_rows(server: MariaDB, database: str, numbers, pause: float = 0) -> None:
    with server.connect(database) as conn, conn.cursor() as cur:
        for n in numbers:
            row = asterisk_row(n)
            columns = ", ".join(f"`{c}`" for c in row)
            cur.execute(f"INSERT INTO cdr ({columns}) VALUES ({', '.join(['%s'] * len(row))})", list(row.values()))
            time.sleep(pause)


def collect_with_a_restart(config_path, rows_before_restart: int, while_running) -> dict:
    """A first collector reads ``rows_before_restart`` rows and stops; ``while_running`` (a thread adding
    rows) starts; the scheduled job's loop polls each heartbeat until the thread is done, then once more."""
    first = collectors.Collector(collectors.load_config(config_path), max_batches=rows_before_restart // 10)
    try:
        summary = first.run()
    finally:
        first.close()
    totals = {"accepted": summary.accepted, "duplicates": summary.duplicates, "rejected": summary.rejected}
    assert totals["accepted"] == rows_before_restart
    while_running.start()
    polls = 0
    while while_running.is_alive():
        result = collectors.collect_all(config_path.parent, for_seconds=1)[config_path.name]
        assert "failed" not in result, result
        polls += result["polls"]
        for key in totals:
            totals[key] += result[key]
    while_running.join()
    last = collectors.collect_all(config_path.parent)[config_path.name]
    for key in totals:
        totals[key] += last[key]
    return totals | {"polls": polls}


def stored_callids(switch: str) -> list[str]:
    """The record keys stored for the switch: the callid, and U+001F and the record tag when there is one."""
    return sorted(
        r["callid"]
        for r in db.rows(
            """SELECT c.callid || coalesce(E'\\x1f' || c.record_tag, '') AS callid
                 FROM cdr c JOIN switch s ON s.id = c.switch_id WHERE s.name = :s""",
            s=switch,
        )
    )


@pytest.mark.parametrize("mode", MODES)
def test_asterisk_cdr_table_every_row_read_once(mariadb, tmp_path, mode):
    database = f"asterisk_{mode.replace('-', '_')}"
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {database}")
        cur.execute(f"USE {database}")
        cur.execute(ASTERISK_CDR_TABLE)
        cur.execute(CDR_PUSHER_KEY)
    insert_asterisk_rows(mariadb, database, range(40))
    switch = f"asterisk-{mode}"
    config = write_config(
        tmp_path,
        "asterisk-collector.mysql.yaml",
        db_dns=mariadb.dsn(database),
        db_flag_field=MODES[mode],
        switch_ip=switch,
        max_fetch_batch=10,
        heartbeat=0.2,
    )
    arriving = threading.Thread(target=insert_asterisk_rows, args=(mariadb, database, range(40, 100), 0.02))
    totals = collect_with_a_restart(config, 20, arriving)

    assert (totals["accepted"], totals["duplicates"], totals["rejected"]) == (100, 0, 0)
    assert totals["polls"] >= 3  # polled each heartbeat while rows arrived
    expected = sorted(f"{asterisk_row(n)['uniqueid']}\x1f{n}" for n in range(100))  # callid, then the sequence
    assert stored_callids(switch) == expected
    transfers = db.rows(
        """SELECT c.linkedid, count(*) AS cdrs FROM cdr c JOIN switch s ON s.id = c.switch_id
            WHERE s.name = :s GROUP BY 1 HAVING count(*) > 1""",
        s=switch,
    )
    assert len(transfers) == 20 and all(t["cdrs"] == 2 for t in transfers)  # both CDRs of a transfer kept
    causes = {
        r["disposition"]: r["cause"]
        for r in db.rows(
            """SELECT c.extradata->>'disposition' AS disposition, min(hangup_cause_id) AS cause
                 FROM cdr c JOIN switch s ON s.id = c.switch_id WHERE s.name = :s GROUP BY 1""",
            s=switch,
        )
    }
    assert causes == {"ANSWERED": 16, "BUSY": 17, "NO ANSWER": 19, "FAILED": 41, "CONGESTION": 34}
    if MODES[mode]:
        with mariadb.connect(database) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*), sum(flag_imported = 1) FROM cdr")
            assert cur.fetchone() == (100, 100)


def test_kamailio_writing_through_db_mysql_every_row_read_once(mariadb, tmp_path):
    """Real Kamailio (-A WITH_MYSQL) writes while two collectors, one per progress mode, read the same table."""
    with mariadb.connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE kamailio")
        cur.execute("USE kamailio")
        cur.execute((SWITCH_DOCS / "kamailio-cdr.mysql.sql").read_text().strip().rstrip(";"))
    folder = tmp_path / "kamailio"
    folder.mkdir()
    uas, uas_port = sipp_uas(folder)
    db_url = f"mysql://{mariadb.user}:{mariadb.password}@127.0.0.1:{mariadb.port}/kamailio"
    kamailio = Kamailio(folder, db_url, uas_port, ("WITH_MYSQL",))
    for mode in MODES:
        (tmp_path / mode).mkdir()
    configs = {
        mode: write_config(
            tmp_path / mode,
            "kamailio-collector.mysql.yaml",
            db_dns=mariadb.dsn("kamailio"),
            db_flag_field=flag,
            switch_ip=f"kamailio-{mode}",
            max_fetch_batch=10,
            heartbeat=0.2,
        )
        for mode, flag in MODES.items()
    }
    callers = []
    try:
        kamailio.start()
        # 20 failed calls first (written at once), then 20 answered calls held 1 s while the collectors run.
        first = sipp_uac(folder, kamailio.sip_port, "uac_failed", "34911000000", "486", calls=20, rate=50)
        assert first.wait(30) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and count_rows(mariadb) < 20:
            time.sleep(0.1)
        callers = [sipp_uac(folder, kamailio.sip_port, "uac_answered", "4420700000", "answer", calls=20, hold_ms=1000)]
        calling = threading.Thread(target=lambda: callers[0].wait(60))
        totals = collect_with_a_restart(configs["flag"], 20, calling)
        assert callers[0].returncode == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and count_rows(mariadb) < 40:
            time.sleep(0.1)
        assert count_rows(mariadb) == 40, kamailio.log()[-3000:]
        last = collectors.collect_all(configs["flag"].parent)[configs["flag"].name]
        totals = {k: totals[k] + last.get(k, 0) for k in ("accepted", "duplicates", "rejected")}
        assert (totals["accepted"], totals["duplicates"], totals["rejected"]) == (40, 0, 0)
        high_water = collectors.collect_all(configs["high-water"].parent)[configs["high-water"].name]
        assert (high_water["accepted"], high_water["duplicates"], high_water["rejected"]) == (40, 0, 0)
    finally:
        for caller in callers:
            stop(caller)
        kamailio.stop()
        stop(uas)
    with mariadb.connect("kamailio") as conn, conn.cursor() as cur:
        cur.execute("SELECT callid FROM dialstat_cdr ORDER BY callid")
        source = [r[0] for r in cur.fetchall()]
    assert stored_callids("kamailio-flag") == stored_callids("kamailio-high-water") == sorted(source)
    answered = db.rows(
        """SELECT billsec, hangup_cause_id FROM cdr c JOIN switch s ON s.id = c.switch_id
            WHERE s.name = 'kamailio-flag' AND destination_number = '4420700000'"""
    )
    assert len(answered) == 20 and all(abs(r["billsec"] - 1) <= 1 and r["hangup_cause_id"] == 16 for r in answered)


def count_rows(server: MariaDB) -> int:
    with server.connect("kamailio") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM dialstat_cdr")
        return cur.fetchone()[0]
