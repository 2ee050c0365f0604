"""The CDR search's shared filter keys and flagged calls, without a browser: call ids and typed accountcodes in
the one report filter (search, REST API), blacklist / whitelist / threat flags (the threat's flagged calls are
the calls threat control counts), the rating explanation of a stored call, and saved searches per user (deleted
by their owner only)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import pytest

from data.admin import api_tokens, users
from data.alerting import threats
from data.alerting.flags import FLAGS, flag_condition
from data.cdr_search import saved
from data.cdr_search.search import export_columns, fetch_block, iter_export_rows, search_criteria_from_query
from data.core import db
from data.core.report_filter import report_filter_from_query, report_where
from data.core.scope import Scope
from data.rating.explain import explain_call
from tests.cdr_factory import UTC, call, ensure_switch, insert_calls
from tests.conftest import login
from tests.dash_client import _callbacks, callback_body, click
from tests.rating_setup import build_world

ADMIN = Scope(user_id=None)
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def world(app):
    world = build_world(lambda name, **kw: users.create_user(name, "pass-word-1", "customer", **kw))
    sw = ensure_switch("flags-sw", "10.6.0.1")
    made = []
    for i in range(12):
        made.append(
            call(
                sw,
                NOW - timedelta(minutes=30 + i),
                billsec=61 if i < 6 else 0,
                callid=f"flag-{i}",
                accountcode="1001" if i % 2 else "orphan-9",  # orphan-9 belongs to nobody
                user_id=world["alice"].id if i % 2 else None,
                country_code="ES",
                destination_number=f"0034650{i:06d}",
            )
        )
    insert_calls(made)
    db.execute("UPDATE cdr SET normalised_number = substr(destination_number, 3) WHERE callid LIKE 'flag-%'")
    db.execute("UPDATE cdr SET destination_alert = true, alert_reason = 'blacklist country ES' WHERE callid = 'flag-1'")
    db.execute(
        "UPDATE cdr SET destination_alert = false, alert_reason = 'whitelist prefix 3465' WHERE callid = 'flag-2'"
    )
    return {
        **world,
        "sw": sw,
        "query": {"start": [(NOW - timedelta(days=1)).date().isoformat()], "end": [NOW.date().isoformat()]},
    }


def _callids(scope: Scope, **query) -> set[str]:
    criteria = search_criteria_from_query({**query}, scope)
    return {r["callid"] for r in fetch_block(scope, criteria, 0, 1000).rows}


def test_call_ids_and_typed_accountcodes_are_in_the_one_report_filter(world):
    q = world["query"]
    f = report_filter_from_query({**q, "callid": "flag-3, flag-4,flag-3"}, ADMIN)
    assert f.callids == ("flag-3", "flag-4")
    where, params = report_where(ADMIN, f, alias="c", time_column="starting_date")
    assert "c.callid = ANY(:callids)" in where and params["callids"] == ["flag-3", "flag-4"]
    assert "callid" not in report_where(ADMIN, f)[0]  # the rollups keep no call ids: never asked of them
    assert _callids(ADMIN, **q, callid=["flag-3,flag-4"]) == {"flag-3", "flag-4"}
    assert _callids(ADMIN, **q, accountcode=["orphan-9"]) == {f"flag-{i}" for i in range(0, 12, 2)}
    alice = Scope(user_id=world["alice"].id)
    assert _callids(alice, **q, accountcode=["orphan-9"]) == set()  # a typed accountcode never widens the scope
    assert _callids(alice, **q, callid=["flag-0,flag-1"]) == {"flag-1"}


def test_the_rest_api_takes_call_ids_and_flags(world, client):
    token = {"Authorization": "Bearer " + api_tokens.create_token(users.get_user_by_name("admin").id, "t")}
    start, end = world["query"]["start"][0], world["query"]["end"][0]
    body = client.get(f"/api/v1/cdrs?start={start}&end={end}&callid=flag-5", headers=token).get_json()
    assert [c["id"] for c in body["results"]] == [db.scalar("SELECT id FROM cdr WHERE callid = 'flag-5'")]
    body = client.get(f"/api/v1/cdrs?start={start}&end={end}&flag=blacklist", headers=token).get_json()
    assert len(body["results"]) == 1
    assert client.get("/api/v1/cdrs?flag=fraud", headers=token).status_code == 400


def test_blacklist_whitelist_and_threat_flags(world):
    q = world["query"]
    assert _callids(ADMIN, **q, flag=["blacklist"]) == {"flag-1"}
    assert _callids(ADMIN, **q, flag=["whitelist"]) == {"flag-2"}
    assert _callids(ADMIN, **q, flag=["threat"]) == set()
    # A threat recorded for orphan-9's calls to +34650000004 and +34650000006: exactly those calls are flagged,
    # the calls threat control counts for it.
    threat = threats.Threat(
        "high_cost",
        "accountcode orphan-9 premium rate",
        "t",
        "2 call(s)",
        NOW - timedelta(hours=2),
        NOW,
        {"accountcode": "orphan-9", "numbers": ["34650000004", "34650000006"], "prefix": "3465"},
    )
    threats._exposure(threat)
    db.execute(
        """INSERT INTO threat_event (kind, subject, flood_key, detected_at, window_start, window_end, cost_at_risk,
                                     details)
           VALUES ('high_cost', :s, 'k1', now(), :ws, :we, 0, CAST(:d AS jsonb))""",
        s=threat.subject,
        ws=threat.window_start,
        we=threat.window_end,
        d=json.dumps(threat.as_dict(), default=str),
    )
    flagged = _callids(ADMIN, **q, flag=["threat"])
    assert flagged == {"flag-4", "flag-6"} and len(flagged) == threat.calls
    assert _callids(ADMIN, **q, flag=["any"]) == {"flag-1", "flag-2", "flag-4", "flag-6"}
    rows = {r["callid"]: r["flag"] for r in fetch_block(ADMIN, search_criteria_from_query(q, ADMIN), 0, 100).rows}
    assert rows["flag-1"] == "blacklist: blacklist country ES" and rows["flag-4"] == "threat: high_cost"
    assert rows["flag-2"] == "whitelist: whitelist prefix 3465" and rows["flag-3"] is None
    # In the exports, and to the customer who owns the flagged call.
    header = export_columns(ADMIN)
    exported = {
        r[header.index("callid")]: r[header.index("flag")]
        for r in iter_export_rows(ADMIN, search_criteria_from_query(q, ADMIN))
    }
    assert exported["flag-1"] == "blacklist: blacklist country ES"
    alice = Scope(user_id=world["alice"].id)
    assert _callids(alice, **q, flag=["any"]) == {"flag-1"}
    assert set(FLAGS) == {"any", "blacklist", "whitelist", "threat"} and flag_condition("nonsense") is None


def test_the_rating_of_a_stored_call_is_explained(world):
    cdr_id = db.scalar("SELECT id FROM cdr WHERE callid = 'flag-1'")  # one of alice's, on the "standard" plan
    db.execute(
        """UPDATE cdr SET normalised_number = '34650104877', sell_rate = 0.07, sell_cost = 0.077, buy_rate = 0.02,
                          buy_cost = 0.022, carrier_id = :carrier, rating_status = 1 WHERE id = :id""",
        id=cdr_id,
        carrier=world["providers"]["A"],
    )
    explained = explain_call(cdr_id, with_buy_side=True)
    sell, buy = explained["sell"], explained["buy"]
    assert explained["status_text"] == "rated" and explained["voip_plan"] == "standard"
    assert (sell["price"]["prefix"], sell["price"]["destination"], sell["price"]["currency"]) == (
        "3465",
        "Spain mobile",
        "EUR",
    )
    assert sell["billed_seconds"] == 66 and sell["cost"] == Decimal("0.07700") and sell["matches"]
    assert buy["price"]["carrier"] == "Carrier A" and buy["billed_seconds"] == 66 and buy["matches"]
    assert "buy" not in explain_call(cdr_id, with_buy_side=False)
    db.execute("UPDATE cdr SET sell_cost = 0.5 WHERE id = :id", id=cdr_id)  # not what the rates give today
    assert explain_call(cdr_id, with_buy_side=False)["sell"]["matches"] is False
    unrated = db.scalar("SELECT id FROM cdr WHERE callid = 'flag-0'")
    db.execute("UPDATE cdr SET rating_status = 7 WHERE id = :id", id=unrated)
    assert explain_call(unrated, with_buy_side=True)["status_text"].startswith("not rated: the call has no customer")


def test_saved_searches_belong_to_their_user(world):
    alice, bob = world["alice"], world["bob"]
    first = saved.save_search(alice.id, "  Spain   mobiles ", "?dst=3465&dst_op=begins&cols=callid,flag")
    assert first["name"] == "Spain mobiles" and parse_qs(first["query"]) == {
        "dst": ["3465"],
        "dst_op": ["begins"],
        "cols": ["callid,flag"],
    }
    again = saved.save_search(alice.id, "Spain mobiles", "?dst=3466")  # the same name replaces it
    assert again["id"] == first["id"] and saved.get_saved(alice.id, first["id"])["query"] == "dst=3466"
    assert saved.get_saved(bob.id, first["id"]) is None and saved.list_saved(bob.id) == []
    assert saved.delete_saved(bob.id, first["id"]) is False and saved.delete_saved(alice.id, first["id"]) is True
    for bad in ("", "   ", "x" * 81):
        with pytest.raises(saved.SavedSearchError):
            saved.save_search(alice.id, bad, "?a=1")


def _confirm_delete(client, target):
    """The delete dialog's OK, as the browser posts it, with ``target`` as the saved search it asked about."""
    body = callback_body(_callbacks(client), "saved_search_list", [None, None, 1], [None, "", target])
    body["changedPropIds"] = ["cdr-search-delete-confirm.submit_n_clicks"]
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    return json.dumps(response.get_json()["response"]["cdr-search-saved"]["children"])


