"""The Exports page's destination list editor and schedule deletion: the store functions, the callbacks (admins
only, over HTTP with a real session) and the page in a real browser."""

import pytest

from data.core import db
from data.export import library, schedules
from data.export.templates import TemplateError
from tests.conftest import browser_login, login, submit_form
from tests.dash_client import _callbacks, callback_body, dash_call, dash_request


@pytest.fixture
def customer_client(app, make_user):
    if db.scalar("SELECT count(*) FROM app_user WHERE username = 'list-customer'") == 0:
        make_user("list-customer")
    client = app.test_client()
    assert login(client, "list-customer", "pass-word-1").status_code == 302
    return client


def _press(client, func_name: str, button: str, inputs: list, state: list) -> dict:
    """Call a callback with several buttons as if ``button`` was the one clicked."""
    body = callback_body(_callbacks(client), func_name, inputs, state)
    body["changedPropIds"] = [f"{button}.n_clicks"]
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()["response"]


def _lists() -> dict[str, dict]:
    return {r["name"]: r for r in library.list_destination_lists()}


# --- the store -------------------------------------------------------------------------------------------


def test_prefixes_are_read_from_any_separator():
    assert library.prefixes_from_text(" 4986517,4990;\n+44909  33\t\n") == ["4986517", "4990", "+44909", "33"]
    assert library.prefixes_from_text(None) == [] and library.prefixes_from_text(" \n ") == []


def test_a_list_used_by_a_template_cannot_be_deleted_until_the_template_stops_using_it(app):
    library.save_destination_list("PREMIUM", ["4990", "4986517"], "premium rate")
    library.save_template(
        "masked",
        {"mask_destination_id": "PREMIUM", "mask_length": 3, "content_fields": [{"tag": "D", "value": "destination"}]},
    )
    with pytest.raises(library.ExportRefused, match="used by the templates masked"):
        library.delete_destination_list("PREMIUM")
    assert "PREMIUM" in _lists()
    library.save_template("masked", {"content_fields": [{"tag": "D", "value": "destination"}]})
    library.delete_destination_list("PREMIUM")
    assert "PREMIUM" not in _lists()
    with pytest.raises(library.ExportRefused, match="no destination list named 'PREMIUM'"):
        library.delete_destination_list("PREMIUM")
    # and a template naming it is refused again, as before the list existed
    with pytest.raises(TemplateError, match="no destination list named 'PREMIUM'"):
        library.save_template(
            "masked", {"mask_destination_id": "PREMIUM", "content_fields": [{"tag": "D", "value": "destination"}]}
        )
    library.delete_template("masked")


# --- the callbacks ---------------------------------------------------------------------------------------


STATE_FIELDS = ("picked", "name", "prefixes", "description", "refresh")


def _save_list(client, **state):
    values = {"picked": None, "name": "", "prefixes": "", "description": "", "refresh": 0, **state}
    return _press(
        client, "save_or_delete_destination_list", "exports-destlist-save", [1, None], [values[k] for k in STATE_FIELDS]
    )


def _delete_list(client, picked):
    return _press(
        client, "save_or_delete_destination_list", "exports-destlist-delete", [None, 1], [picked, "", "", "", 3]
    )


