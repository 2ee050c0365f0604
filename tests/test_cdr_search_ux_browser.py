"""The CDR search as an operator uses it, in a real browser at 1440 x 900: no cut-off column and a grid that
fills the window, the column chooser kept in the URL, a row opened from the keyboard into a readable detail
with its rating, flagged calls highlighted and filtered (also for the customer who owns them), free-text
accountcode and call-id filters, and saved searches."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import datetime, timedelta

import pytest

from data.admin import users
from data.core import db
from tests.cdr_factory import UTC, ensure_switch, insert_calls, random_calls
from tests.conftest import browser_login
from tests.rating_setup import build_world

N = 120
GRID = "#cdr-search-grid"
ROW0 = f"{GRID} .ag-row[row-index='0'] .ag-cell[col-id='destination_number']"


@pytest.fixture(scope="module")
def world(app):
    world = build_world(lambda name, **kw: users.create_user(name, "pass-word-1", "customer", **kw))
    rng = random.Random(4)
    switch = ensure_switch("a-switch-with-a-long-name", "10.9.0.1")
    start = datetime.now(UTC) - timedelta(days=2)
    made = random_calls(N, [switch], start, 2, rng, accounts=[("unlinked-7", None), ("1001", world["alice"].id)])
    for i, c in enumerate(made):
        c["caller_id_number"] = f"+4420794{i:05d}"
        c["destination_number"] = f"0034650{i:06d}"
        c["hangup_cause_id"] = 16 if c["billsec"] else c["hangup_cause_id"]
    insert_calls(made)
    # The newest call carries the longest values the demo data has: an 18-character destination with a DTMF
    # suffix and the longest Q.850 cause name (24 CALL_REJECTED_FEATURE_AT_DESTINATION).
    db.execute(
        """UPDATE cdr SET destination_number = '+2252123431323#858', hangup_cause_id = 24
           WHERE id = (SELECT id FROM cdr ORDER BY starting_date DESC, id DESC LIMIT 1)"""
    )
    db.execute("UPDATE cdr SET caller_id_number = '+4420794' || lpad(id::text, 5, '0') WHERE caller_id_number IS NULL")
    # One of alice's calls, rated on her plan: Spain mobile 0.07/min, 30/6 increments, 61 s billed as 66 s.
    rated = db.scalar("SELECT min(id) FROM cdr WHERE accountcode = '1001' AND billsec > 0")
    db.execute(
        """UPDATE cdr SET billsec = 61, normalised_number = '34650104877', sell_rate = 0.07, sell_cost = 0.077,
                          rating_status = 1, destination_alert = true, alert_reason = 'blacklist country ES'
           WHERE id = :id""",
        id=rated,
    )
    whitelisted = db.scalar("SELECT min(id) FROM cdr WHERE accountcode = 'unlinked-7'")
    db.execute(
        "UPDATE cdr SET destination_alert = false, alert_reason = 'whitelist prefix 3465' WHERE id = :id",
        id=whitelisted,
    )
    first = start.date().isoformat()
    return {
        **world,
        "query": f"start={first}&end={datetime.now(UTC).date().isoformat()}",
        "rated": rated,
        "whitelisted": whitelisted,
        "callid": db.scalar("SELECT callid FROM cdr WHERE id = :id", id=whitelisted),
        "unlinked": db.scalar("SELECT count(*) FROM cdr WHERE accountcode = 'unlinked-7'"),
    }


def _open(page, world, extra: str = ""):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/cdrs?{world['query']}{extra}")
    page.wait_for_selector(ROW0, timeout=60_000)


def _count(page, n: int) -> None:
    text = f"{n} call{'s' * (n != 1)}"
    page.wait_for_function(f"(document.querySelector('#cdr-search-count') || {{}}).innerText === '{text}'")


def test_no_column_is_cut_at_1440_and_the_grid_fills_the_window(page, world):
    browser_login(page, "admin", "admin-secret")
    _open(page, world)
    _count(page, N)
    for col in ("starting_date", "caller_id_number", "destination_number", "hangup_cause_id", "accountcode"):
        cut = page.eval_on_selector_all(
            f"{GRID} .ag-cell[col-id='{col}'], {GRID} .ag-header-cell[col-id='{col}'] .ag-header-cell-text",
            "cells => cells.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.innerText)",
        )
        assert cut == [], (col, cut)
    visible = page.eval_on_selector(
        f"{GRID} .ag-body-viewport",
        """v => { const box = v.getBoundingClientRect();
                  return [...v.querySelectorAll('.ag-center-cols-container .ag-row')].filter(r => {
                      const b = r.getBoundingClientRect(); return b.top >= box.top - 1 && b.bottom <= box.bottom + 1;
                  }).length; }""",
    )
    assert visible >= 25
    assert page.inner_text("#cdr-search-direction") == "Any direction"
    page.click("#cdr-search-direction")
    labels = page.eval_on_selector_all("[role=option]", "os => os.map(o => o.innerText.trim())")
    assert labels == ["Any direction", "Inbound", "Outbound"]  # no blank choice
    page.keyboard.press("Escape")
    assert page.console_errors == []


def test_column_chooser_is_kept_in_the_url(page, world):
    browser_login(page, "admin", "admin-secret")
    _open(page, world)
    assert page.locator(f"{GRID} .ag-header-cell[col-id='callid']").count() == 0
    page.click("#cdr-search-columns-button")
    page.get_by_label("Call-ID").check()
    page.wait_for_selector(f"{GRID} .ag-header-cell[col-id='callid']")
    page.wait_for_function("new URLSearchParams(window.location.search).get('cols').includes('callid')")
    url = page.url
    page.goto(url)  # a copied URL
    page.wait_for_selector(f"{GRID} .ag-header-cell[col-id='callid']", timeout=60_000)
    assert "Call-ID" in page.inner_text(f"{GRID} .ag-header-row")


def test_a_row_opens_from_the_keyboard_into_a_readable_detail_with_its_rating(page, world):
    browser_login(page, "admin", "admin-secret")
    _open(page, world, f"&callid={world['callid']}")
    _count(page, 1)
    page.locator(ROW0).focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#cdr-search-detail-body summary")
    body = page.inner_text("#cdr-search-detail-body")
    assert "a-switch-with-a-long-name" in body and "switch_id" not in body.split("All stored fields")[0]
    assert "whitelist: whitelist prefix 3465" in body
    page.keyboard.press("Escape")
    page.wait_for_selector("#cdr-search-detail", state="detached")

    # The rated call: which rate, the increments, billed seconds and the cost with its currency.
    _open(page, world, "&flag=blacklist")
    _count(page, 1)
    page.locator(ROW0).focus()
    page.keyboard.press(" ")
    page.wait_for_selector("#cdr-detail-rating")
    rating = page.inner_text("#cdr-detail-rating")
    assert "0.07 EUR per minute on prefix 3465 (Spain mobile)" in rating
    assert "Billed 66 s for 61 s: first increment 30 s, then by 6 s." in rating
    assert "Cost = 0.07 × 66 s / 60 = 0.077 EUR" in rating
    assert "rated" in rating
    assert not re.search(r"\d{4}-\d\d-\d\dT\d", page.inner_text("#cdr-search-detail-body table"))  # no ISO time
    assert page.console_errors == []


def test_flagged_calls_are_highlighted_filtered_exported_and_shown_to_their_customer(page, world):
    browser_login(page, "admin", "admin-secret")
    _open(page, world)
    page.click("#cdr-search-flag")
    page.click("[role=option]:has-text('Flagged: any flag')")
    page.wait_for_function("window.location.search.includes('flag=any')")
    _count(page, 2)
    page.wait_for_selector(f"{GRID} .ag-row.cdr-flag-danger")
    page.wait_for_selector(f"{GRID} .ag-row.cdr-flag-whitelist")
    with page.expect_download() as download:
        page.click("#cdr-search-export-csv")
    rows = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    assert sorted(r["flag"] for r in rows) == ["blacklist: blacklist country ES", "whitelist: whitelist prefix 3465"]

    # The customer who owns the blacklisted call sees it flagged (CDR-Stats' "View Fraudulent Calls").
    page.goto("/logout")
    browser_login(page, "alice", "pass-word-1")
    _open(page, world, "&flag=any")
    _count(page, 1)
    # the grid draws the row before its cells' text: wait for the flag rather than read it once
    page.wait_for_selector(f"{GRID} .ag-row[row-index='0'] .ag-cell[col-id='flag']:has-text('blacklist')")


def test_typed_accountcode_and_call_id_filters_and_saved_searches(page, world):
    browser_login(page, "admin", "admin-secret")
    _open(page, world)
    # the filter bar's options arrive in one callback (its last output is the time zone line): typing before it
    # answers would be overwritten by it
    page.wait_for_selector("#filter-timezone:has-text('UTC')")
    page.click("#filter-accountcode")
    # the open list's search box, filled at once: keys typed before it has the focus would be lost
    page.locator("input.dash-dropdown-search:visible").fill("unlinked-7")
    page.click("[role=option]:has-text('unlinked-7')")  # not linked to any customer: offered as typed
    page.keyboard.press("Escape")
    page.wait_for_function("new URLSearchParams(window.location.search).get('accountcode') === 'unlinked-7'")
    _count(page, world["unlinked"])

    page.fill("#cdr-search-save-name", "Unlinked account")
    page.click("#cdr-search-save")
    page.wait_for_selector("#cdr-search-save-name.is-valid")
    saved = db.rows("SELECT u.username, s.query FROM saved_search s JOIN app_user u ON u.id = s.user_id")
    assert saved[0]["username"] == "admin" and "accountcode=unlinked-7" in saved[0]["query"]

    page.goto("/cdrs")
    page.click(".dropdown-toggle:has-text('Saved searches')")
    page.click(".dropdown-item:has-text('Unlinked account')")
    page.wait_for_function("window.location.search.includes('accountcode=unlinked-7')")
    _count(page, world["unlinked"])

    page.fill("#cdr-search-callid", world["callid"])
    page.press("#cdr-search-callid", "Enter")
    page.wait_for_function("window.location.search.includes('callid=')")
    _count(page, 1)
    # The saved search is admin's own: alice's list does not have it.
    page.goto("/logout")
    browser_login(page, "alice", "pass-word-1")
    _open(page, world)
    page.click(".dropdown-toggle:has-text('Saved searches')")
    page.wait_for_selector(".dropdown-item:has-text('None yet')")
    page.keyboard.press("Escape")
    # Her own one she deletes with its ×, after saying yes to the question (a "no" keeps it).
    page.fill("#cdr-search-save-name", "Mine")
    page.click("#cdr-search-save")
    page.wait_for_selector("#cdr-search-save-name.is-valid")
    asked = []
    delete = page.locator("button[aria-label='Delete “Mine”']")
    for answer in ("dismiss", "accept"):
        if not delete.is_visible():  # the menu stays open after a "no"
            page.click(".dropdown-toggle:has-text('Saved searches')")
        with page.expect_event("dialog") as question:
            delete.click()
        asked.append(question.value.message)
        getattr(question.value, answer)()
        if answer == "dismiss":
            page.wait_for_timeout(500)
            assert db.scalar("SELECT count(*) FROM saved_search") == 2
    assert asked == ["Delete the saved search “Mine”?"] * 2
    page.wait_for_selector(".dropdown-item:has-text('None yet')")  # the open list follows at once
    assert db.rows("SELECT name FROM saved_search") == [{"name": "Unlinked account"}]  # admin's stays
    assert page.console_errors == []
