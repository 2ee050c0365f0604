"""Outgoing mail: an outbox in PostgreSQL, delivered over SMTP with Flask-Mail.

Every message goes through ``queue_mail``: it is stored in ``mail_outbox`` first (never lost), then
handed to the SMTP server right away if it answers. ``send_pending`` (the ``mail-outbox`` job, every
minute) sends what is due: a failure is recorded on the row with a growing delay (1, 2, 4 ... minutes,
at most an hour) and tried again later, for as long as it takes.

Never sent twice: a row is locked (``SELECT ... FOR UPDATE SKIP LOCKED``) while it is handed to the
SMTP server, and marked sent in that same transaction, so no other process can pick it up meanwhile.
If the process dies after the server accepted the message and before the commit, the row is still
unsent and goes out again: at-least-once is the physical limit of SMTP there. The Message-ID is the
same on every attempt (``<dialstat.outbox.ID.…@…>``), so mail clients can recognise such a copy.

``dedup_key`` is unique in the outbox: a second message with a key already there is not queued. This
is how "one report per user, kind and period" and "one error e-mail per job and hour" hold with any
number of processes.

Settings (``MAIL_*``) are read at each send, with ``MAIL_TIMEOUT`` seconds for every SMTP operation
(Flask-Mail has no timeout of its own).
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import flask_mail
import sqlalchemy as sa
from flask import Flask

from data.core import db
from data.core.settings import Settings, load_settings

log = logging.getLogger("dialstat.mail")

BACKOFF_FIRST_SECONDS = 60
BACKOFF_MAX_SECONDS = 3600
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+$")
# Flask-Mail needs an app context to send (signals, defaults); this private app carries only that.
_mail_app = Flask("dialstat.mail")


# --- addresses ----------------------------------------------------------------------------------------


def valid_address(address: str) -> bool:
    """A plain ``local@domain`` address (no display name, no list)."""
    return bool(address) and len(address) <= 254 and bool(_ADDRESS.match(address))


def parse_addresses(value: str | Iterable[str] | None) -> tuple[list[str], list[str]]:
    """Addresses from free text (commas, semicolons, spaces or new lines) or a list: (valid, invalid).

    Duplicates are dropped (case-insensitively), first spelling and order kept.
    """
    items = re.split(r"[\s,;]+", value) if isinstance(value, str) else list(value or ())
    valid, invalid, seen = [], [], set()
    for item in items:
        address = (item or "").strip()
        if not address or address.lower() in seen:
            continue
        seen.add(address.lower())
        (valid if valid_address(address) else invalid).append(address)
    return valid, invalid


def admin_addresses() -> list[str]:
    """The e-mail addresses of the active admins (for error e-mails)."""
    found = db.rows("SELECT email FROM app_user WHERE role = 'admin' AND is_active AND email IS NOT NULL ORDER BY id")
    return parse_addresses([r["email"] for r in found])[0]


# --- queueing -----------------------------------------------------------------------------------------


def queue_mail(
    recipients: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
    inline_images: list[tuple[str, str, bytes]] = (),
    dedup_key: str | None = None,
) -> int | None:
    """Store a message in the outbox and try to send it right away; returns its outbox id.

    ``attachments`` are ``(filename, content_type, data)``; ``inline_images`` are
    ``(content_id, content_type, data)``, shown where the HTML says ``<img src="cid:CONTENT_ID">``.
    ``MAIL_SUBJECT_PREFIX`` is put in front of ``subject``.

    Returns None, and queues nothing, when ``dedup_key`` is already in the outbox or no recipient is a
    valid address (invalid ones are dropped with a warning). Sending never raises: a message the
    server does not take now stays in the outbox and is retried by the ``mail-outbox`` job.
    """
    valid, invalid = parse_addresses(recipients)
    if invalid:
        log.warning("mail %r: dropped invalid recipients %s", subject, invalid)
    if not valid:
        log.warning("mail %r: no valid recipient, not queued", subject)
        return None
    prefix = load_settings().mail.get("MAIL_SUBJECT_PREFIX") or ""
    full_subject = " ".join(f"{prefix}{subject}".splitlines())  # a header: never a line break
    parts = [("attachment", *a) for a in attachments] + [("inline", *i) for i in inline_images]
    with db.transaction() as conn:
        outbox_id = conn.execute(
            sa.text(
                "INSERT INTO mail_outbox (dedup_key, recipients, subject, body_text, body_html) "
                "VALUES (:key, :recipients, :subject, :text, :html) "
                "ON CONFLICT (dedup_key) DO NOTHING RETURNING id"
            ),
            {"key": dedup_key, "recipients": valid, "subject": full_subject, "text": text, "html": html},
        ).scalar()
        if outbox_id is None:
            return None
        for position, (disposition, name, content_type, data) in enumerate(parts):
            conn.execute(
                sa.text(
                    "INSERT INTO mail_outbox_part (outbox_id, position, disposition, filename, content_type, "
                    "content) VALUES (:id, :pos, :disp, :name, :ctype, :data)"
                ),
                {
                    "id": outbox_id,
                    "pos": position,
                    "disp": disposition,
                    "name": name,
                    "ctype": content_type,
                    "data": bytes(data),
                },
            )
    if _known_unreachable():  # do not make every caller wait for the timeout: the job will send it
        log.info("mail %s queued; the mail server was unreachable moments ago, the mail-outbox job sends it", outbox_id)
        return outbox_id
    try:
        send_pending(ids=[outbox_id])
    except Exception:  # the outbox keeps it; the mail-outbox job tries again
        log.exception("mail %s: immediate send failed, left in the outbox", outbox_id)
    return outbox_id


# --- sending ------------------------------------------------------------------------------------------


class _Recording:
    """An SMTP client that keeps the server's answer to DATA and the refused recipients."""

    data_reply: tuple[int, bytes] | None = None
    refused: dict = {}

    def data(self, msg):
        reply = super().data(msg)
        self.data_reply = reply
        return reply

    def sendmail(self, *args, **kwargs):
        self.refused = super().sendmail(*args, **kwargs)
        return self.refused