def test_an_admin_creates_updates_opens_and_deletes_a_list(app, admin_client):
    saved = _save_list(admin_client, name="UK mobile", prefixes="447, 4475\n+4479 447", description="mobiles")
    assert "Saved destination list 'UK mobile' (3 prefixes)" in str(saved["exports-destlist-feedback"])
    assert saved["exports-refresh"]["data"] == 1
    assert _lists()["UK mobile"]["prefixes"] == ["+4479", "447", "4475"]
    assert _lists()["UK mobile"]["description"] == "mobiles"

    updated = _save_list(admin_client, picked="UK mobile", name="UK mobile", prefixes="4474", description="")
    assert "(1 prefixes)" in str(updated["exports-destlist-feedback"])
    assert _lists()["UK mobile"]["prefixes"] == ["4474"] and _lists()["UK mobile"]["description"] == ""

    refreshed = dash_call(admin_client, "refresh_lists", [2], [None])
    assert refreshed[("exports-destlist-pick", "options")] == [{"label": "UK mobile", "value": "UK mobile"}]
    assert "4474" in str(refreshed[("exports-destlists", "children")])

    opened = dash_call(admin_client, "open_destination_list", ["UK mobile"])
    assert opened[("exports-destlist-name", "value")] == "UK mobile"
    assert opened[("exports-destlist-prefixes", "value")] == "4474"

    bad = _save_list(admin_client, name="bad", prefixes="44a7, 12")
    assert "prefixes are digits" in str(bad["exports-destlist-feedback"]) and "bad" not in _lists()
    assert "exports-refresh" not in bad  # nothing changed, nothing to reload

    nothing_picked = _delete_list(admin_client, None)
    assert "Open the list to delete first" in str(nothing_picked["exports-destlist-feedback"])
    deleted = _delete_list(admin_client, "UK mobile")
    assert "Deleted destination list 'UK mobile'" in str(deleted["exports-destlist-feedback"])
    assert deleted["exports-destlist-pick"]["value"] is None
    assert "UK mobile" not in _lists()


def test_deleting_a_list_in_use_says_which_templates_use_it(app, admin_client):
    library.save_destination_list("IN-USE", ["4990"])
    library.save_template("uses-it", {"mask_destination_id": "IN-USE", "content_fields": [{"value": "destination"}]})
    refused = _delete_list(admin_client, "IN-USE")
    assert "used by the templates uses-it" in str(refused["exports-destlist-feedback"])
    assert "IN-USE" in _lists()


def test_an_admin_opens_and_deletes_a_schedule(app, admin_client):
    keep = schedules.save_schedule("keep-me", "cgr-csv", 3600)
    gone = schedules.save_schedule("delete-me", "cgr-csv", 900, "nightly", enabled=False)
    refreshed = dash_call(admin_client, "refresh_lists", [5], [None])
    assert {o["value"] for o in refreshed[("exports-schedule-pick", "options")]} == {keep, gone}

    opened = dash_call(admin_client, "open_picked_schedule", [gone])
    assert [
        opened[("exports-schedule-" + k, p)]
        for k, p in (
            ("name", "value"),
            ("template", "value"),
            ("period", "value"),
            ("dir", "value"),
            ("enabled", "value"),
        )
    ] == ["delete-me", "cgr-csv", 900, "nightly", False]

    deleted = dash_call(admin_client, "delete_picked_schedule", [1], [gone, 5])
    assert "Deleted schedule 'delete-me'" in str(deleted[("exports-schedule-feedback", "children")])
    assert deleted[("exports-refresh", "data")] == 6 and deleted[("exports-schedule-pick", "value")] is None
    assert [r["id"] for r in schedules.list_schedules()] == [keep]

    again = dash_call(admin_client, "delete_picked_schedule", [2], [gone, 6])
    assert "Open the schedule to delete first" in str(again[("exports-schedule-feedback", "children")])
    assert [r["id"] for r in schedules.list_schedules()] == [keep]


def test_customers_can_neither_edit_lists_nor_delete_schedules(app, customer_client):
    library.save_destination_list("KEEP", ["4990"])
    schedule_id = schedules.save_schedule("customer-cannot", "cgr-csv", 3600)
    for name, inputs, state in (
        ("save_or_delete_destination_list", [None, 1], ["KEEP", "", "", "", 0]),
        ("save_or_delete_destination_list", [1, None], [None, "EVIL", "1", "", 0]),
        ("delete_picked_schedule", [1], [schedule_id, 0]),
        ("open_destination_list", ["KEEP"], []),
        ("open_picked_schedule", [schedule_id], []),
    ):
        assert dash_request(customer_client, name, inputs, state).status_code == 403, name
    assert "KEEP" in _lists() and "EVIL" not in _lists()
    assert schedule_id in [r["id"] for r in schedules.list_schedules()]


