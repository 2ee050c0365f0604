"""What a scheduled job is. Each domain's jobs module lists its own in ``JOBS``; ``jobs/scheduler.py`` reads
those lists, and so does the diagnostic page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    func: Callable[[], dict | None]
    period_seconds: int
