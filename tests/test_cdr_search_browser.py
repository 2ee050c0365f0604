"""The CDR search in a real browser: grid rows, a filter in the URL, the detail modal, scrolling, the CSV."""

import csv
import io
import random
from datetime import datetime, timedelta

import pytest

from data.core import db
from tests.cdr_factory import UTC, ensure_switch, insert_calls, random_calls
from tests.conftest import browser_login

PREFIXES = ["34650", "44207", "1212"]
N = 250


@pytest.fixture(scope="module")
def calls(app):
    rng = random.Random(9)
    switch = ensure_switch("cdrs-browser", "10.8.0.1")
    made = random_calls(N, [switch], datetime.now(UTC) - timedelta(days=3), 2, rng)
    for i, c in enumerate(made):
        c["destination_number"] = PREFIXES[i % 3] + f"{i:06d}"
    insert_calls(made)
    db.execute("""UPDATE cdr SET extradata = '{"leg": "a-leg", "sip": {"ua": "Linphone"}}'::jsonb""")
    first = min(c["starting_date"] for c in made).date()
    return {"calls": made, "query": f"start={first.isoformat()}&end={datetime.now(UTC).date().isoformat()}"}


def _destinations(page) -> list[str]:
    return page.eval_on_selector_all(
        "#cdr-search-grid .ag-center-cols-container .ag-cell[col-id='destination_number']",
        "cells => cells.map(c => c.innerText)",
    )


def _wait_for_rows_beginning(page, prefix: str) -> None:
    """Every rendered row's destination begins with ``prefix`` (rows still loading have no text yet)."""
    page.wait_for_function(
        """prefix => {
        const cells = [...document.querySelectorAll(
            "#cdr-search-grid .ag-center-cols-container .ag-cell[col-id='destination_number']")];
        return cells.length > 0 && cells.every(c => c.innerText.startsWith(prefix));
    }""",
        arg=prefix,
    )
    assert all(d.startswith(prefix) for d in _destinations(page))


def test_search_filter_detail_scroll_and_csv(page, calls):
    browser_login(page, "admin", "admin-secret")
    page.goto(f"/cdrs?{calls['query']}")
    page.wait_for_selector(
        "#cdr-search-grid .ag-row[row-index='0'] .ag-cell[col-id='destination_number']", timeout=60_000
    )  # a cold browser loads Plotly and AG Grid first
    page.wait_for_function(f"document.querySelector('#cdr-search-count').innerText === '{N} calls'")
    page.wait_for_selector("#cdr-search-by-day-graph .main-svg")
    assert "Times in UTC" in page.inner_text("#filter-timezone")

    # Scroll to the end: the count from the report sized the grid, the last block loads.
    page.locator("#cdr-search-grid .ag-body-viewport").evaluate("e => e.scrollTop = e.scrollHeight")
    page.wait_for_selector(f"#cdr-search-grid .ag-row[row-index='{N - 1}'] .ag-cell[col-id='destination_number']")

    # A page filter goes into the URL (with the shared ones) and the grid reloads with it.
    page.select_option("#cdr-search-dst-op", "begins")
    page.fill("#cdr-search-dst", "44207")
    page.press("#cdr-search-dst", "Enter")
    page.wait_for_function("window.location.search.includes('dst=44207') && window.location.search.includes('start=')")
    want = sum(1 for c in calls["calls"] if c["destination_number"].startswith("44207"))
    page.wait_for_function(f"document.querySelector('#cdr-search-count').innerText === '{want} calls'")
    page.locator("#cdr-search-grid .ag-body-viewport").evaluate("e => e.scrollTop = 0")
    _wait_for_rows_beginning(page, "44207")

    # The detail of a row: every field and the extradata.
    page.click("#cdr-search-grid .ag-row[row-index='0'] .ag-cell[col-id='destination_number']")
    page.wait_for_selector("#cdr-search-detail-body summary")
    assert page.inner_text(".modal-title").startswith("Call to 44207")
    page.click("#cdr-search-detail-body summary")  # every stored field, and the extradata
    assert '"ua": "Linphone"' in page.inner_text("#cdr-search-detail-extradata")
    assert "callid" in page.inner_text("#cdr-search-detail-body")
    page.click("#cdr-search-detail-close")
    page.wait_for_selector("#cdr-search-detail-extradata", state="detached")

    # The export is the whole filtered result, from the URL the page shows.
    with page.expect_download() as download:
        page.click("#cdr-search-export-csv")
    assert download.value.suggested_filename.startswith("cdrs_") and download.value.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(open(download.value.path()).read())))
    assert len(rows) == want and all(r["destination_number"].startswith("44207") for r in rows)

    page.reload()  # a bookmark restores the page's filters
    page.wait_for_selector("#cdr-search-grid .ag-row[row-index='0'] .ag-cell[col-id='destination_number']")
    assert page.input_value("#cdr-search-dst") == "44207"
    _wait_for_rows_beginning(page, "44207")
    assert page.console_errors == []
