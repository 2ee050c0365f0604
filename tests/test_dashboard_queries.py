"""The dashboard's one query for hours, causes and switches gives the rows the separate report queries give."""

import random
from datetime import datetime, timedelta

import pytest

from data.admin import users
from data.core.scope import Scope
from data.reports.traffic import ReportFilter, breakdown, dashboard_breakdowns, traffic_by_time
from tests.cdr_factory import UTC, ensure_switch, insert_calls, random_calls

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def traffic(app):
    rng = random.Random(5)
    a = users.create_user("dq-a", "dq-a-pw-1", "customer", accountcodes=("3001",), timezone="Asia/Kolkata")
    b = users.create_user("dq-b", "dq-b-pw-1", "customer", accountcodes=("3002",))
    switches = [ensure_switch("dq-1", "10.6.0.1"), ensure_switch("dq-2", "10.6.0.2"), ensure_switch("dq-3", "10.6.0.3")]
    calls = random_calls(
        400, switches, NOW - timedelta(hours=30), 2, rng, accounts=[("3001", a.id), ("3002", b.id), ("", None)]
    )
    insert_calls([c for c in calls if c["starting_date"] < NOW])
    return {"a": a, "b": b, "switches": switches}


def test_one_query_gives_the_rows_of_three(traffic):
    a, b, switches = traffic["a"], traffic["b"], traffic["switches"]
    scopes = [Scope(None), Scope(None, "Asia/Kathmandu"), Scope(a.id, "Asia/Kolkata"), Scope(b.id)]
    filters = [
        {},
        {"switch_ids": (switches[1],)},
        {"accountcodes": ("3001",)},
        {"user_ids": (b.id,)},
        {"switch_ids": (switches[0], switches[2]), "accountcodes": ("3002", "")},
    ]
    for scope in scopes:
        for chosen in filters:
            f = ReportFilter.last_hours(24, now=NOW, **chosen)
            parts = dashboard_breakdowns(scope, f)
            assert parts["hour"] == traffic_by_time(scope, f, "hour")
            assert parts["hangup_cause"] == breakdown(scope, f, "hangup_cause")
            assert parts["switch"] == breakdown(scope, f, "switch")
    assert dashboard_breakdowns(Scope(None), ReportFilter.last_hours(24, now=NOW))["hour"]  # not all empty