def test_a_saved_search_is_deleted_by_its_owner_only_and_after_asking(app, world):
    alice, bob = world["alice"], world["bob"]
    hers, his = saved.save_search(alice.id, "Alice's", "?dst=34"), saved.save_search(bob.id, "Bob's", "?dst=44")
    as_bob = app.test_client()
    assert login(as_bob, "bob", "pass-word-1").status_code == 302
    # the × of his own asks first; an id of hers put in the request asks nothing
    asked = click(as_bob, "ask_before_deleting", {"type": "cdr-search-saved-delete", "id": his["id"]}, [None])
    dialog = asked.get_json()["response"]
    assert dialog["cdr-search-delete-confirm"] == {"displayed": True, "message": "Delete the saved search “Bob's”?"}
    assert dialog["cdr-search-delete-target"]["data"] == his["id"]
    assert (
        click(as_bob, "ask_before_deleting", {"type": "cdr-search-saved-delete", "id": hers["id"]}, [None]).status_code
        == 204
    )
    # confirming with her id (a forged target) deletes nothing; with his own, his, and the list follows
    assert "Bob's" in _confirm_delete(as_bob, hers["id"]) and saved.get_saved(alice.id, hers["id"]) is not None
    assert "None yet" in _confirm_delete(as_bob, his["id"]) and saved.list_saved(bob.id) == []
    assert "Bob's" not in _confirm_delete(as_bob, "not a number")
    assert [s["name"] for s in saved.list_saved(alice.id)] == ["Alice's"]