# --- the page in a browser -------------------------------------------------------------------------------


def _choose(page, dropdown: str, option: str) -> None:
    page.click(f"#{dropdown}")
    page.get_by_role("option", name=option, exact=True).click()


def test_the_editor_in_a_browser(page, app):
    for row in schedules.list_schedules():
        schedules.delete_schedule(row["id"])
    schedules.save_schedule("browser-schedule", "cgr-csv", 300)
    browser_login(page, "admin", "admin-secret")
    page.goto("/exports")
    new_list = {
        "#exports-destlist-name": "Browser list",
        "#exports-destlist-description": "from the browser",
        "#exports-destlist-prefixes": "4986517\n4990, 33",
    }
    submit_form(page, new_list, "#exports-destlist-save")
    page.wait_for_selector("#exports-destlist-feedback >> text=Saved destination list 'Browser list' (3 prefixes)")
    page.wait_for_selector("#exports-destlists-table >> text=33, 4986517, 4990")
    assert _lists()["Browser list"]["description"] == "from the browser"

    _choose(page, "exports-destlist-pick", "Browser list")
    page.wait_for_function("document.querySelector('#exports-destlist-prefixes').value === '33\\n4986517\\n4990'")
    page.click("#exports-destlist-delete")
    page.wait_for_selector("#exports-destlist-feedback >> text=Deleted destination list 'Browser list'")
    page.wait_for_function("!document.querySelector('#exports-destlists').innerText.includes('Browser list')")
    assert "Browser list" not in _lists()

    _choose(page, "exports-schedule-pick", "browser-schedule (cgr-csv)")
    page.wait_for_function("document.querySelector('#exports-schedule-name').value === 'browser-schedule'")
    page.click("#exports-schedule-delete")
    page.wait_for_selector("#exports-schedule-feedback >> text=Deleted schedule 'browser-schedule'")
    page.wait_for_selector("text=No scheduled exports yet.")
    assert schedules.list_schedules() == []
    assert page.console_errors == []


# --- the audit log ------------------------------------------------------------------------------------------


def test_template_list_and_schedule_changes_are_audited_as_the_admin(app, admin_client):
    from data.core import audit

    _save_list(admin_client, name="audited list", prefixes="4420", description="")
    _save_list(admin_client, picked="audited list", name="audited list", prefixes="4420 4421", description="x")
    _delete_list(admin_client, "audited list")
    lists = audit.recent(target_type="destination_list", target_id="audited list")
    assert [(e["actor"], e["action"]) for e in reversed(lists)] == [
        ("admin", "create"),
        ("admin", "update"),
        ("admin", "delete"),
    ]
    assert lists[1]["before"] == {"prefixes": ["4420"], "description": ""}
    assert lists[1]["after"] == {"prefixes": ["4420", "4421"], "description": "x"}

    library.save_template(
        "audited",
        {
            "export_format": "*file_csv",
            "content_fields": [{"tag": "Account", "type": "*composed", "value": "accountcode"}],
        },
    )
    schedule_id = schedules.save_schedule("audited run", "audited", 3600)
    schedules.save_schedule("audited run", "audited", 900, schedule_id=schedule_id)
    schedules.rewind_schedule(schedule_id, 0)
    schedules.delete_schedule(schedule_id)
    library.delete_template("audited")
    schedule = audit.recent(target_type="export_schedule", target_id=str(schedule_id))
    assert [e["action"] for e in reversed(schedule)] == ["create", "update", "rewind", "delete"]
    assert {e["actor"] for e in schedule} == {"system"}  # no request: the shell's name
    assert schedule[-2]["before"]["period_seconds"] == 3600 and schedule[-2]["after"]["period_seconds"] == 900
    template = audit.recent(target_type="export_template", target_id="audited")
    assert [e["action"] for e in reversed(template)] == ["create", "delete"]
    assert template[-1]["after"]["profile"]["content_fields"][0]["tag"] == "Account"
