"""Per-request lookups kept for a second while the report cache is on: the logged-in user and a customer's
group permissions. Each session still gets its own user and scope; changes apply within the second."""

import time
from datetime import datetime

import pytest

import app as app_module
from data.admin import acl, users
from data.core import db, report_cache
from tests.cdr_factory import UTC, customers_with_calls
from tests.conftest import login
from tests.dash_client import dash_call, dash_request

ADMIN = users.User(id=1, username="admin", email=None, role="admin", timezone="UTC")
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def customers(app):
    app.test_client().get("/login")
    a, b = customers_with_calls("look", "10.71.0.1", {"la": 2, "lb": 7}, NOW)
    return a, b


def _client(app, username, password):
    c = app.test_client()
    assert login(c, username, password).status_code == 302
    return c


def _calls_kpi(client) -> str:
    return dash_call(client, "refresh_dashboard", [None, None, None, None])[("kpi-calls", "children")]


def test_each_session_keeps_its_own_user_and_the_row_is_read_once(app, customers, cache_on, monkeypatch):
    loads = []
    real = app_module._recent_users._load
    monkeypatch.setattr(app_module._recent_users, "_load", lambda user_id: loads.append(user_id) or real(user_id))
    a, b = customers
    client_a, client_b = _client(app, "look-a", "look-a-pw-1"), _client(app, "look-b", "look-b-pw-1")
    for _ in range(3):
        assert _calls_kpi(client_a) == "2" and _calls_kpi(client_b) == "7"
    assert sorted(loads) == sorted([a.id, b.id])  # once each (the login itself reads the row by name)


def test_a_deactivated_user_is_refused_within_the_second(app, customers, cache_on, monkeypatch):
    monkeypatch.setattr(report_cache, "LOOKUP_SECONDS", 0.2)
    a, _ = customers
    client = _client(app, "look-a", "look-a-pw-1")
    assert _calls_kpi(client) == "2"
    db.execute("UPDATE app_user SET is_active = false WHERE id = :id", id=a.id)
    try:
        time.sleep(0.3)
        assert dash_request(client, "refresh_dashboard", [None, None, None, None]).status_code == 401
    finally:
        db.execute("UPDATE app_user SET is_active = true WHERE id = :id", id=a.id)


def test_group_changes_apply_at_the_next_request(app, customers, cache_on):
    _, b = customers
    group = acl.create_group(ADMIN, "look dashboard", [acl.page_permission("/")])
    with db.transaction() as conn:
        acl.set_user_groups(conn, b.id, [group])
    try:
        client = _client(app, "look-b", "look-b-pw-1")
        assert dash_request(client, "refresh_by_day", ["?preset=7d"]).status_code == 403
        acl.update_group(ADMIN, group, permissions=[acl.page_permission("/"), acl.page_permission("/cdrs")])
        assert dash_request(client, "refresh_by_day", ["?preset=7d"]).status_code == 200
    finally:
        acl.delete_group(ADMIN, group)
    assert dash_request(client, "refresh_by_day", ["?preset=7d"]).status_code == 200  # no group: every page


def test_cached_grid_blocks_and_charts_stay_per_customer(app, customers, cache_on):
    """The report cache shares answers between sessions of one scope only."""
    request = {"startRow": 0, "endRow": 100, "sortModel": []}
    seen = {}
    for name, password in (("look-a", "look-a-pw-1"), ("look-b", "look-b-pw-1"), ("admin", "admin-secret")):
        client = _client(app, name, password)
        for _ in range(2):  # the second answer comes from the cache
            block = dash_call(client, "load_block", [request], ["?preset=7d", None, None])
            rows = block[("cdr-search-grid", "getRowsResponse")]["rowData"]
            overview = dash_call(client, "refresh_overview", [None, None, "7d", None, None, None, "switch"])
            calls = sum(r["calls"] for r in overview[('{"chart":"overview-calls","type":"chart-data"}', "data")])
            counted = dash_call(client, "refresh_by_day", ["?preset=7d"])[("cdr-search-total", "data")]["total"]
            seen.setdefault(name, []).append((sorted(r["accountcode"] for r in rows), calls, counted))
    assert seen["look-a"] == [(["la"] * 2, 2, 2)] * 2
    assert seen["look-b"] == [(["lb"] * 7, 7, 7)] * 2
    assert seen["admin"][0] == seen["admin"][1] and seen["admin"][0][1:] == (9, 9)
