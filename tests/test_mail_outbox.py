"""The mailer against a real SMTP server (aiosmtpd): outbox, retries after an outage, no double sending,
error e-mails, mail-debug, the admin outbox page."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from data.core import db, mailer
from tests.dash_client import dash_call, dash_request

LATER = datetime.now(timezone.utc) + timedelta(days=1)  # "now" for send_pending: every backoff has passed


def _parts(message) -> dict:
    found = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        key = part.get_filename() if part.get_content_disposition() == "attachment" else part.get_content_type()
        found[key] = part
    return found


def test_queue_mail_sends_at_once_with_both_parts_attachment_and_inline_image(smtp_server):
    png = b"\x89PNG\r\n\x1a\nfake"
    outbox_id = mailer.queue_mail(
        ["a@example.com", "b@example.com", "A@example.com"],
        "Hello",
        "plain body",
        '<p>html body <img src="cid:pic@test"></p>',
        attachments=[("data.csv", "text/csv", b"x,y\r\n1,2\r\n")],
        inline_images=[("pic@test", "image/png", png)],
    )
    assert outbox_id is not None
    assert len(smtp_server.messages) == 1
    msg = smtp_server.messages[0]
    assert msg.envelope_to == ["a@example.com", "b@example.com"] or sorted(msg.envelope_to) == [
        "a@example.com",
        "b@example.com",
    ]
    assert msg["Subject"] == "[Dialstat] Hello"
    assert msg["Message-ID"].startswith(f"<dialstat.outbox.{outbox_id}.")
    parts = _parts(msg)
    assert parts["text/plain"].get_content().strip() == "plain body"
    assert "html body" in parts["text/html"].get_content()
    assert (
        parts["data.csv"].get_content() == "x,y\r\n1,2\r\n"
        or parts["data.csv"].get_payload(decode=True) == b"x,y\r\n1,2\r\n"
    )
    assert parts["image/png"].get_payload(decode=True) == png
    assert parts["image/png"]["Content-ID"] == "<pic@test>"
    # the image sits with the HTML in multipart/related, inside the alternative
    assert [p.get_content_type() for p in msg.walk()][:4] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
    ]
    row = db.rows("SELECT sent_at, attempts, smtp_reply, last_error FROM mail_outbox WHERE id = :id", id=outbox_id)[0]
    assert row["sent_at"] is not None and row["attempts"] == 1 and row["last_error"] is None
    assert row["smtp_reply"].startswith("250 2.0.0 Ok: queued as test-")


def test_dedup_key_queues_once(smtp_server):
    first = mailer.queue_mail(["a@example.com"], "Once", "x", dedup_key="test:once")
    second = mailer.queue_mail(["a@example.com"], "Once", "x", dedup_key="test:once")
    assert first is not None and second is None
    assert [m["Subject"] for m in smtp_server.messages] == ["[Dialstat] Once"]


def test_invalid_recipients_are_dropped_and_none_left_queues_nothing(smtp_server):
    assert mailer.queue_mail(["not an address", "", "x@y@z"], "Nobody", "x") is None
    assert mailer.queue_mail(["ok@example.com", "bad address"], "Somebody", "x") is not None
    assert [m.envelope_to for m in smtp_server.messages] == [["ok@example.com"]]
    assert mailer.parse_addresses("a@example.com, b@example.com;\nA@EXAMPLE.COM bad") == (
        ["a@example.com", "b@example.com"],
        ["bad"],
    )


def test_server_down_for_a_while_then_sent_exactly_once(smtp_server):
    smtp_server.stop()
    outbox_id = mailer.queue_mail(["ops@example.com"], "During the outage", "body")
    assert outbox_id is not None  # kept, not lost
    row = db.rows(
        "SELECT sent_at, attempts, last_error, next_attempt_at > now() AS later FROM mail_outbox WHERE id = :id",
        id=outbox_id,
    )[0]
    assert row["sent_at"] is None and row["attempts"] == 1 and row["later"]
    assert "Connection refused" in row["last_error"] or "Errno" in row["last_error"]

    assert mailer.send_pending()["sent"] == 0  # backing off: not due yet
    result = mailer.send_pending(now=LATER)  # still down: a second failure, a longer delay
    assert result == {"sent": 0, "failed": 1, "errors": result["errors"]}
    delay = db.scalar(
        "SELECT next_attempt_at - CAST(:later AS timestamptz) FROM mail_outbox WHERE id = :id",
        id=outbox_id,
        later=LATER,
    )
    assert delay == timedelta(seconds=2 * mailer.BACKOFF_FIRST_SECONDS)

    smtp_server.start()  # back, same port
    assert mailer.send_pending(now=LATER + timedelta(hours=2))["sent"] == 1
    assert mailer.send_pending(now=LATER + timedelta(days=2))["sent"] == 0
    assert [m["Subject"] for m in smtp_server.messages] == ["[Dialstat] During the outage"]
    assert db.scalar("SELECT attempts FROM mail_outbox WHERE id = :id", id=outbox_id) == 3


def test_two_senders_racing_send_each_message_once(smtp_server):
    smtp_server.stop()
    subjects = [f"race {i}" for i in range(12)]
    for subject in subjects:
        mailer.queue_mail(["race@example.com"], subject, "body")
    # only the first caller waited for the dead server; the others left it to the job
    assert db.rows("SELECT attempts, count(*) AS n FROM mail_outbox GROUP BY 1 ORDER BY 1") == [
        {"attempts": 0, "n": 11},
        {"attempts": 1, "n": 1},
    ]
    smtp_server.start()
    barrier = threading.Barrier(4)
    results = []

    def sender():
        barrier.wait()
        results.append(mailer.send_pending(now=LATER))

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["sent"] for r in results) == 12
    assert sorted(m["Subject"] for m in smtp_server.messages) == sorted(f"[Dialstat] {s}" for s in subjects)


def test_a_server_that_never_answers_times_out(monkeypatch):
    with socket.socket() as silent:  # accepts connections (backlog), never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
        monkeypatch.setenv("MAIL_PORT", str(silent.getsockname()[1]))
        monkeypatch.setenv("MAIL_TIMEOUT", "1")
        started = time.monotonic()
        outbox_id = mailer.queue_mail(["slow@example.com"], "Slow", "body")
        assert time.monotonic() - started < 5
    assert "timed out" in db.scalar("SELECT last_error FROM mail_outbox WHERE id = :id", id=outbox_id)


def test_failed_job_mails_the_admins_once_per_hour(smtp_server):
    from jobs.runner import run_job

    db.execute("UPDATE app_user SET email = 'root@example.com' WHERE username = 'admin'")

    def broken():
        raise ValueError("the disk is on fire")

    tick = datetime(2030, 1, 1, 10, 0, tzinfo=timezone.utc)
    assert run_job("test-broken", broken, tick) == "failed"
    assert run_job("test-broken", broken, tick + timedelta(minutes=5)) == "failed"  # same hour: no second mail
    mails = [m for m in smtp_server.messages if "test-broken" in m["Subject"]]
    assert len(mails) == 1
    mail = mails[0]
    assert mail.envelope_to == ["root@example.com"]
    assert mail["Subject"] == "[Dialstat] Job test-broken failed: ValueError: the disk is on fire"
    body = mail.get_content()
    assert "ValueError: the disk is on fire" in body and "Traceback (most recent call last)" in body
    assert 'raise ValueError("the disk is on fire")' in body
    # the next hour may mail again
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    assert mailer.notify_job_failure("test-broken", "again", now=later) is not None
    assert len([m for m in smtp_server.messages if "test-broken" in m["Subject"]]) == 2


def test_mail_debug_prints_the_server_answers(app, smtp_server):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail-debug", "--to", "check@example.com"])
    assert result.exit_code == 0, result.output
    assert f"connecting to 127.0.0.1:{smtp_server.port}" in result.output
    assert "connect    <- 220" in result.output
    assert "RCPT TO    <- 250" in result.output
    assert "DATA       <- 250 2.0.0 Ok: queued as test-1" in result.output
    assert "QUIT       <- 221" in result.output
    assert [m.envelope_to for m in smtp_server.messages] == [["check@example.com"]]
    assert smtp_server.messages[0]["Subject"] == "[Dialstat] Test message (mail-debug)"

    smtp_server.stop()
    result = runner.invoke(args=["mail-debug", "--to", "check@example.com"])
    assert result.exit_code == 1
    assert "error: ConnectionRefusedError" in result.output and "NOT accepted" in result.output


def test_outbox_page_is_for_admins_only(app, admin_client, make_user, smtp_server):
    from tests.conftest import login

    mailer.queue_mail(["seen@example.com"], "Visible to admins", "x")
    result = dash_call(admin_client, "refresh_outbox", [None, None, None])
    assert "Visible to admins" in str(result[("mail-outbox-table", "children")])

    make_user("outsider", email="outsider@example.com")
    customer = app.test_client()
    login(customer, "outsider", "pass-word-1")
    refused = dash_request(customer, "refresh_outbox", [None, 1, None])  # the callback declares the admin page
    assert refused.status_code == 403 and "Visible to admins" not in refused.get_data(as_text=True)
    page = customer.get("/admin/outbox")
    assert page.status_code == 200  # the Dash shell; the layout itself is refused by the admin guard


@pytest.fixture(autouse=True)
def _empty_outbox():
    db.execute("DELETE FROM mail_outbox")
    yield
