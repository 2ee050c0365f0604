"""The import page in a browser: a file in an operator's own layout is uploaded, a profile is built in the
editor (its live preview shows the records as stored, a problem on its cell), saved, chosen, dry-run over
the whole file, then imported; the page ends without the "Importing" banner or a moving bar."""

import os
import re
import uuid

import pytest
from playwright.sync_api import expect

from data.core import db
from tests.conftest import browser_login
from tests.ingest_helpers import calls, reset_calls
from tests.test_import_profile_store import CUSTOM


@pytest.fixture
def admin_page(page, make_user):
    reset_calls()
    db.execute("DELETE FROM import_profile")
    name = f"importer-{uuid.uuid4().hex[:6]}"
    make_user(name, role="admin")
    browser_login(page, name, "pass-word-1")
    page.goto("/admin/import")
    return page


def _setting(pg, key: str):
    return pg.locator(f'[id=\'{{"key":"{key}","type":"import-profile-setting"}}\']')


def _rule(pg, field: str):
    return pg.locator(f'[id=\'{{"field":"{field}","type":"import-profile-rule"}}\']')


def test_build_a_profile_preview_dry_run_and_import(admin_page, tmp_path):
    pg = admin_page
    upload = tmp_path / "pbx-export.csv"
    upload.write_text(CUSTOM)
    pg.set_input_files("#import-upload input[type=file]", str(upload))
    expect(pg.locator("#import-suggestion")).to_contain_text("No format or profile fits", timeout=15_000)
    expect(pg.locator("#import-preview")).to_contain_text("No format or import profile reads this file")
    assert "--" not in pg.locator("#import-preview").inner_text()  # no shell option on the web

    for key, value in {
        "name": "pbx-export",
        "separator": ";",
        "dates": "%d/%m/%Y %H:%M",
        "timezone": "Europe/Madrid",
        "answered": "disposition=ANSWERED",
        "switch": "pbx-web",
    }.items():
        _setting(pg, key).fill(value)
    _setting(pg, "duration_unit").select_option("hh:mm:ss")
    for field, rule in {
        "callid": "call_uuid",
        "starting_date": "start",
        "billsec": "talk",
        "caller_id_number": "from",
        "destination_number": r"~to:s/^\+(\d+)$/00${1}/",
        "disposition": "status",
    }.items():
        _rule(pg, field).fill(rule)
    _setting(pg, "cause_field").select_option("disposition")
    _setting(pg, "cause_map").fill("ANSWERED=16\nBUSY=17\nNO ANSWER=19")
    _setting(pg, "cause_map").blur()

    preview = pg.locator("#import-profile-preview")
    expect(preview).to_contain_text("Spain (ES)", timeout=20_000)
    expect(preview).to_contain_text("17 USER_BUSY")
    expect(preview).to_contain_text("Start (Europe/Madrid)")
    bad_cell = preview.locator("td.table-danger")
    expect(bad_cell).to_have_count(1)
    expect(bad_cell).to_contain_text("starting_date '2020-02-31 22:50:00' is not a date")

    pg.click("#import-profile-save")
    expect(pg.locator("#import-profile-message")).to_contain_text("Profile pbx-export saved.", timeout=15_000)

    pg.locator("#import-reader").select_option("profile:pbx-export")
    expect(pg.locator("#import-preview")).to_contain_text("Spain (ES)", timeout=20_000)
    pg.click("#import-dry-run")
    summary = pg.locator("#import-dry-run-summary")
    expect(summary).to_contain_text("3 records read, 2 would be stored", timeout=30_000)
    expect(summary).to_contain_text("1 would be rejected")
    expect(summary).to_contain_text("starting_date '2020-02-31 22:50:00' is not a date")
    assert calls() == {}

    pg.click("#import-start")
    expect(pg.locator("#import-result")).to_contain_text(re.compile(r"Import \d+ done: 2 calls stored"), timeout=30_000)
    expect(pg.locator("#import-message")).not_to_contain_text("Importing")
    expect(pg.locator("#import-progress .progress-bar-animated")).to_have_count(0)
    assert set(calls()) == {"u-1", "u-2"} and calls()["u-1"]["switch_name"] == "pbx-web"
    listed = pg.locator("#import-list").inner_text()
    assert "profile:pbx-export" in listed and not re.search(r"\d{4}-\d\d-\d\dT\d\d", listed)  # no raw ISO time
    assert pg.console_errors == []
    _screenshots(pg)


def _screenshots(pg) -> None:
    """With DIALSTAT_SCREENSHOTS=DIR, the page as left (light, dark; 1440 and 390 px wide), to look at."""
    folder = os.environ.get("DIALSTAT_SCREENSHOTS")
    if not folder:
        return
    for theme in ("light", "dark"):
        pg.evaluate(f"document.documentElement.setAttribute('data-bs-theme', '{theme}')")
        for width in (1440, 390):
            pg.set_viewport_size({"width": width, "height": 900})
            pg.screenshot(path=f"{folder}/import-{theme}-{width}.png", full_page=True)


def test_a_refused_profile_names_each_field_and_reason(admin_page):
    pg = admin_page
    _setting(pg, "name").fill("bad/name")
    _setting(pg, "header").uncheck()
    _rule(pg, "callid").fill("call_uuid")
    _setting(pg, "dates").fill("%d/%q")
    _setting(pg, "dates").blur()
    pg.click("#import-profile-save")
    message = pg.locator("#import-profile-message")
    expect(message).to_contain_text("The profile was not saved", timeout=15_000)
    expect(message).to_contain_text("name: 1 to 63 letters")
    expect(message).to_contain_text("fields.callid: no column is named 'call_uuid'")
    expect(message).to_contain_text("fields.starting_date: required")
    expect(message).to_contain_text("dates: the pattern uses %q")
    assert db.scalar("SELECT count(*) FROM import_profile") == 0
