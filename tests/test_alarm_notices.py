"""Alarms by name and alarms that notify nobody: a switch or customer typed by name (the rule reads its name),
a warning when an alarm, the blacklist or threat control would notify nobody, and the firings that notified
nobody on the alarms page and the diagnostic page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from data.alerting import alarm_evaluation, alarms, unnotified
from data.core import db
from data.core.scope import Scope
from tests.conftest import login
from tests.dash_client import dash_call
from tests.test_alarm_support import make_call, spread, store, switch
from tests.test_alarms import DELAY, H1, H2

ADMIN = Scope(user_id=None)


@pytest.fixture(scope="module")
def edge(app):
    sw = switch("Edge-Madrid", "10.7.0.1")
    store([make_call(sw, when, 30, accountcode="nobody-acc") for when in spread(H1, 3600, 20)])
    db.execute("UPDATE app_user SET email = NULL WHERE username = 'admin'")
    return sw


def _alarm(**values):
    form = {"name": "edge asr", "metric": "calls", "period": "hour", "condition": "gt", "threshold": "5"}
    return alarms.save_alarm(ADMIN, {**form, **values, "user_id": 1})


def test_a_switch_or_customer_is_typed_by_name_and_the_rule_reads_its_name(edge, make_user):
    alarm = _alarm(scope_kind="switch", scope_value="edge-madrid", status="inactive")  # any case
    assert alarm.scope_value == str(edge) and alarm.scope_label == "Edge-Madrid"
    assert alarm.describe() == "Calls of switch Edge-Madrid per hour is greater than 5"
    assert [r["rule"] for r in alarms.list_alarms(ADMIN) if r["id"] == alarm.id] == [alarm.describe()]
    with pytest.raises(alarms.AlarmError, match="No switch named 'Edge-Lisbon'"):
        _alarm(scope_kind="switch", scope_value="Edge-Lisbon")
    carla = make_user("carla-notices")
    by_name = _alarm(name="carla", scope_kind="customer", scope_value="Carla-Notices", status="inactive")
    assert by_name.scope_value == str(carla.id) and "of customer carla-notices per hour" in by_name.describe()
    assert _alarm(name="by id", scope_kind="switch", scope_value=str(edge), status="inactive").scope_label == (
        "Edge-Madrid"
    )


def test_saving_an_alarm_that_notifies_nobody_says_so(edge, admin_client):
    silent = _alarm(name="silent", status="inactive")
    assert "notifies nobody" in unnotified.alarm_warning(silent) and "admin has no e-mail" in (
        unnotified.alarm_warning(silent)
    )
    assert unnotified.alarm_warning(alarms.with_changes(silent, email_to="noc@example.com")) is None
    db.execute("UPDATE app_user SET email = 'root@example.com' WHERE username = 'admin'")
    assert unnotified.alarm_warning(silent) is None  # the owner's own address
    db.execute("UPDATE app_user SET email = NULL WHERE username = 'admin'")

    form = ["", "silent 2", "calls", None, "switch", "Edge-Madrid", "hour", "gt", 5, "previous", 10, "warning"]
    form += [True, False, "", None, ""]
    result = dash_call(admin_client, "alarm_save", [1], [0, *form])
    saved = json.dumps(result[("alarm-feedback", "children")])
    assert "Calls of switch Edge-Madrid per hour" in saved and "notifies nobody" in saved
    assert '"color": "warning"' in saved
    for alarm in alarms.list_alarms(ADMIN):
        alarms.set_status(ADMIN, alarm["id"], "inactive")


def test_a_firing_that_notified_nobody_is_listed_on_the_alarms_and_diagnostic_pages(edge, admin_client):
    fired = _alarm(name="fires unheard", scope_kind="switch", scope_value="Edge-Madrid")
    alarm_evaluation.run_due(now=H2 + DELAY)
    row = db.rows("SELECT fired, notified_count FROM alarm_evaluation WHERE alarm_id = :id", id=fired.id)
    assert row == [{"fired": True, "notified_count": 0}]
    listed = unnotified.unnotified(ADMIN, now=H2 + timedelta(hours=1))
    assert [(r["kind"], r["name"]) for r in listed] == [("alarm", "fires unheard")]
    assert unnotified.unnotified(ADMIN, now=H2 + timedelta(days=8)) == []  # only the last 7 days

    warnings = unnotified.rule_warnings(ADMIN)
    assert any(w.startswith("“fires unheard”: This alarm notifies nobody") for w in warnings)
    assert any(w.startswith("Blacklist hits notify nobody") for w in warnings)
    assert any(w.startswith("Threats notify nobody") for w in warnings)

    db.execute(  # the pages look at the last 7 days before now
        "UPDATE alarm_evaluation SET period_start = now() - interval '1 hour', period_end = now() WHERE alarm_id = :id",
        id=fired.id,
    )
    page = json.dumps(dash_call(admin_client, "alarm_list_refresh", [0])[("alarm-notices", "children")])
    assert "and notified nobody: 1" in page and "fires unheard" in page and "Blacklist hits notify nobody" in page
    diagnostic = json.dumps(dash_call(admin_client, "refresh_diagnostic", [None])[("diagnostic-notices", "children")])
    assert "fires unheard" in diagnostic

    # With an address, the next firing reaches someone and nothing is left to say about the rules.
    db.execute("UPDATE app_user SET email = 'root@example.com' WHERE username = 'admin'")
    assert unnotified.rule_warnings(ADMIN) == []
    alarms.set_status(ADMIN, fired.id, "inactive")


def test_a_customer_sees_only_their_own_alarms_notices(edge, client, make_user):
    dora = make_user("dora-notices", accountcodes=("nobody-acc",))
    alarms.save_alarm(
        Scope(user_id=dora.id),
        {"name": "dora's", "metric": "calls", "period": "hour", "condition": "gt", "threshold": "5"},
    )
    login(client, "dora-notices", "pass-word-1")
    page = json.dumps(dash_call(client, "alarm_list_refresh", [0])[("alarm-notices", "children")])
    assert "dora's" in page and "dora-notices has no e-mail address" in page
    assert "fires unheard" not in page and "Blacklist" not in page
