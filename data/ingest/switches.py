"""Switches as the import sees them: a row's switch (IP or name) → switch id and time zone, created when
unknown; and the per-switch keys of the push API (only their hash is stored)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import text

from data.core import db
from data.ingest.fields import MAX_SWITCH_LENGTH

log = logging.getLogger("dialstat.ingest")


def valid_timezone(name: str | None) -> str:
    """The switch's zone if it is a real one, else UTC (an unknown zone would stop every import)."""
    try:
        ZoneInfo(name or "UTC")
        return name or "UTC"
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("switch time zone %r is unknown: its naive times are read as UTC", name)
        return "UTC"


class SwitchResolver:
    """Switch value → (id, time zone), cached for one import; shared by its worker threads."""

    def __init__(self, default: str | None = None, source_type: int = 0, is_demo: bool = False):
        self.default = (default or "").strip() or None
        self.source_type, self.is_demo = source_type, is_demo
        self._cache: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()

    def resolve(self, value: str | None) -> tuple[int, str] | None:
        """The switch a row names, else the import's default; None when neither is known."""
        name = (value or "").strip() or self.default
        if not name or not usable_switch_name(name):
            return None  # the row is rejected, with the reason (mediation)
        with self._lock:
            if name not in self._cache:
                self._cache[name] = find_or_create_switch(name, self.source_type, self.is_demo)
            return self._cache[name]


def usable_switch_name(name: str) -> bool:
    """A switch an import may create: at most ``MAX_SWITCH_LENGTH`` characters, no control character."""
    return len(name) <= MAX_SWITCH_LENGTH and not any(ord(c) < 32 or c == "\x7f" for c in name)


def find_switch(name_or_ip: str) -> dict | None:
    found = db.rows(
        "SELECT id, name, ip, timezone FROM switch WHERE ip = :v OR name = :v ORDER BY (ip = :v) DESC LIMIT 1",
        v=name_or_ip,
    )
    return found[0] if found else None


def find_or_create_switch(name_or_ip: str, source_type: int = 0, is_demo: bool = False) -> tuple[int, str]:
    """An unknown switch IP (or name) creates a switch row named after it."""
    found = find_switch(name_or_ip)
    if found is None:
        with db.transaction() as conn:
            conn.execute(
                text(
                    "INSERT INTO switch (name, ip, source_type, is_demo) VALUES (:v, :v, :t, :demo) "
                    "ON CONFLICT DO NOTHING"
                ),
                {"v": name_or_ip, "t": source_type, "demo": is_demo},
            )
        found = find_switch(name_or_ip)
        if found is None:
            raise RuntimeError(f"could not create switch {name_or_ip!r}")
        log.info("new switch %r (id %s) created by an import", name_or_ip, found["id"])
    return found["id"], valid_timezone(found["timezone"])


# --- Push API keys ---


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def rotate_push_key(name_or_ip: str) -> tuple[dict, str]:
    """Create (or replace) the switch's push key; returns the switch and the key, which is not stored."""
    switch = find_switch(name_or_ip)
    if switch is None:
        find_or_create_switch(name_or_ip)
        switch = find_switch(name_or_ip)
    key = f"{switch['id']}.{secrets.token_urlsafe(32)}"
    with db.transaction() as conn:
        conn.execute(
            text("UPDATE switch SET push_key_hash = :h WHERE id = :id"), {"h": _hash_key(key), "id": switch["id"]}
        )
    return switch, key


def switch_for_push_key(key: str | None) -> dict | None:
    """The switch whose key this is, compared in constant time; None for a missing or wrong key."""
    if not key or "." not in key:
        return None
    switch_id = key.split(".", 1)[0]
    if not switch_id.isdigit():
        return None
    found = db.rows(
        "SELECT id, name, ip, timezone, source_type, push_key_hash FROM switch WHERE id = :id", id=int(switch_id)
    )
    if not found or not found[0]["push_key_hash"]:
        return None
    if not hmac.compare_digest(found[0]["push_key_hash"], _hash_key(key)):
        return None
    return found[0]
