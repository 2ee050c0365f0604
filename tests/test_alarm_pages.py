"""The alarm pages' callbacks over HTTP with real sessions: customers see and touch only their own
alarms, their scope is their traffic, and the admin-only pages refuse them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from callbacks.alarms import DEFAULTS, FIELDS
from data.admin import users
from data.alerting import alarm_evaluation, alarms
from data.core import db
from data.core.scope import Scope
from tests.cdr_factory import UTC
from tests.conftest import login
from tests.dash_client import click, dash_call, dash_request
from tests.test_alarm_support import make_call, store, switch

FORM = list(FIELDS)  # the form's fields, in the order the save callback takes them


def form(**values) -> list:
    # the form's own defaults, made into an alarm that fires on any call
    base = {**DEFAULTS, "name": "x", "metric": "calls", "condition": "gt", "threshold": 0, "min_attempts": 0}
    base.update(values)
    return [base[f] for f in FORM]


@pytest.fixture(scope="module")
def world(app):
    alice = users.create_user("alice", "pass-word-1", "customer", accountcodes=("a100",), timezone="Europe/Paris")
    bob = users.create_user("bob", "pass-word-1", "customer", accountcodes=("b200",))
    sw = switch()
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    store(
        [make_call(sw, start + timedelta(minutes=i), 30, accountcode="a100", user_id=alice.id) for i in range(6)]
        + [make_call(sw, start + timedelta(minutes=i), 30, accountcode="b200", user_id=bob.id) for i in range(9)]
    )
    bobs = alarms.save_alarm(
        Scope(user_id=bob.id),
        {
            "name": "bob's",
            "metric": "calls",
            "period": "hour",
            "condition": "gt",
            "threshold": "1",
            "min_attempts": "0",
        },
    )
    return {"alice": alice, "bob": bob, "bobs": bobs, "start": start}


def client_for(app, name):
    c = app.test_client()
    assert login(c, name, "pass-word-1").status_code == 302
    return c


def test_a_customer_saves_and_tests_alarms_on_their_own_traffic_only(app, world):
    c = client_for(app, "alice")
    out = dash_call(c, "alarm_save", [1], [0, *form(name="mine", scope_kind="accountcode", scope_value="b200")])
    assert "not yours" in json.dumps(out[("alarm-feedback", "children")])
    bob = str(world["bob"].id)
    out = dash_call(c, "alarm_save", [1], [0, *form(name="mine", scope_kind="customer", scope_value=bob)])
    assert "own traffic" in json.dumps(out[("alarm-feedback", "children")])
    out = dash_call(c, "alarm_save", [1], [0, *form(name="mine", webhook_id=1)])
    assert "webhooks" in json.dumps(out[("alarm-feedback", "children")])
    out = dash_call(c, "alarm_save", [1], [0, *form(name="mine")])
    assert "Saved" in json.dumps(out[("alarm-feedback", "children")])
    mine = alarms.list_alarms(Scope(user_id=world["alice"].id))
    assert [a["name"] for a in mine] == ["mine"] and mine[0]["user_id"] == world["alice"].id
    # "Test alarm" over her traffic: 6 calls in one hour, never Bob's 9.
    out = dash_call(c, "alarm_test", [1], [1, *form(name="mine", condition="gt", threshold=5)])
    text = json.dumps(out[("alarm-test-results", "children")])
    assert "fired 1 time" in text
    alarm = alarms.get_alarm(Scope(user_id=world["alice"].id), mine[0]["id"])
    fired = [e for e in alarm_evaluation.replay(alarm, 1) if e.measured]
    assert [e.measured for e in fired] == [6]
    listing = json.dumps(dash_call(c, "alarm_list_refresh", [1])[("alarm-list", "children")])
    assert "mine" in listing and "bob's" not in listing


def test_a_customer_cannot_touch_another_customers_alarm(app, world):
    c = client_for(app, "alice")
    bobs = world["bobs"]
    response = click(c, "alarm_row_action", {"type": "alarm-delete", "id": bobs.id}, [None, []], [0])
    assert "No such alarm" in response.get_data(as_text=True)
    response = click(
        c, "alarm_row_action", {"type": "alarm-toggle", "id": bobs.id}, [[], None], [0], prop="value", value=False
    )
    assert "No such alarm" in response.get_data(as_text=True)
    assert alarms.get_alarm(Scope(user_id=None), bobs.id).status == "active"
    out = dash_call(c, "alarm_save", [1], [0, *form(id=bobs.id, name="hijack")])
    assert "No such alarm" in json.dumps(out[("alarm-feedback", "children")])
    alarm_evaluation.run_due(now=world["start"] + timedelta(hours=1, minutes=3))
    fired = db.scalar("SELECT id FROM alarm_evaluation WHERE alarm_id = :id AND fired", id=bobs.id)
    assert fired
    assert not alarms.acknowledge(Scope(user_id=world["alice"].id), fired, world["alice"].id)
    report = json.dumps(
        dash_call(c, "alarm_report_refresh", [None, 0, False, True, 0])[("alarm-report-table-wrap", "children")]
    )
    assert "bob" not in report
    b = client_for(app, "bob")
    report = json.dumps(
        dash_call(b, "alarm_report_refresh", [None, 0, False, True, 0])[("alarm-report-table-wrap", "children")]
    )
    assert "bob's" in report and "Calls of all traffic per hour is greater than 1" in report
    assert alarms.acknowledge(Scope(user_id=world["bob"].id), fired, world["bob"].id)


def test_admin_only_pages_and_callbacks_refuse_customers(app, world, admin_client):
    c = client_for(app, "alice")
    assert dash_request(c, "threats_refresh", [1, 0]).status_code in (204, 403)
    add = [None, []]  # "Add" clicked; no delete button on the page
    assert click(c, "destination_rules", "rule-add", add, ["blacklist", "FR", None, "", 0]).status_code in (204, 403)
    assert db.scalar("SELECT count(*) FROM destination_rule") == 0
    response = click(admin_client, "destination_rules", "rule-add", add, ["blacklist", "FR", None, "no France", 0])
    assert "Added to the blacklist" in response.get_data(as_text=True)
    out = dash_call(admin_client, "threats_refresh", [1, 0])
    assert ("threats-current", "children") in out
