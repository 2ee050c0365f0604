"""Changing a customer's VoIP plan queues a re-rating of their stored calls, audited, with its progress
shown on the users page. The defect (issue 16): after "Saved", their calls stayed "no plan" and
billing showed cost 0, without a word."""

from decimal import Decimal

import pytest

from data.admin import accounts
from data.core import db
from data.rating import rater, rates
from data.rating.rater import RatingStatus
from tests.dash_client import dash_call
from tests.rating_setup import ADMIN, world_with_month
from tests.test_admin import ADMIN as ADMIN_USER


@pytest.fixture(scope="module")
def world(app, tmp_path_factory):
    world = world_with_month(tmp_path_factory.mktemp("plan"), calls=200, seed=4)
    return world


def _carol_statuses() -> set:
    return {
        r["rating_status"] for r in db.rows("SELECT DISTINCT rating_status FROM cdr WHERE user_id = :u", u=_carol())
    }


def _carol() -> int:
    return db.scalar("SELECT id FROM app_user WHERE username = 'carol'")


def test_assigning_a_plan_queues_a_rerating_that_prices_the_calls(world):
    assert _carol_statuses() == {RatingStatus.NO_PLAN, RatingStatus.ZERO_DURATION}
    queued = rates.assign_voip_plan(ADMIN, _carol(), world["voip_plan"])
    assert queued["calls"] == db.scalar("SELECT count(*) FROM cdr WHERE user_id = :u", u=_carol())
    logged = db.rows("SELECT action, after FROM audit_log WHERE target_type = 'rerate' ORDER BY id DESC LIMIT 1")
    assert logged and logged[0]["action"] == "queue" and "VoIP plan" in logged[0]["after"]["why"]
    assert "queued" in rater.describe_rerate(rater.rerate_progress(queued["request_id"]))
    assert rater.run_rerate_queue()["done"] >= 1
    progress = rater.rerate_progress(queued["request_id"])
    assert progress["status"] == "done" and progress["days_done"] == progress["days_total"] > 0
    assert RatingStatus.NO_PLAN not in _carol_statuses()
    assert db.scalar("SELECT sum(sell_cost) FROM cdr WHERE user_id = :u", u=_carol()) > Decimal(0)
    assert db.scalar("SELECT sum(sell_cost) FROM cdr_rollup_hour") == db.scalar("SELECT sum(sell_cost) FROM cdr")


def test_the_users_page_says_it_and_follows_the_progress(world, admin_client):
    carol = _carol()
    accounts.update_user(ADMIN_USER, carol, voip_plan_id=None)
    rater.run_rerate_queue()
    user = accounts.user_detail(carol)
    codes = ",".join(user["accountcodes"])
    state = ["carol", "", "customer", True, "", "", "UTC", "", codes, [], str(world["voip_plan"]), "", True]
    result = dash_call(admin_client, "save_user", [1], [str(carol), *state])
    text = str(result[("admin-user-message", "children")])
    assert "queued for re-rating on the new VoIP plan" in text
    request_id = result[("admin-user-rerate-request", "data")]
    followed = dash_call(admin_client, "follow_rerate", [request_id, 0], [])
    assert "queued" in str(followed[("admin-user-rerate", "children")])
    assert followed[("admin-user-rerate-poll", "disabled")] is False
    rater.run_rerate_queue()
    followed = dash_call(admin_client, "follow_rerate", [request_id, 1], [])
    assert "done" in str(followed[("admin-user-rerate", "children")])
    assert followed[("admin-user-rerate-poll", "disabled")] is True
