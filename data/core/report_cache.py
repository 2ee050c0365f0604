"""Report query results kept for a few seconds, per scope and filter (Flask-Caching's in-process cache).

Dashboards refresh themselves, several people look at the same numbers, and a page fires several
callbacks with the same filters: the same report query is asked again and again within seconds. A
function decorated with :func:`cached` keeps its result for ``REPORT_CACHE_SECONDS`` (5 by default; 0
turns it off), keyed by the function, the ``Scope`` (whose calls, which time zone) and every other
argument (the ``ReportFilter``: range, switches, customers, accountcodes). A customer's result can
never answer another scope's question: the scope is part of the key.

The cache is per process (each gunicorn worker has its own; nothing to share or invalidate between
hosts): a new call shows at most that many seconds late. Results are returned as copies, so a caller
changing them does not change the cached one.

While it is on, :class:`Recent` also keeps the rows every request looks up again (the logged-in user,
a customer's group permissions) for ``LOOKUP_SECONDS``: a change to a user or a group takes effect
within a second in each process, and a page's burst of callbacks reads the user once.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Hashable
from datetime import datetime

from flask_caching.backends import SimpleCache

from data.core.db import reading
from data.core.settings import load_settings

MAX_ENTRIES = 2000
LOOKUP_SECONDS = 1.0
_cache = SimpleCache(threshold=MAX_ENTRIES, default_timeout=5)
_ttl: int | None = None
_lock = threading.Lock()
_computing: dict[str, threading.Lock] = {}  # keys being computed now
stats = {"hits": 0, "misses": 0}


def ttl() -> int:
    global _ttl
    if _ttl is None:
        _ttl = max(0, load_settings().ops.report_cache_seconds)
    return _ttl


def _copy(value):
    if isinstance(value, list):
        return [dict(v) if isinstance(v, dict) else v for v in value]
    if isinstance(value, dict):
        return dict(value)
    return value


def _key_part(value, seconds: int, now: float):
    """A hashable, printable form of an argument.

    Whole minutes (days and times of day a user chose) are kept exact. Other instants were read from the
    clock ("the last 24 hours" ends now): they are kept as how long ago they are, in TTL steps, so the
    same question asked again within the TTL is one question, whatever its exact "now". Entries then
    expire TTL seconds after each was computed, not all at once on a shared clock boundary.
    """
    if isinstance(value, datetime):
        if value.second == 0 and value.microsecond == 0:
            return ("t", value.timestamp())
        return ("ago", round((now - value.timestamp()) / seconds))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__qualname__,
            *(_key_part(getattr(value, f.name), seconds, now) for f in dataclasses.fields(value) if f.compare),
        )
    if isinstance(value, (list, tuple)):
        return tuple(_key_part(v, seconds, now) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _key_part(v, seconds, now)) for k, v in value.items()))
    return value


def cached(func):
    """Keep ``func(scope, *args, **kwargs)``'s result for REPORT_CACHE_SECONDS, per argument values. A report
    only reads: it runs on a read replica when there is one (``db.reading``)."""
    func = reading(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        seconds = ttl()
        if seconds <= 0:
            return func(*args, **kwargs)
        now = time.time()
        key = repr((func.__module__, func.__qualname__, _key_part(args, seconds, now), _key_part(kwargs, seconds, now)))
        found = _cache.get(key)
        if found is None:
            # One thread per process computes a missing answer; the others asking the same wait for it.
            with _lock:
                computing = _computing.setdefault(key, threading.Lock())
            with computing:
                found = _cache.get(key)
                if found is None:
                    stats["misses"] += 1
                    try:
                        found = func(*args, **kwargs)
                        with _lock:
                            _cache.set(key, found, timeout=seconds)
                    finally:
                        with _lock:
                            _computing.pop(key, None)
                    return _copy(found)
        stats["hits"] += 1
        return _copy(found)

    wrapper.uncached = func
    return wrapper


class Recent:
    """``load(key)`` kept for ``LOOKUP_SECONDS`` per key, while the report cache is on (else always loaded)."""

    def __init__(self, load: Callable):
        self._load = load
        self._kept: dict[Hashable, tuple[float, object]] = {}
        _recent.append(self)

    def get(self, key: Hashable):
        if ttl() <= 0:
            return self._load(key)
        now = time.monotonic()
        found = self._kept.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = self._load(key)
        if len(self._kept) >= MAX_ENTRIES:
            self._kept = {}
        self._kept[key] = (now + LOOKUP_SECONDS, value)
        return value

    def clear(self) -> None:
        self._kept = {}


_recent: list[Recent] = []


def clear() -> None:
    """Forget every kept result (tests; a rebuild of the rollups)."""
    global _ttl
    _cache.clear()
    for recent in _recent:
        recent.clear()
    _ttl = None
