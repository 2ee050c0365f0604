"""Report cache keys and misses: chosen times exact, clock readings by age, one computation per missing key."""

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from data.core import report_cache
from data.core.report_cache import cached

USES_DATABASE = False


def test_chosen_minutes_are_exact_and_clock_readings_go_by_age(cache_on):
    asked = []

    @cached
    def answer(start, end):
        asked.append((start, end))
        return [{"n": len(asked)}]

    midnight = datetime(2026, 11, 20, tzinfo=timezone.utc)
    assert answer(midnight, midnight + timedelta(minutes=1)) != answer(midnight, midnight + timedelta(minutes=2))
    now = datetime.now(timezone.utc).replace(microsecond=123)
    first = answer(now - timedelta(hours=24), now)
    later = datetime.now(timezone.utc).replace(microsecond=456) + timedelta(seconds=1)
    assert answer(later - timedelta(hours=24), later) == first  # "the last 24 hours" again: kept
    assert answer(later - timedelta(hours=3), later) != first  # another window
    assert len(asked) == 4


def test_a_missing_answer_is_computed_once_for_every_thread_asking(cache_on):
    calls = []

    @cached
    def slow(x):
        calls.append(x)
        time.sleep(0.2)
        return [{"x": x}]

    results = []
    threads = [threading.Thread(target=lambda: results.append(slow(7))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [7] and results == [[{"x": 7}]] * 6
    assert not report_cache._computing


def test_a_failed_computation_leaves_nothing_behind(cache_on):
    @cached
    def broken(x):
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        broken(1)
    assert not report_cache._computing
