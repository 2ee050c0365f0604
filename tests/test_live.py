"""Calls in progress: the Kamailio source against the real Kamailio (docs/switches/kamailio.cfg) with SIPp holding
calls open; the Asterisk AMI and FreeSWITCH event-socket clients against small TCP servers speaking those
protocols as their documentation shows them; the Live page's callback for an admin and for a customer."""

from __future__ import annotations

import json
import socket
import socketserver
import sqlite3
import threading
import time

import pytest

from data.core import db
from data.ingest.switches import find_or_create_switch
from data.live import poller, sources, store
from tests.conftest import login
from tests.dash_client import dash_call
from tests.switch_processes import ROOT, Kamailio, free_port, sipp_uac, sipp_uas, stop

SPAIN, UK = "34911234567", "442071234567"


@pytest.fixture(scope="module")
def acme(app):
    from data.admin import users

    return users.create_user("acme", "acme-pass-1", "customer", accountcodes=("acme",))


def live_page(client) -> dict:
    result = dash_call(client, "refresh_live", [1])
    return {key[0]: value for key, value in result.items()}


def poll(switch_id: int) -> dict:
    (source,) = [s for s in store.live_sources() if s["id"] == switch_id]
    return poller.poll_switch(source)


def test_kamailio_calls_in_progress_by_switch_country_and_customer(app, acme, admin_client, tmp_path):
    folder = tmp_path
    cdr_file = folder / "cdr.sqlite"
    with sqlite3.connect(cdr_file) as conn:
        conn.executescript((ROOT / "docs" / "switches" / "kamailio-cdr.sqlite.sql").read_text())
    uas, uas_port = sipp_uas(folder)
    kamailio = Kamailio(folder, f"sqlite:///{cdr_file}", uas_port, ("SHM_CHILDREN=1",))
    switch_id, _ = find_or_create_switch("kamailio-live")
    callers = []
    try:
        kamailio.start()
        store.set_live_source(switch_id, "kamailio", kamailio.rpc_url)
        callers = [
            sipp_uac(folder, kamailio.sip_port, "uac_answered", SPAIN, "answer", calls=3, hold_ms=8000),
            sipp_uac(folder, kamailio.sip_port, "uac_answered", UK, "answer", calls=2, hold_ms=8000, account="beta"),
        ]
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and len(sources.kamailio_calls(kamailio.rpc_url)) < 5:
            time.sleep(0.2)
        assert poll(switch_id) == {"calls": 5, "new": 5}
        assert poll(switch_id) == {"calls": 5, "new": 0}  # the same calls, still going

        page = live_page(admin_client)
        assert page["live-calls"] == "5"
        assert float(page["live-cps"]) == 0.5  # 5 new calls in the last 10 s
        text = json.dumps(page["live-switches"])
        assert "kamailio-live" in text and "answering" in text
        countries = json.dumps(page["live-countries"])
        assert "Spain" in countries and "United Kingdom" in countries
        by_country = {r["label"]: r["calls"] for r in store.live_summary(admin_scope())["countries"]}
        assert by_country == {"Spain": 3, "United Kingdom": 2}
        assert sum(p["calls"] for p in store.live_summary(admin_scope())["sparkline"][-1:]) == 5

        customer = app.test_client()
        assert login(customer, "acme", "acme-pass-1").status_code == 302
        mine = live_page(customer)
        assert mine["live-calls"] == "3"  # only acme's calls
        # The dashboard's card, for each of them.
        card = ("dashboard-live-calls", "children")
        assert dash_call(admin_client, "check_data_version", [1], [None])[card] == "5"
        assert dash_call(customer, "check_data_version", [1], [None])[card] == "3"
        assert "United Kingdom" not in json.dumps(mine["live-countries"])
        assert "beta" not in json.dumps(mine["live-customers"])

        assert [c.wait(30) for c in callers] == [0, 0]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sources.kamailio_calls(kamailio.rpc_url):
            time.sleep(0.2)
        assert poll(switch_id) == {"calls": 0, "new": 0}
        assert live_page(admin_client)["live-calls"] == "0"
    finally:
        for caller in callers:
            stop(caller)
        kamailio.stop()
        stop(uas)
    # Kamailio is gone: the switch shows as unreachable since the first failed poll, its calls unknown.
    assert "unreachable" in poll(switch_id)
    page = live_page(admin_client)
    assert "unreachable since" in json.dumps(page["live-switches"])
    since = db.scalar("SELECT unreachable_since FROM live_switch WHERE switch_id = :s", s=switch_id)
    time.sleep(0.01)
    poll(switch_id)
    assert db.scalar("SELECT unreachable_since FROM live_switch WHERE switch_id = :s", s=switch_id) == since
    store.set_live_source(switch_id, None)


