"""Webhooks and the notification fan-out of alarms, threats and destination alerts.

A webhook is a URL and a secret. Each notification is a JSON POST whose body is signed with
HMAC-SHA256 under the webhook's secret, sent in ``X-Dialstat-Signature: sha256=<hex>``; the receiver
recomputes it over the raw body (``verify_signature``). Deliveries are rows of ``webhook_delivery``,
processed by the ``webhooks`` job (and right after an alarm run): a POST that fails (an error, a
timeout of 5 s, an answer other than 2xx) is retried with backoff, and the queue survives restarts.
A delivery is leased while it is being sent (``FOR UPDATE SKIP LOCKED``), so two processes never
send the same one at once. Every delivery is kept, with its attempts and last error.

``notify`` sends one notification: an e-mail through ``data.core.mailer.queue_mail`` and the webhooks
that should receive it, all under one ``dedup_key`` (flood control: the same key is never sent twice).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import text

from data.core import db
from data.core.i18n import DEFAULT_LANGUAGE, speaking
from data.core.i18n import gettext as _

log = logging.getLogger("dialstat.webhooks")

SIGNATURE_HEADER = "X-Dialstat-Signature"
TIMEOUT_SECONDS = 5
BACKOFF_SECONDS = (30, 120, 600, 1800, 7200)  # wait after the 1st, 2nd, ... failed attempt
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
LEASE_SECONDS = 60  # a delivery being sent is not picked up again before this
EVENT_KINDS = ("threat", "destination_alert")  # broadcasts a webhook can subscribe to (alarms pick theirs)


class WebhookError(ValueError):
    """A webhook definition that cannot be saved."""


# --- signing --------------------------------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute the signature over the raw body, compare in constant time."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header)


def _json_default(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_payload(payload: dict) -> str:
    return json.dumps(payload, default=_json_default, sort_keys=True, separators=(",", ":"))


# --- webhooks (admin) -----------------------------------------------------------------------------------


def list_webhooks() -> list[dict]:
    return db.rows("""SELECT w.id, w.name, w.url, w.events, w.is_active, w.created_at,
                             (SELECT count(*) FROM webhook_delivery d WHERE d.webhook_id = w.id
                                AND d.status = 'pending') AS pending
                      FROM webhook w ORDER BY w.name""")


def get_webhook(webhook_id: int) -> dict | None:
    found = db.rows("SELECT * FROM webhook WHERE id = :id", id=webhook_id)
    return found[0] if found else None


def save_webhook(
    name: str,
    url: str,
    secret: str | None = None,
    events=EVENT_KINDS,
    is_active: bool = True,
    webhook_id: int | None = None,
) -> dict:
    """Create or update a webhook; a blank secret keeps the old one (or generates one)."""
    name, url = (name or "").strip(), (url or "").strip()
    if not name:
        raise WebhookError(_("A webhook needs a name."))
    if not url.lower().startswith(("http://", "https://")) or any(ch.isspace() for ch in url):
        raise WebhookError(_("The URL must start with http:// or https://."))
    events = [e for e in (events or ()) if e in EVENT_KINDS]
    secret = (secret or "").strip()
    values = {"name": name, "url": url, "events": events, "active": is_active}
    if webhook_id:
        row = db.first(
            """UPDATE webhook SET name = :name, url = :url, events = :events, is_active = :active,
                      secret = COALESCE(NULLIF(:secret, ''), secret)
               WHERE id = :id RETURNING *""",
            **values,
            secret=secret,
            id=webhook_id,
        )
    else:
        row = db.first(
            """INSERT INTO webhook (name, url, secret, events, is_active)
               VALUES (:name, :url, :secret, :events, :active) RETURNING *""",
            **values,
            secret=secret or secrets.token_hex(24),
        )
    if row is None:
        raise WebhookError(_("No such webhook."))
    return row


def delete_webhook(webhook_id: int) -> None:
    db.execute("DELETE FROM webhook WHERE id = :id", id=webhook_id)


# --- the delivery queue ----------------------------------------------------------------------------------


def enqueue(webhook_id: int, event: str, payload: dict, dedup_key: str | None = None) -> int | None:
    """Queue one POST; None when the webhook is inactive or ``dedup_key`` was already queued for it."""
    body = encode_payload({"event": event, **payload})
    with db.transaction() as conn:
        return conn.execute(
            text(
                """INSERT INTO webhook_delivery (webhook_id, event, body, dedup_key)
               SELECT id, :event, :body, :key FROM webhook WHERE id = :id AND is_active
               ON CONFLICT (webhook_id, dedup_key) DO NOTHING RETURNING id"""
            ),
            {"id": webhook_id, "event": event, "body": body, "key": dedup_key},
        ).scalar()


def subscribers(kind: str) -> list[int]:
    """Active webhooks receiving the ``kind`` broadcasts (threat, destination_alert)."""
    return [
        r["id"]
        for r in db.rows("SELECT id FROM webhook WHERE is_active AND :kind = ANY(events) ORDER BY id", kind=kind)
    ]


def _post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    """POST without following redirects; returns the HTTP status (raises on network errors)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def deliver_due(now: datetime | None = None, limit: int = 50, timeout: float = TIMEOUT_SECONDS) -> dict:
    """Send the deliveries that are due; failed ones are rescheduled with backoff, then given up."""
    now = now or datetime.now(timezone.utc)
    with db.transaction() as conn:
        due = (
            conn.execute(
                text(
                    """WITH due AS (
                   SELECT id FROM webhook_delivery WHERE status = 'pending' AND next_attempt_at <= :now
                   ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED)
               UPDATE webhook_delivery d SET attempts = d.attempts + 1,
                      next_attempt_at = CAST(:now AS timestamptz) + make_interval(secs => :lease)
               FROM due, webhook w WHERE d.id = due.id AND w.id = d.webhook_id
               RETURNING d.id, d.event, d.body, d.attempts, w.url, w.secret"""
                ),
                {"now": now, "limit": limit, "lease": LEASE_SECONDS},
            )
            .mappings()
            .all()
        )
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    for row in due:
        body = row["body"].encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Dialstat-Webhook/1",
            SIGNATURE_HEADER: sign(row["secret"], body),
            "X-Dialstat-Event": row["event"],
            "X-Dialstat-Delivery": str(row["id"]),
        }
        status, error = None, None
        try:
            status = _post(row["url"], body, headers, timeout)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except Exception as exc:  # network errors, timeouts: retried
            error = f"{type(exc).__name__}: {exc}"
        if error is None:
            db.execute(
                """UPDATE webhook_delivery SET status = 'delivered', delivered_at = :now,
                                 last_status_code = :code, last_error = NULL WHERE id = :id""",
                now=now,
                code=status,
                id=row["id"],
            )
            counts["delivered"] += 1
            continue
        log.warning("webhook delivery %s (attempt %s) failed: %s", row["id"], row["attempts"], error)
        if row["attempts"] >= MAX_ATTEMPTS:
            db.execute(
                """UPDATE webhook_delivery SET status = 'failed', last_status_code = :code,
                                 last_error = :error WHERE id = :id""",
                code=status,
                error=error,
                id=row["id"],
            )
            counts["failed"] += 1
        else:
            wait = BACKOFF_SECONDS[row["attempts"] - 1]
            db.execute(
                """UPDATE webhook_delivery SET next_attempt_at = :next, last_status_code = :code,
                                 last_error = :error WHERE id = :id""",
                next=now + timedelta(seconds=wait),
                code=status,
                error=error,
                id=row["id"],
            )
            counts["retry"] += 1
    return counts