class _SMTP(_Recording, smtplib.SMTP):
    pass


class _SMTP_SSL(_Recording, smtplib.SMTP_SSL):  # noqa: N801 - mirrors smtplib's name
    pass


class _Connection(flask_mail.Connection):
    """Flask-Mail's connection with a timeout on every socket operation."""

    def __init__(self, mail, timeout: float):
        super().__init__(mail)
        self.timeout = timeout

    def configure_host(self):
        cls = _SMTP_SSL if self.mail.use_ssl else _SMTP
        host = cls(self.mail.server, self.mail.port, timeout=self.timeout)
        try:
            host.set_debuglevel(int(self.mail.debug))
            if self.mail.use_tls:
                host.starttls()
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host


class OutboxMessage(flask_mail.Message):
    """A Flask-Mail message laid out as mail clients expect with inline images:

    multipart/mixed [ multipart/alternative [ text/plain, multipart/related [ text/html, images ] ],
    attachments ]
    """

    def __init__(self, *, inline_images: list[tuple[str, str, bytes]] = (), message_id: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.inline_images = list(inline_images)
        if message_id:
            self.msgId = message_id

    def _message(self) -> EmailMessage:
        msg = EmailMessage(policy=policy.SMTP)
        msg["Subject"] = self.subject
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = formatdate(self.date, localtime=True)
        msg["Message-ID"] = self.msgId
        msg.set_content(self.body or "", cte="quoted-printable")
        if self.html is not None:
            msg.add_alternative(self.html, subtype="html", cte="quoted-printable")
            html_part = msg.get_payload()[-1]
            for content_id, content_type, data in self.inline_images:
                maintype, subtype = content_type.split("/", 1)
                html_part.add_related(
                    data,
                    maintype,
                    subtype,
                    cid=f"<{content_id}>",
                    disposition="inline",
                    filename=f"{content_id.partition('@')[0]}.{subtype}",
                )
        for attachment in self.attachments:
            maintype, subtype = attachment.content_type.split("/", 1)
            data = attachment.data.encode() if isinstance(attachment.data, str) else attachment.data
            msg.add_attachment(data, maintype, subtype, filename=attachment.filename)
        return msg


# (server, port) -> monotonic time until which queue_mail does not try it at once (the job still does).
_unreachable_until: dict[tuple[str, int], float] = {}
UNREACHABLE_PAUSE_SECONDS = 60


def _server_key(config: dict) -> tuple[str, int]:
    return str(config.get("MAIL_SERVER")), int(config.get("MAIL_PORT") or 0)


def _known_unreachable() -> bool:
    return _unreachable_until.get(_server_key(mail_config()), 0.0) > time.monotonic()


def _note_reachability(config: dict, reachable: bool) -> None:
    if reachable:
        _unreachable_until.pop(_server_key(config), None)
    else:
        _unreachable_until[_server_key(config)] = time.monotonic() + UNREACHABLE_PAUSE_SECONDS


@dataclass
class Delivery:
    accepted: bool
    reply: str | None = None  # the server's answer to the message (DATA), e.g. "250 2.0.0 Ok: queued as …"
    error: str | None = None
    unreachable: bool = False  # the server could not be reached or refused us: stop the batch


def mail_config(settings: Settings | None = None) -> dict:
    """Flask-Mail's configuration from the environment, read now."""
    return dict((settings or load_settings()).mail)


def message_id(outbox_id: int, created_at, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or socket.getfqdn()
    return f"<dialstat.outbox.{outbox_id}.{int(created_at.timestamp())}@{domain}>"


def deliver(message: OutboxMessage, settings: Settings | None = None) -> Delivery:
    """Hand one message to the SMTP server (a new connection, the timeout set); never raises."""
    config = mail_config(settings)
    outcome = _deliver(message, config)
    _note_reachability(config, not outcome.unreachable)
    return outcome


def _deliver(message: OutboxMessage, config: dict) -> Delivery:
    state = flask_mail.Mail().init_mail(config)  # not suppressed: this app never runs with TESTING
    connection = _Connection(state, float(config.get("MAIL_TIMEOUT") or 10))
    with _mail_app.app_context():
        _mail_app.extensions["mail"] = state
        try:
            connection.host = connection.configure_host()
        except (OSError, smtplib.SMTPException) as exc:
            return Delivery(False, error=_describe(exc), unreachable=True)
        host = connection.host
        try:
            connection.send(message)
        except Exception as exc:
            if host.data_reply and host.data_reply[0] == 250:  # accepted: whatever came after does not matter
                return Delivery(True, reply=_reply_text(host.data_reply))
            unreachable = isinstance(exc, (OSError, smtplib.SMTPServerDisconnected))
            return Delivery(False, error=_describe(exc), unreachable=unreachable)
        finally:
            try:
                host.quit()
            except Exception:
                host.close()
    refused = "; ".join(f"{addr}: {_reply_text(reply)}" for addr, reply in (host.refused or {}).items())
    return Delivery(
        True,
        reply=_reply_text(host.data_reply),
        error=f"refused recipients (not retried): {refused}" if refused else None,
    )


def _reply_text(reply) -> str | None:
    if not reply:
        return None
    code, message = reply
    return f"{code} {message.decode(errors='replace') if isinstance(message, bytes) else message}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "all recipients refused: " + "; ".join(
            f"{addr}: {_reply_text(reply)}" for addr, reply in exc.recipients.items()
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {_reply_text((exc.smtp_code, exc.smtp_error))}"
    return f"{type(exc).__name__}: {exc}"


_DUE = """
    SELECT id, recipients, subject, body_text, body_html, created_at, attempts FROM mail_outbox
    WHERE sent_at IS NULL AND next_attempt_at <= COALESCE(CAST(:now AS timestamptz), now())
      AND id <> ALL(CAST(:tried AS bigint[])) {only}
    ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"""


def send_pending(limit: int = 50, *, now=None, ids: list[int] | None = None) -> dict:
    """Send up to ``limit`` due outbox messages, one transaction each; returns counts.

    Each message is locked, handed to the server and marked sent (or its failure recorded, with the
    next attempt pushed back) in one transaction. Messages another process holds are skipped. When
    the server cannot be reached, the batch stops there. ``now`` (tests, "retry now") overrides the
    clock the due time is compared with; ``ids`` limits the batch to these messages.
    """
    settings = load_settings()
    sender = settings.mail.get("MAIL_DEFAULT_SENDER") or "dialstat@localhost"
    result = {"sent": 0, "failed": 0, "errors": []}
    tried: list[int] = []
    only = "AND id = ANY(CAST(:ids AS bigint[]))" if ids is not None else ""
    while len(tried) < limit:
        with db.transaction() as conn:
            row = (
                conn.execute(sa.text(_DUE.format(only=only)), {"now": now, "tried": tried, "ids": list(ids or [])})
                .mappings()
                .first()
            )
            if row is None:
                break
            tried.append(row["id"])
            parts = (
                conn.execute(
                    sa.text(
                        "SELECT disposition, filename, content_type, content FROM mail_outbox_part "
                        "WHERE outbox_id = :id ORDER BY position"
                    ),
                    {"id": row["id"]},
                )
                .mappings()
                .all()
            )
            message = OutboxMessage(
                subject=row["subject"],
                recipients=list(row["recipients"]),
                body=row["body_text"],
                html=row["body_html"],
                sender=sender,
                message_id=message_id(row["id"], row["created_at"], sender),
                attachments=[
                    flask_mail.Attachment(p["filename"], p["content_type"], bytes(p["content"]))
                    for p in parts
                    if p["disposition"] == "attachment"
                ],
                inline_images=[
                    (p["filename"], p["content_type"], bytes(p["content"]))
                    for p in parts
                    if p["disposition"] == "inline"
                ],
            )
            outcome = deliver(message, settings)
            if outcome.accepted:
                conn.execute(
                    sa.text(
                        "UPDATE mail_outbox SET sent_at = clock_timestamp(), attempts = attempts + 1, "
                        "smtp_reply = :reply, last_error = :error WHERE id = :id"
                    ),
                    {"id": row["id"], "reply": outcome.reply, "error": outcome.error},
                )
                result["sent"] += 1
            else:
                delay = min(BACKOFF_FIRST_SECONDS * 2 ** row["attempts"], BACKOFF_MAX_SECONDS)
                conn.execute(
                    sa.text(
                        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = :error, "
                        "next_attempt_at = COALESCE(CAST(:now AS timestamptz), clock_timestamp()) "
                        "+ make_interval(secs => :delay) WHERE id = :id"
                    ),
                    {"id": row["id"], "error": outcome.error, "now": now, "delay": delay},
                )
                result["failed"] += 1
                result["errors"].append(f"{row['id']}: {outcome.error}")
                log.warning("mail %s not sent (attempt %s): %s", row["id"], row["attempts"] + 1, outcome.error)
        if not outcome.accepted and outcome.unreachable:
            break
    return result


# --- the outbox, for admins -----------------------------------------------------------------------------


def outbox(limit: int = 200) -> list[dict]:
    """The latest messages, newest first, with their state (for the admin outbox page)."""
    return db.rows(
        """SELECT o.id, o.created_at, o.subject, array_to_string(o.recipients, ', ') AS recipients,
                  CASE WHEN o.sent_at IS NOT NULL THEN 'sent' WHEN o.attempts = 0 THEN 'queued'
                       ELSE 'retrying' END AS status,
                  o.attempts, o.sent_at, CASE WHEN o.sent_at IS NULL THEN o.next_attempt_at END AS next_attempt_at,
                  o.last_error, o.smtp_reply, o.dedup_key,
                  (SELECT count(*) FROM mail_outbox_part p WHERE p.outbox_id = o.id) AS parts
           FROM mail_outbox o ORDER BY o.created_at DESC, o.id DESC LIMIT :limit""",
        limit=limit,
    )


def outbox_counts() -> dict:
    return db.rows(
        """SELECT count(*) FILTER (WHERE sent_at IS NULL) AS unsent,
                  count(*) FILTER (WHERE sent_at IS NULL AND attempts > 0) AS retrying,
                  count(*) FILTER (WHERE sent_at >= now() - interval '1 day') AS sent_24h
           FROM mail_outbox"""
    )[0]


def retry_now() -> int:
    """Make every unsent message due now; returns how many."""
    return db.execute("UPDATE mail_outbox SET next_attempt_at = now() WHERE sent_at IS NULL")


def purge_sent(days: int = 90) -> int:
    """Delete messages sent more than ``days`` ago (dedup keys of reports only matter for a month)."""
    return db.execute("DELETE FROM mail_outbox WHERE sent_at < now() - make_interval(days => :days)", days=days)


# --- error e-mails --------------------------------------------------------------------------------------


def notify_job_failure(job_name: str, error_text: str, now=None) -> int | None:
    """One e-mail to the admins about a failed job, at most one per job and hour; never raises."""
    try:
        now = now or datetime.now(timezone.utc)
        recipients = admin_addresses()
        if not recipients:
            log.warning("job %s failed; no admin has an e-mail address to tell", job_name)
            return None
        hour = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:00Z")
        first_line = (error_text or "").strip().splitlines()[0] if (error_text or "").strip() else "(no message)"
        body = (
            f"The scheduled job {job_name!r} failed at {now.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC "
            f"on {socket.gethostname()}.\n\nError: {first_line}\n\n{error_text}\n\n"
            f"Further failures of this job within the hour are not mailed; every run is recorded in job_run.\n"
        )
        return queue_mail(
            recipients, f"Job {job_name} failed: {first_line[:120]}", body, dedup_key=f"job-failure:{job_name}:{hour}"
        )
    except Exception:
        log.exception("could not queue the error e-mail for job %s", job_name)
        return None


# --- mail-debug -----------------------------------------------------------------------------------------


def debug_session(recipients: list[str], echo: Callable[[str], None], settings: Settings | None = None) -> bool:
    """Send a test message with smtplib step by step, echoing every answer of the server; True if accepted."""
    config = mail_config(settings)
    server, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
    timeout = float(config.get("MAIL_TIMEOUT") or 10)
    sender = config.get("MAIL_DEFAULT_SENDER") or "dialstat@localhost"
    mode = "SSL" if config.get("MAIL_USE_SSL") else ("STARTTLS" if config.get("MAIL_USE_TLS") else "plain")
    echo(f"connecting to {server}:{port} ({mode}, timeout {timeout:g} s) as {sender}")

    def show(step: str, reply) -> tuple:
        code, message = reply
        text_ = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        lines = text_.splitlines() or [""]
        for i, line in enumerate(lines):
            echo(f"{step:<10} <- {code}{'-' if i < len(lines) - 1 else ' '}{line}")
        return reply

    cls = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
    client = cls(timeout=timeout)
    try:
        show("connect", client.connect(server, port))
        show("EHLO", client.ehlo())
        if config.get("MAIL_USE_TLS"):
            show("STARTTLS", client.starttls())
            show("EHLO", client.ehlo())
        if config.get("MAIL_USERNAME") and config.get("MAIL_PASSWORD"):
            try:
                show("AUTH", client.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"]))
            except smtplib.SMTPAuthenticationError as exc:
                show("AUTH", (exc.smtp_code, exc.smtp_error))
                return False
        msg = EmailMessage(policy=policy.SMTP)
        msg["Subject"] = f"{config.get('MAIL_SUBJECT_PREFIX') or ''}Test message (mail-debug)"
        msg["From"] = sender
        msg["To"] = ", ".join(recipients)
        msg["Date"] = formatdate(localtime=True)
        msg.set_content(
            f"This is a test message from Dialstat's mail-debug, sent through {server}:{port}.\n"
            "If you can read it, outgoing mail works.\n"
        )
        code, reply = show("MAIL FROM", client.mail(sender))
        if code != 250:
            return False
        accepted = 0
        for recipient in recipients:
            code, _ = show("RCPT TO", client.rcpt(recipient))
            accepted += code in (250, 251)
        if not accepted:
            client.rset()
            return False
        code, _ = show("DATA", client.data(msg.as_bytes()))
        return code == 250
    except (OSError, smtplib.SMTPException) as exc:
        echo(f"error: {_describe(exc)}")
        return False
    finally:
        try:
            show("QUIT", client.quit())
        except Exception:
            client.close()