def admin_scope():
    from data.core.scope import Scope

    return Scope(user_id=None)


# ------------------------------------------------------------------------------------ protocol servers


class ScriptedServer(socketserver.ThreadingTCPServer):
    """A TCP server on 127.0.0.1 whose connections are handled by ``handle(rfile, wfile)``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handle):
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                try:
                    outer.script(self.rfile, self.wfile)
                except (OSError, ValueError):
                    pass

        self.script = handle
        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def close(self):
        self.shutdown()
        self.server_close()


def read_ami(rfile) -> dict:
    message = {}
    while True:
        line = rfile.readline().decode().rstrip("\r\n")
        if not line:
            return message
        key, _, value = line.partition(":")
        message[key.strip()] = value.strip()


def ami_write(wfile, **fields) -> None:
    wfile.write(("".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode())


# Two calls: a bridged call (two channels sharing Linkedid 1733.1) answered for 65 s, and one ringing.
AMI_CHANNELS = [
    dict(Channel="PJSIP/alice-00000001", ChannelState="6", ChannelStateDesc="Up", CallerIDNum="1001",
         Exten=SPAIN, AccountCode="acme", Uniqueid="1733.1", Linkedid="1733.1", Duration="00:01:05"),
    dict(Channel="PJSIP/carrier-00000002", ChannelState="6", ChannelStateDesc="Up", CallerIDNum="1001",
         Exten="s", AccountCode="acme", Uniqueid="1733.2", Linkedid="1733.1", Duration="00:01:04"),
    dict(Channel="PJSIP/bob-00000003", ChannelState="4", ChannelStateDesc="Ring", CallerIDNum="2001",
         Exten=UK, AccountCode="beta", Uniqueid="1733.3", Linkedid="1733.3", Duration="00:00:03"),
]  # fmt: skip


def ami_script(secret="s3cret", drop_after_login=False, channels=AMI_CHANNELS):
    """Asterisk's manager as its documentation shows it: banner, Login, CoreShowChannels as an event list."""

    def script(rfile, wfile):
        wfile.write(b"Asterisk Call Manager/9.0.0\r\n")
        login_action = read_ami(rfile)
        assert login_action["Action"] == "Login"
        action_id = login_action.get("ActionID", "")
        if login_action.get("Secret") != secret:
            ami_write(wfile, Response="Error", ActionID=action_id, Message="Authentication failed")
            return
        ami_write(wfile, Response="Success", ActionID=action_id, Message="Authentication accepted")
        ami_write(wfile, Event="FullyBooted", Privilege="system,all", Status="Fully Booted")
        if drop_after_login:
            return
        action = read_ami(rfile)
        assert action["Action"] == "CoreShowChannels"
        action_id = action.get("ActionID", "")
        ami_write(wfile, Response="Success", ActionID=action_id, EventList="start", Message="Channels will follow")
        for channel in channels:
            ami_write(wfile, Event="CoreShowChannel", ActionID=action_id, **channel)
        ami_write(
            wfile, Event="CoreShowChannelsComplete", ActionID=action_id, EventList="Complete", ListItems=len(channels)
        )
        assert read_ami(rfile)["Action"] == "Logoff"
        ami_write(wfile, Response="Goodbye", Message="Thanks for all the fish.")

    return script


def test_ami_client_counts_calls_not_channels():
    server = ScriptedServer(ami_script())
    try:
        calls = sorted(sources.ami_calls(server.address, "dialstat", "s3cret"), key=lambda c: c.key)
    finally:
        server.close()
    assert [(c.key, c.answered, c.destination, c.accountcode) for c in calls] == [
        ("1733.1", True, SPAIN, "acme"),
        ("1733.3", False, UK, "beta"),
    ]
    assert 64 <= (time.time() - calls[0].started_at.timestamp()) <= 67