def deliveries(limit: int = 100) -> list[dict]:
    """The latest deliveries, for the admin's history table."""
    return db.rows(
        """SELECT d.id, w.name AS webhook, d.event, d.status, d.attempts, d.last_status_code,
                             d.last_error, d.created_at, d.delivered_at, d.next_attempt_at
                      FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook_id
                      ORDER BY d.id DESC LIMIT :limit""",
        limit=limit,
    )


# --- notifications ---------------------------------------------------------------------------------------


def languages_of(addresses: list[str], default: str | None = None) -> dict[str | None, list[str]]:
    """``addresses`` by the language their reader chose (a user's address: theirs; any other: ``default``), so
    each reads the notification in their own language."""
    known = {
        r["email"].lower(): r["language"]
        for r in db.rows(
            "SELECT lower(email) AS email, language FROM app_user WHERE lower(email) = ANY(:emails) ORDER BY id DESC",
            emails=[a.lower() for a in addresses],
        )
    }
    groups: dict[str | None, list[str]] = {}
    for address in addresses:
        groups.setdefault(known.get(address.lower()) or default, []).append(address)
    return groups


def notify(
    recipients: list[str] | dict[str | None, list[str]],
    subject: str | Callable[[], tuple[str, str]],
    body: str,
    *,
    event: str,
    payload: dict,
    dedup_key: str,
    webhook_ids=(),
    broadcast: str | None = None,
) -> dict:
    """One notification: an e-mail to ``recipients`` and a POST to each webhook, once per ``dedup_key``.

    ``recipients`` by language (``languages_of``) with ``subject`` a function giving the subject and body in
    the current language: one e-mail per language, each written in it. ``webhook_ids``: the webhooks chosen
    by the rule; ``broadcast``: also every webhook subscribed to that kind of event. Returns what was queued
    (``mail``: the first e-mail's id).
    """
    from data.core import mailer

    groups = recipients if isinstance(recipients, dict) else {None: recipients}
    mail_id = None
    for language, addresses in groups.items():
        if not addresses:
            continue
        with speaking(language):
            title, text_body = subject() if callable(subject) else (subject, body)
        key = dedup_key if language in (None, DEFAULT_LANGUAGE) else f"{dedup_key}:{language}"
        try:
            queued_id = mailer.queue_mail(list(addresses), title, text_body, dedup_key=key)
            mail_id = mail_id or queued_id
        except Exception:  # a mail problem must not stop the other notifications
            log.exception("could not queue the e-mail %r", title)
    targets = list(dict.fromkeys([*(w for w in webhook_ids if w), *(subscribers(broadcast) if broadcast else [])]))
    queued = [d for d in (enqueue(w, event, payload, dedup_key) for w in targets) if d]
    return {"mail": mail_id, "webhooks": queued}
