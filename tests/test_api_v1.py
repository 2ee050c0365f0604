"""REST API v1: authentication (basic auth, tokens, session), tenant scoping through every endpoint and
filter, paging, KPIs, permissions and parameter errors."""

import base64
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from data.admin import accounts, acl, api_tokens, users
from data.core import db
from tests.cdr_factory import UTC, call, ensure_switch, insert_calls

NOW = datetime.now(UTC).replace(microsecond=0)


def basic(username: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# API tokens of admin, alice and bob (filled by ``world``): most tests use them, as basic auth costs a
# password hash check per request.
ADMIN, ALICE, BOB = {}, {}, {}


@pytest.fixture(scope="module")
def world(app):
    alice = users.create_user("alice", "alice-pw-1", "customer", accountcodes=("a1", "a2"))
    bob = users.create_user("bob", "bob-pw-12", "customer", accountcodes=("b1",))
    shared = ensure_switch("shared", "10.9.0.1")
    bobs = ensure_switch("bob-only", "10.9.0.2")
    idle = ensure_switch("idle", "10.9.0.3")
    calls = []
    for i in range(7):  # Alice: 7 calls on the shared switch, one every 10 minutes, newest first in the API
        calls.append(
            call(
                shared,
                NOW - timedelta(hours=2, minutes=10 * i),
                billsec=30 + i,
                accountcode=f"a{i % 2 + 1}",
                user_id=alice.id,
                callid=f"alice-{i}",
                country_code="ES",
                sell_cost=0.5,
                buy_cost=0.2,
            )
        )
    for i in range(3):
        calls.append(
            call(
                bobs if i else shared,
                NOW - timedelta(hours=3, minutes=i),
                billsec=60,
                accountcode="b1",
                user_id=bob.id,
                callid=f"bob-{i}",
                country_code="GB",
                sell_cost=1,
                buy_cost=0.4,
            )
        )
    insert_calls(calls)
    ids = {r["callid"]: r["id"] for r in db.rows("SELECT callid, id FROM cdr")}
    ADMIN.update(bearer(api_tokens.create_token(users.get_user_by_name("admin").id, "tests")))
    ALICE.update(bearer(api_tokens.create_token(alice.id, "tests")))
    BOB.update(bearer(api_tokens.create_token(bob.id, "tests")))
    return {"alice": alice, "bob": bob, "switches": {"shared": shared, "bob-only": bobs, "idle": idle}, "ids": ids}


def get(client, path, headers=None, **query):
    response = client.get(path, headers=headers or {}, query_string=query)
    return response, response.get_json(silent=True)


# --- authentication -----------------------------------------------------------------------------------------


def test_without_credentials_the_api_answers_401_json_with_a_challenge(client, world):
    response, body = get(client, "/api/v1/switches")
    assert response.status_code == 401
    assert body["detail"] and "Basic" in response.headers["WWW-Authenticate"]
    for bad in (basic("admin", "wrong"), {"Authorization": "Bearer nope"}, {"Authorization": "Basic !!!"}):
        assert get(client, "/api/v1/switches", bad)[0].status_code == 401


def test_basic_auth_tokens_and_a_browser_session_all_work(client, admin_client, world):
    _, by_basic = get(client, "/api/v1/cdrs", basic("alice", "alice-pw-1"))
    _, by_token = get(client, "/api/v1/cdrs", ALICE)
    assert by_basic == by_token and len(by_basic["results"]) == 7
    assert get(admin_client, "/api/v1/switches")[0].status_code == 200
    # Credentials on the API do not log the client in elsewhere.
    assert client.get("/_dash-layout").status_code == 401


def test_a_revoked_token_stops_working(client, world):
    token = api_tokens.create_token(world["bob"].id, "short-lived")
    assert get(client, "/api/v1/switches", bearer(token))[0].status_code == 200
    token_id = next(t["id"] for t in api_tokens.tokens_of(world["bob"].id) if t["name"] == "short-lived")
    api_tokens.revoke_token(token_id)
    assert get(client, "/api/v1/switches", bearer(token))[0].status_code == 401
    assert get(client, "/api/v1/switches", bearer(token + "x"))[0].status_code == 401


def test_basic_auth_failures_lock_the_username(client, world, make_user):
    make_user("carol", password="carol-pw-1")
    client.environ_base["REMOTE_ADDR"] = "10.78.0.1"  # an address of its own: failures also count per address
    for _ in range(5):
        assert get(client, "/api/v1/switches", basic("carol", "wrong"))[0].status_code == 401
    assert get(client, "/api/v1/switches", basic("carol", "carol-pw-1"))[0].status_code == 401  # locked
    from data.admin import lockout

    lockout.clear("carol")
    assert get(client, "/api/v1/switches", basic("carol", "carol-pw-1"))[0].status_code == 200


def test_a_disabled_user_cannot_use_the_api(client, world, make_user):
    user = make_user("dave", password="dave-pw-12")
    token = api_tokens.create_token(user.id, "dave")
    assert get(client, "/api/v1/switches", bearer(token))[0].status_code == 200
    accounts.update_user(None, user.id, is_active=False)
    assert get(client, "/api/v1/switches", basic("dave", "dave-pw-12"))[0].status_code == 401
    assert get(client, "/api/v1/switches", bearer(token))[0].status_code == 401


# --- switches -----------------------------------------------------------------------------------------------


def test_switches_page_like_the_reference(client, world):
    response, body = get(client, "/api/v1/switches", ADMIN, page_size=2)
    assert response.status_code == 200
    assert body["count"] == 3 and len(body["results"]) == 2 and body["previous"] is None
    first = body["results"][0]
    assert set(first) >= {"id", "url", "name", "ipaddress", "source_type", "timezone"}
    assert first["url"].endswith(f"/api/v1/switches/{first['id']}")
    nxt = urlparse(body["next"])
    assert parse_qs(nxt.query) == {"page_size": ["2"], "page": ["2"]}
    _, page2 = get(client, nxt.path, ADMIN, **{k: v[0] for k, v in parse_qs(nxt.query).items()})
    assert len(page2["results"]) == 1 and page2["next"] is None and page2["previous"]
    seen = {s["name"] for s in body["results"] + page2["results"]}
    assert seen == {"shared", "bob-only", "idle"}
    _, detail = get(client, f"/api/v1/switches/{world['switches']['idle']}", ADMIN)
    assert detail["name"] == "idle" and detail["ipaddress"] == "10.9.0.3"


def test_a_customer_sees_only_the_switches_that_carried_their_calls(client, world):
    _, body = get(client, "/api/v1/switches", ALICE)
    assert body["count"] == 1 and [s["name"] for s in body["results"]] == ["shared"]
    assert "ipaddress" not in body["results"][0]
    for name in ("bob-only", "idle"):
        response, body = get(client, f"/api/v1/switches/{world['switches'][name]}", ALICE)
        assert response.status_code == 404 and body["detail"]
    assert get(client, "/api/v1/switches/99999", ADMIN)[0].status_code == 404


# --- CDRs ---------------------------------------------------------------------------------------------------


def _ids_of(body) -> list[int]:
    return [r["id"] for r in body["results"]]


def test_cdr_cursor_paging_walks_every_call_once_newest_first_and_back(client, world):
    expected = [world["ids"][f"alice-{i}"] for i in range(7)]  # alice-0 is the newest
    seen, pages, query = [], [], {"limit": 3}
    path = "/api/v1/cdrs"
    while True:
        response, body = get(client, path, ALICE, **query)
        assert response.status_code == 200, body
        pages.append(body)
        seen += _ids_of(body)
        if not body["next"]:
            break
        url = urlparse(body["next"])
        path, query = url.path, {k: v[0] for k, v in parse_qs(url.query).items()}
    assert seen == expected
    assert [len(p["results"]) for p in pages] == [3, 3, 1]
    assert pages[0]["previous"] is None and pages[0]["count"] == 7
    url = urlparse(pages[2]["previous"])
    _, back = get(client, url.path, ALICE, **{k: v[0] for k, v in parse_qs(url.query).items()})
    assert _ids_of(back) == expected[3:6]
    url = urlparse(back["previous"])
    _, first = get(client, url.path, ALICE, **{k: v[0] for k, v in parse_qs(url.query).items()})
    assert _ids_of(first) == expected[:3] and first["previous"] is None


def test_cdr_rows_hold_local_times_and_hide_the_buy_cost_from_customers(client, world):
    users_tz = world["alice"]
    accounts.update_user(None, users_tz.id, timezone="Asia/Kolkata")
    try:
        _, body = get(client, "/api/v1/cdrs", ALICE, limit=1)
        row = body["results"][0]
        assert row["starting_date"].endswith("+05:30")
        assert "buy_cost" not in row and row["sell_cost"] == 0.5 and row["switch"] == "shared"
        _, admin_body = get(client, "/api/v1/cdrs", ADMIN, limit=1)
        assert "buy_cost" in admin_body["results"][0]
    finally:
        accounts.update_user(None, users_tz.id, timezone="UTC")


def test_cdr_filters_and_detail_never_reach_another_customer(client, world):
    bob_ids = {world["ids"][f"bob-{i}"] for i in range(3)}
    bob = world["bob"]
    for query in (
        {},
        {"accountcode": "b1"},
        {"customer": str(bob.id)},
        {"switch": str(world["switches"]["bob-only"])},
        {"country": "GB"},
        {"preset": "12m"},
        {"dst": "34", "dst_op": "begins"},
    ):
        response, body = get(client, "/api/v1/cdrs", ALICE, **query)
        assert response.status_code == 200, (query, body)
        assert not bob_ids & set(_ids_of(body)), query
    for cdr_id in bob_ids:
        response, body = get(client, f"/api/v1/cdrs/{cdr_id}", ALICE)
        assert response.status_code == 404 and body == {"detail": "no such CDR"}
    own = world["ids"]["alice-0"]
    _, detail = get(client, f"/api/v1/cdrs/{own}", ALICE)
    assert detail["id"] == own and detail["callid"] == "alice-0" and "buy_cost" not in detail
    _, as_admin = get(client, f"/api/v1/cdrs/{own}", ADMIN)
    assert as_admin["buy_cost"] == 0.2 and as_admin["customer"] == "alice"


def test_cdr_filters_select_what_they_say(client, world):
    _, body = get(client, "/api/v1/cdrs", ADMIN, accountcode="b1")
    assert set(_ids_of(body)) == {world["ids"][f"bob-{i}"] for i in range(3)}
    _, body = get(client, "/api/v1/cdrs", ADMIN, customer=str(world["alice"].id), billsec="33", billsec_op="ge")
    assert set(_ids_of(body)) == {world["ids"][f"alice-{i}"] for i in range(3, 7)}
    assert body["count"] is None  # a per-call filter: the rollups cannot count it


BAD_QUERIES = {
    "/api/v1/cdrs": [
        {"limit": "0"},
        {"limit": "5000"},
        {"limit": "x"},
        {"cursor": "not-a-cursor"},
        {"start": "2024-13-01"},
        {"preset": "forever"},
        {"direction": "sideways"},
        {"duration": "-1"},
        {"country": "Spain"},
        {"dst": "1\x00"},
    ],
    "/api/v1/kpis": [
        {"group_by": "planet"},
        {"from": "yesterday"},
        {"from": "2024-05-02", "to": "2024-05-01"},
        {"group_by": "hour", "from": "2020-01-01", "to": "2024-01-01"},
        {"switch": "one"},
        {"from": "0001-01-01"},
    ],
}


@pytest.mark.parametrize("path, query", [(path, query) for path, queries in BAD_QUERIES.items() for query in queries])
def test_invalid_parameters_are_400_not_ignored(client, world, path, query):
    response, body = get(client, path, ADMIN, **query)
    assert response.status_code == 400 and body["detail"]


# --- KPIs ---------------------------------------------------------------------------------------------------


def test_kpis_group_by_and_scope(client, world):
    today = NOW.date().isoformat()
    start = (NOW - timedelta(days=1)).date().isoformat()
    _, body = get(client, "/api/v1/kpis", ADMIN, group_by="customer", **{"from": start, "to": today})
    by_customer = {r["label"]: r for r in body["results"]}
    assert by_customer["alice"]["calls"] == 7 and by_customer["bob"]["calls"] == 3
    assert body["totals"]["calls"] == 10 and body["totals"]["asr"] == 1.0
    assert body["totals"]["margin"] == pytest.approx(7 * 0.3 + 3 * 0.6)

    _, mine = get(client, "/api/v1/kpis", ALICE, group_by="customer", **{"from": start, "to": today})
    assert [r["label"] for r in mine["results"]] == ["alice"]
    assert mine["totals"]["calls"] == 7 and mine["totals"]["cost"] == pytest.approx(3.5)  # what she is charged
    assert "margin" not in mine["totals"] and "revenue" not in mine["totals"]

    for group_by, keys in (("switch", {world["switches"]["shared"]}), ("country", {"ES"})):
        _, body = get(
            client, "/api/v1/kpis", ALICE, group_by=group_by, customer=str(world["bob"].id), accountcode="b1,a1"
        )
        assert {r["key"] for r in body["results"]} <= keys and body["totals"]["calls"] == 4  # a1: 4 of her 7

    _, hourly = get(client, "/api/v1/kpis", ADMIN, group_by="hour", **{"from": start, "to": today})
    assert sum(r["calls"] for r in hourly["results"]) == 10 and all("period" in r for r in hourly["results"])
    _, daily = get(client, "/api/v1/kpis", BOB, group_by="day")
    assert sum(r["calls"] for r in daily["results"]) == 3


# --- permissions --------------------------------------------------------------------------------------------


def test_groups_decide_which_endpoints_a_customer_may_use(client, world):
    alice = world["alice"]
    no_api = acl.create_group(None, "reports-only", [acl.page_permission("/"), acl.page_permission("/overview")])
    api_no_cdrs = acl.create_group(None, "api-no-cdrs", ["feature:api", acl.page_permission("/overview")])
    try:
        accounts.update_user(None, alice.id, group_ids=[no_api])
        assert get(client, "/api/v1/switches", ALICE)[0].status_code == 403
        accounts.update_user(None, alice.id, group_ids=[api_no_cdrs])
        assert get(client, "/api/v1/switches", ALICE)[0].status_code == 200
        assert get(client, "/api/v1/kpis", ALICE)[0].status_code == 200
        response, body = get(client, "/api/v1/cdrs", ALICE)
        assert response.status_code == 403 and "page:/cdrs" in body["detail"]
        assert get(client, f"/api/v1/cdrs/{world['ids']['alice-0']}", ALICE)[0].status_code == 403
    finally:
        accounts.update_user(None, alice.id, group_ids=[])
        acl.delete_group(None, no_api)
        acl.delete_group(None, api_no_cdrs)
    assert get(client, "/api/v1/cdrs", ALICE)[0].status_code == 200  # no group: the default customer rights


def test_unknown_api_paths_answer_json_404(client, world):
    response, body = get(client, "/api/v1/nothing-here", ADMIN)
    assert response.status_code == 404 and body["detail"]
    response = client.post("/api/v1/switches", headers=ADMIN)
    assert response.status_code == 405 and response.get_json()["detail"]
    _, index = get(client, "/api/v1/", ADMIN)
    assert set(index) == {"switches", "cdrs", "kpis", "openapi"}