@pytest.mark.parametrize(
    "script, reason",
    [(ami_script(secret="other"), "login refused"), (ami_script(drop_after_login=True), "closed the connection")],
)
def test_ami_client_errors_make_the_switch_unreachable(script, reason):
    server = ScriptedServer(script)
    try:
        with pytest.raises(sources.SwitchUnreachable, match=reason):
            sources.ami_calls(server.address, "dialstat", "s3cret")
    finally:
        server.close()


def test_nothing_listening_is_unreachable():
    port = free_port(socket.SOCK_STREAM)
    for call in (
        lambda: sources.ami_calls(f"127.0.0.1:{port}", "u", "p"),
        lambda: sources.esl_calls(f"127.0.0.1:{port}", "p"),
        lambda: sources.kamailio_calls(f"http://127.0.0.1:{port}/RPC"),
    ):
        with pytest.raises(sources.SwitchUnreachable):
            call()


def read_esl(rfile) -> str:
    lines = []
    while True:
        line = rfile.readline().decode().rstrip("\n")
        if not line:
            return "\n".join(lines)
        lines.append(line)


ESL_CALLS = {
    "row_count": 2,
    "rows": [
        {"uuid": "a1", "direction": "inbound", "created_epoch": str(int(time.time()) - 30), "cid_num": "1001",
         "dest": SPAIN, "callstate": "ACTIVE", "b_uuid": "b1", "b_callstate": "ACTIVE"},
        {"uuid": "a2", "direction": "inbound", "created_epoch": str(int(time.time()) - 2), "cid_num": "2001",
         "dest": UK, "callstate": "RINGING", "b_uuid": "", "b_callstate": ""},
    ],
}  # fmt: skip


