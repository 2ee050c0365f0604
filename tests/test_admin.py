"""Administration: users and accountcodes (calls and rollups re-assigned exactly), switches, settings
overrides, the audit log, and the admin pages' callbacks."""

import random
from datetime import datetime, timedelta

import pytest

from data.admin import accounts, users
from data.core import audit, db, setting_overrides
from data.core.rollups import DAY, KEYS, MEASURES, rebuild_rollups, use_timezone
from data.core.settings import load_settings
from tests.cdr_factory import UTC, call, ensure_switch, insert_calls
from tests.conftest import login
from tests.dash_client import dash_call, dash_request

NOW = datetime.now(UTC).replace(microsecond=0)
ADMIN = users.User(id=1, username="admin", email=None, role="admin", timezone="UTC")


ROLLUPS = KEYS


def _rollups(table: str) -> list[tuple]:
    key = ROLLUPS[table]
    return [
        tuple(r.values()) for r in db.rows(f"SELECT {', '.join(key + MEASURES)} FROM {table} ORDER BY {', '.join(key)}")
    ]


def _rollups_equal_a_rebuild() -> None:
    """Every rollup level holds exactly what a rebuild from cdr gives."""
    before = {t: _rollups(t) for t in ROLLUPS}
    assert before["cdr_rollup_hour"] and before[DAY]
    rebuild_rollups(NOW.date() - timedelta(days=3), NOW.date() + timedelta(days=1))
    for table, rows in before.items():
        assert rows == _rollups(table), table


@pytest.fixture(scope="module")
def calls(app):
    """Calls with accountcodes x1, x2 (no customer yet) and y1 (customer "yuri"), in the same buckets."""
    use_timezone("Asia/Kathmandu")  # daily rollups in a second zone (+05:45) too
    yuri = users.create_user("yuri", "yuri-pw-12", "customer", accountcodes=("y1",))
    switch = ensure_switch("adm-sw", "10.8.0.1")
    rng = random.Random(3)
    rows = []
    for i in range(60):
        code = ("x1", "x2", "y1")[i % 3]
        start = NOW - timedelta(hours=1 + i % 5, minutes=i % 2)  # several calls per bucket and key
        rows.append(
            call(
                switch,
                start,
                billsec=rng.choice([0, 5, 40]),
                accountcode=code,
                user_id=yuri.id if code == "y1" else None,
                callid=f"adm-{i}",
                sell_cost=1,
                buy_cost=0.5,
            )
        )
    insert_calls(rows)
    return {"yuri": yuri, "switch": switch}


def _owner_counts() -> dict:
    return {
        (r["accountcode"], r["user_id"]): r["n"]
        for r in db.rows("SELECT accountcode, user_id, count(*) AS n FROM cdr GROUP BY 1, 2")
    }


def test_a_new_customer_with_two_accountcodes_gets_their_stored_calls(calls):
    user_id = accounts.create_user(
        ADMIN, username="xena", password="xena-pw-12", accountcodes="x1, x2", email="xena@example.com"
    )
    counts = _owner_counts()
    assert counts[("x1", user_id)] == 20 and counts[("x2", user_id)] == 20
    assert not any(code in ("x1", "x2") and owner is None for code, owner in counts)
    _rollups_equal_a_rebuild()
    assert accounts.user_detail(user_id)["accountcodes"] == ["x1", "x2"]
    row = audit.recent(1, target_type="user", target_id=str(user_id))[0]
    assert row["action"] == "create" and row["actor"] == "admin" and row["before"] is None
    assert row["after"]["accountcodes"] == ["x1", "x2"] and row["after"]["moved_calls"] == 40
    assert "password_hash" not in row["after"]


