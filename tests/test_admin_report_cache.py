"""The report cache: per scope and filter, a few seconds, copies; off when REPORT_CACHE_SECONDS is 0."""

from datetime import datetime, timedelta

import pytest

from data.core import report_cache
from data.core.scope import Scope
from data.reports.traffic import ReportFilter, breakdown, totals
from tests.cdr_factory import UTC, call, customers_with_calls, ensure_switch, insert_calls

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def two_customers(app):
    a, b = customers_with_calls("cache", "10.70.0.1", {"ca": 3, "cb": 5}, NOW)
    return Scope(a.id), Scope(b.id)


def test_each_scope_and_filter_has_its_own_entry(two_customers, cache_on):
    a, b = two_customers
    f = ReportFilter.last_hours(3)
    assert totals(a, f).attempts == 3 and totals(b, f).attempts == 5 and totals(Scope(None), f).attempts == 8
    hits = report_cache.stats["hits"]
    assert totals(a, ReportFilter.last_hours(3)).attempts == 3  # the same question a moment later: kept
    assert report_cache.stats["hits"] == hits + 1
    assert totals(a, ReportFilter.last_hours(3, switch_ids=(999,))).attempts == 0  # another filter: asked


def test_results_are_copies_and_stay_for_the_ttl(two_customers, cache_on):
    a, _ = two_customers
    f = ReportFilter.last_hours(3)
    rows = breakdown(a, f, "switch")
    rows[0]["attempts"] = -1
    rows.append({"label": "junk"})
    assert breakdown(a, f, "switch") == [{**rows[0], "attempts": 3}]
    assert totals(a, f).attempts == 3
    insert_calls(
        [
            call(
                ensure_switch("cache-sw"),
                NOW - timedelta(minutes=30),
                accountcode="ca",
                user_id=a.user_id,
                callid="ca-late",
            )
        ]
    )
    assert totals(a, f).attempts == 3  # as old as the TTL allows
    report_cache.clear()
    assert totals(a, f).attempts == 4


def test_off_when_the_ttl_is_zero(two_customers, monkeypatch):
    monkeypatch.setenv("REPORT_CACHE_SECONDS", "0")
    report_cache.clear()
    a, _ = two_customers
    hits = report_cache.stats["hits"]
    for _ in range(3):
        totals(a, ReportFilter.last_hours(3))
    assert report_cache.stats["hits"] == hits
    report_cache.clear()