def esl_script(password="ClueCon", body=json.dumps(ESL_CALLS), drop_after_auth=False):
    """FreeSWITCH's inbound event socket as mod_event_socket's documentation shows it."""

    def script(rfile, wfile):
        wfile.write(b"Content-Type: auth/request\n\n")
        if read_esl(rfile) != f"auth {password}":
            wfile.write(b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n")
            wfile.write(b"Content-Type: text/disconnect-notice\nContent-Length: 67\n\n")
            wfile.write(b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n")
            return
        wfile.write(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
        if drop_after_auth:
            return
        assert read_esl(rfile) == "api show calls as json"
        payload = body.encode()
        wfile.write(b"Content-Type: api/response\nContent-Length: %d\n\n" % len(payload) + payload)

    return script


def test_esl_client_reads_show_calls_as_json():
    server = ScriptedServer(esl_script())
    try:
        calls = sources.esl_calls(server.address, "ClueCon")
    finally:
        server.close()
    assert [(c.key, c.answered, c.caller, c.destination) for c in calls] == [
        ("a1", True, "1001", SPAIN),
        ("a2", False, "2001", UK),
    ]


@pytest.mark.parametrize(
    "script, reason",
    [
        (esl_script(password="other"), "auth refused"),
        (esl_script(body="-ERR no reply\n"), "-ERR"),
        (esl_script(drop_after_auth=True), "closed the connection"),
        (esl_script(body=json.dumps({"row_count": 0})), None),
    ],
)
def test_esl_client_errors_and_an_idle_switch(script, reason):
    server = ScriptedServer(script)
    try:
        if reason is None:
            assert sources.esl_calls(server.address, "ClueCon") == []
        else:
            with pytest.raises(sources.SwitchUnreachable, match=reason):
                sources.esl_calls(server.address, "ClueCon")
    finally:
        server.close()


def test_the_poller_stores_ami_and_esl_switches_and_a_failure(app, admin_client):
    ami, esl = ScriptedServer(ami_script()), ScriptedServer(esl_script())
    ast_id, _ = find_or_create_switch("asterisk-live")
    fs_id, _ = find_or_create_switch("freeswitch-live")
    dead_id, _ = find_or_create_switch("dead-live")
    try:
        store.set_live_source(ast_id, "asterisk", ami.address, "dialstat", "s3cret")
        store.set_live_source(fs_id, "freeswitch", esl.address, secret="ClueCon")
        store.set_live_source(dead_id, "freeswitch", f"127.0.0.1:{free_port(socket.SOCK_STREAM)}", secret="x")
        from jobs.live import live_job

        result = live_job(for_seconds=0)
    finally:
        ami.close()
        esl.close()
    assert result["rounds"] == 1 and list(result["unreachable"]) == ["dead-live"]
    rows = {r["name"]: r for r in store.live_summary(admin_scope())["switches"]}
    assert (rows["asterisk-live"]["calls"], rows["asterisk-live"]["answered"]) == (2, 1)
    assert (rows["freeswitch-live"]["calls"], rows["freeswitch-live"]["answered"]) == (2, 1)
    assert rows["dead-live"]["ok"] is False and rows["dead-live"]["unreachable_since"] is not None
    for switch_id in (ast_id, fs_id, dead_id):
        store.set_live_source(switch_id, None)


def test_live_source_command_sets_and_polls_once(app):
    find_or_create_switch("cli-live")
    runner = app.test_cli_runner()
    port = free_port(socket.SOCK_STREAM)
    result = runner.invoke(args=["live-source", "cli-live", "asterisk", f"127.0.0.1:{port}", "--username", "u"])
    assert result.exit_code == 0 and "unreachable" in result.output, result.output
    assert [s["kind"] for s in store.live_sources() if s["name"] == "cli-live"] == ["asterisk"]
    result = runner.invoke(args=["live-source", "cli-live", "off"])
    assert result.exit_code == 0 and not [s for s in store.live_sources() if s["name"] == "cli-live"]
    assert runner.invoke(args=["live-source", "nowhere", "kamailio", "http://x"]).exit_code != 0


def test_admin_live_sources_page_saves_audits_and_polls_once(app, admin_client, acme):
    from tests.dash_client import dash_request

    switch_id, _ = find_or_create_switch("page-live")
    server = ScriptedServer(ami_script())
    try:
        state = [str(switch_id), "asterisk", server.address, "dialstat", "s3cret"]
        result = dash_call(admin_client, "save_live_source", [1], state)
        assert "2 calls in progress" in json.dumps(result[("admin-live-message", "children")])
        # An empty secret keeps the stored one.
        result = dash_call(admin_client, "save_live_source", [2], [*state[:4], ""])
        assert "2 calls in progress" in json.dumps(result[("admin-live-message", "children")])
    finally:
        server.close()
    audits = db.rows("SELECT before, after FROM audit_log WHERE target_type = 'switch-live-source' ORDER BY id")
    assert [a["after"]["secret_changed"] for a in audits] == [True, False]
    assert "s3cret" not in json.dumps([a["after"] for a in audits] + [a["before"] for a in audits])
    form = dash_call(admin_client, "fill_live_form", [str(switch_id)])
    assert form[("admin-live-address", "value")] == server.address
    result = dash_call(admin_client, "save_live_source", [3], [str(switch_id), "kamailio", "", "", ""])
    assert "address" in json.dumps(result[("admin-live-message", "children")])

    customer = app.test_client()
    assert login(customer, "acme", "acme-pass-1").status_code == 302
    assert dash_request(customer, "save_live_source", [1], state).status_code == 403
    store.set_live_source(switch_id, None)


def test_sparkline_adds_the_peaks_of_switches_polled_at_their_own_instants(app):
    from datetime import datetime, timedelta, timezone

    first, _ = find_or_create_switch("spark-a")
    second, _ = find_or_create_switch("spark-b")
    for switch_id in (first, second):
        store.set_live_source(switch_id, "kamailio", "http://127.0.0.1:9/RPC")
    # Five minutes ago: the other tests' samples (taken now) stay out of the 10-s window of calls per second.
    minute = (datetime.now(timezone.utc) - timedelta(minutes=5)).replace(second=0, microsecond=0)
    call = lambda key: sources.LiveCall(key, minute, True, "1", "34911234567", "")  # noqa: E731
    store.save_poll(first, [call("a1"), call("a2")], minute + timedelta(seconds=1))
    store.save_poll(second, [call("b1"), call("b2"), call("b3")], minute + timedelta(seconds=2))
    store.save_poll(first, [call("a1")], minute + timedelta(seconds=3))
    summary = store.live_summary(admin_scope(), minute + timedelta(seconds=4))
    assert [(r["minute"], r["calls"]) for r in summary["sparkline"] if r["minute"] == minute] == [(minute, 5)]
    assert summary["calls"] == 4  # a1 and b1-b3 are in progress
    assert summary["cps"] == 0.5  # 5 new calls in the last 10 s
    for switch_id in (first, second):
        store.set_live_source(switch_id, None)