def test_moving_an_accountcode_merges_rollup_rows_with_the_new_owner(calls):
    xena = users.get_user_by_name("xena")
    # y1 goes to xena: her rollup rows for y1 do not exist; yuri's are moved. Then back, merged with
    # the unassigned history (user 0) of the same buckets.
    accounts.update_user(ADMIN, xena.id, accountcodes=["x1", "x2", "y1"])
    assert _owner_counts()[("y1", xena.id)] == 20
    assert accounts.user_detail(calls["yuri"].id)["accountcodes"] == []
    _rollups_equal_a_rebuild()
    accounts.update_user(ADMIN, xena.id, accountcodes=["x1", "x2"])  # taken away: the calls have no customer
    assert _owner_counts()[("y1", None)] == 20
    _rollups_equal_a_rebuild()
    db.execute("UPDATE cdr SET user_id = :u WHERE accountcode = 'y1' AND billsec = 40", u=calls["yuri"].id)
    rebuild_rollups(NOW.date() - timedelta(days=3), NOW.date() + timedelta(days=1))  # half yuri's, half nobody's
    result = accounts.update_user(ADMIN, calls["yuri"].id, accountcodes="y1")
    assert result["added"] == ["y1"] and result["moved_calls"] > 0
    assert _owner_counts()[("y1", calls["yuri"].id)] == 20
    _rollups_equal_a_rebuild()


def test_without_reassign_stored_calls_keep_their_owner(calls):
    user_id = accounts.create_user(ADMIN, username="zoe", password="zoe-pw-123", accountcodes=["x2"], reassign=False)
    assert ("x2", user_id) not in _owner_counts()
    assert accounts.accountcode_owners(["x2"])["x2"]["username"] == "zoe"  # new calls with x2 will be hers


@pytest.mark.parametrize(
    "fields, text",
    [
        ({"username": "bad name!"}, "username"),
        ({"password": "short"}, "8 characters"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"email": "not-an-address"}, "e-mail"),
        ({"username": "xena"}, "taken"),
        ({"role": "root"}, "role"),
    ],
)
def test_invalid_user_fields_are_refused_with_a_message(calls, fields, text):
    values = {"username": "valid", "password": "valid-pw-123", **fields}
    with pytest.raises(ValueError, match=text):
        accounts.create_user(ADMIN, **values)


def test_an_admin_cannot_disable_or_demote_themselves(calls):
    for change in ({"is_active": False}, {"role": "customer"}):
        with pytest.raises(ValueError, match="your own account"):
            accounts.update_user(ADMIN, 1, **change)


def test_disabling_a_user_stops_their_login(app, calls):
    client = app.test_client()
    assert login(client, "zoe", "zoe-pw-123").status_code == 302
    accounts.update_user(ADMIN, users.get_user_by_name("zoe").id, is_active=False)
    assert client.get("/_dash-layout").status_code == 401  # the session is refused at once
    assert login(app.test_client(), "zoe", "zoe-pw-123").status_code == 401


def test_switches_are_created_edited_and_get_a_push_key_once(calls):
    switch_id = accounts.create_switch(ADMIN, "edge-1", "192.0.2.10", 3, "Europe/Madrid")
    accounts.update_switch(ADMIN, switch_id, name="edge-1b", timezone="UTC")
    found = next(s for s in accounts.list_switches() if s["id"] == switch_id)
    assert (found["name"], found["ip"], found["source_type_name"], found["timezone"]) == (
        "edge-1b",
        "192.0.2.10",
        "freeswitch",
        "UTC",
    )
    with pytest.raises(ValueError, match="another switch has this IP"):
        accounts.create_switch(ADMIN, "edge-2", "192.0.2.10")
    from data.ingest.switches import switch_for_push_key

    key = accounts.rotate_switch_key(ADMIN, switch_id)
    assert switch_for_push_key(key)["id"] == switch_id
    second = accounts.rotate_switch_key(ADMIN, switch_id)
    assert switch_for_push_key(key) is None and switch_for_push_key(second)["id"] == switch_id
    actions = [r["action"] for r in audit.recent(10, target_type="switch", target_id=str(switch_id))]
    assert actions == ["rotate-push-key", "rotate-push-key", "update", "create"]
    assert all(key not in str(r) for r in audit.recent(10, target_type="switch"))


def test_number_plan_overrides_the_environment_and_goes_back(calls):
    env = load_settings().number_plan
    plan = setting_overrides.save_number_plan(
        ADMIN, {"prefix_to_ignore": "+, 00, 011", "pn_min_digits": "4", "local_dialcode": "34"}
    )
    assert plan.prefix_to_ignore == ("+", "00", "011") and plan.pn_min_digits == 4 and plan.local_dialcode == "34"
    assert setting_overrides.effective_number_plan() == plan
    assert load_settings().number_plan == env  # load_settings() itself never changes
    assert set(setting_overrides.overrides()) == {"prefix_to_ignore", "pn_min_digits", "local_dialcode"}
    with pytest.raises(ValueError, match="PN_MIN_DIGITS cannot be larger"):
        setting_overrides.save_number_plan(ADMIN, {"pn_min_digits": "12"})
    with pytest.raises(ValueError, match="not prefixes"):
        setting_overrides.save_number_plan(ADMIN, {"prefix_to_ignore": "00, abc"})
    row = audit.recent(1, target_type="setting")[0]
    assert row["before"]["pn_min_digits"] == env.pn_min_digits and row["after"]["pn_min_digits"] == 4
    assert setting_overrides.reset_number_plan(ADMIN) == env
    assert setting_overrides.effective_number_plan() == env


# --- the pages' callbacks -------------------------------------------------------------------------------------


def test_the_users_page_creates_a_customer_and_tells_about_stored_calls(app, calls, admin_client):
    hint = dash_call(admin_client, "accountcodes_hint", ["x1, q9"], ["new"])
    text = str(hint[("admin-user-codes-hint", "children")])
    assert "x1, q9" in text and "20 stored calls" in text and "now xena" in text
    result = dash_call(
        admin_client,
        "save_user",
        [1],
        [
            "new",
            "quinn",
            "quinn-pw-12",
            "customer",
            True,
            "Quinn Q",
            "quinn@example.com",
            "Europe/Madrid",
            "",
            "q9, q8",
            [],
            "",
            "boss@example.com\nnoc@example.com",
            True,
        ],
    )
    assert "Created customer 'quinn'" in str(result[("admin-user-message", "children")])
    quinn = users.get_user_by_name("quinn")
    assert quinn.timezone == "Europe/Madrid" and users.accountcodes_of(quinn.id) == ["q8", "q9"]
    assert result[("admin-user-select", "value")] == str(quinn.id)
    refused = dash_call(
        admin_client,
        "save_user",
        [2],
        ["new", "quinn", "other-pw-12", "customer", True, "", "", "UTC", "", "", [], "", "", True],
    )
    assert "taken" in str(refused[("admin-user-message", "children")])
    form = dash_call(admin_client, "fill_user_form", [str(quinn.id)])
    assert form[("admin-user-accountcodes", "value")] == "q8, q9" and form[("admin-user-password", "value")] == ""
    assert form[("admin-user-report-emails", "value")] == "boss@example.com\nnoc@example.com"
    with pytest.raises(ValueError, match="not an e-mail address: nope"):
        accounts.update_user(ADMIN, quinn.id, report_emails="ok@example.com, nope")


def test_the_settings_page_tries_a_number_step_by_step(app, calls, admin_client):
    from data.core.setting_overrides import FIELDS

    values = {
        "prefix_to_ignore": "+,00",
        "pn_min_digits": "6",
        "pn_max_digits": "9",
        "local_dialcode": "34",
        "prefix_limit_min": "2",
        "prefix_limit_max": "5",
        "international_prefixes": "00",
        "internal_patterns": "",
    }
    result = dash_call(admin_client, "try_number", [1, None], ["0034 650-104-877", *(values[f] for f in FIELDS)])
    text = str(result[("admin-plan-try-result", "children")])
    assert "removed the ignored prefix '00'" in text and "ES" in text


def test_admin_callbacks_and_pages_are_refused_to_customers(app, calls):
    customer = app.test_client()
    assert login(customer, "yuri", "yuri-pw-12").status_code == 302
    for name, inputs, state in (
        ("save_user", [1], ["new", "evil", "evil-pw-123", "admin", True, "", "", "UTC", "", "", [], "", "", True]),
        ("refresh_diagnostic", [1], []),
        ("show_audit", ["", ""], []),
    ):
        assert dash_request(customer, name, inputs, state).status_code == 403, name
    assert users.get_user_by_name("evil") is None
    page = dash_call(customer, "update", ["/admin/users", ""])
    assert "You do not have access" in str(page)


def test_the_audit_page_lists_changes_with_before_and_after(app, calls, admin_client):
    result = dash_call(admin_client, "show_audit", ["user", "admin"])
    text = str(result[("admin-audit-table", "children")])
    assert "xena" in text and "create" in text and "accountcodes" in text
