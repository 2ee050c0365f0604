"""Billing reports one set of unrated figures that add up (priced + each unrated reason = calls), pages
through its call grids saying how many rows there are (no silent cap), and keeps its query's internal
grouping flags (by_customer, by_carrier, by_country) out of grids and CSVs. The defects (issue 16): the
KPI, the "by reason" table (which listed "rated") and the grid (capped at 500) disagreed, and
billing-by-day.csv carried the flags."""

import csv
import io
from datetime import date

import pytest

from data.core import db
from data.core.spreadsheet import rows_to_csv
from data.rating import billing
from data.rating.billing import Period
from tests.dash_client import chart_data, dash_call
from tests.rating_setup import ADMIN, world_with_month

JANUARY = Period(date(2026, 1, 1), date(2026, 1, 31))
ARGS = ["2026-01-01", "2026-01-31", None]


@pytest.fixture(scope="module")
def world(app, tmp_path_factory):
    world = world_with_month(tmp_path_factory.mktemp("billing"), calls=1500, seed=12)
    # a few calls not rated yet (e.g. stored while rating was off): a reason of their own
    db.execute("UPDATE cdr SET rating_status = NULL WHERE id IN (SELECT id FROM cdr ORDER BY id LIMIT 7)")
    return world


def test_priced_and_each_unrated_reason_add_up_to_the_calls(world):
    counts = billing.unrated_reasons(ADMIN, JANUARY)
    assert counts["calls"] == 1500 == billing.billing_summary(ADMIN, JANUARY)["total"]["calls"]
    assert counts["priced"] + sum(r["calls"] for r in counts["reasons"]) == counts["calls"]
    assert {r["reason"] for r in counts["reasons"]} >= {"no plan", "not rated yet"}
    assert "rated" not in {r["reason"] for r in counts["reasons"]}
    assert billing.billing_summary(ADMIN, JANUARY)["total"]["unrated_calls"] == counts["unrated"]
    assert counts["unrated"] == sum(1 for _ in billing.iter_calls("unrated", ADMIN, JANUARY))


def test_the_page_shows_the_same_figures_and_pages_through_every_unrated_call(world, admin_client):
    page = dash_call(admin_client, "show_billing", [*ARGS, "day"])
    counts = billing.unrated_reasons(ADMIN, JANUARY)
    assert page[("kpi-billing-unrated", "children")] == f"{counts['unrated']:,}"
    summary = str(page[("billing-unrated-reasons", "children")])
    assert f"= {counts['calls']:,} calls" in summary and "not rated yet 7" in summary
    pages = page[("billing-unrated-calls-page", "max_value")]
    assert counts["unrated"] > billing.PAGE_SIZE and pages == -(-counts["unrated"] // billing.PAGE_SIZE)
    seen = []
    for number in range(1, pages + 1):
        shown = dash_call(admin_client, "show_unrated_page", [*ARGS, number])
        seen += [r["id"] for r in shown[("billing-unrated-calls", "rowData")]]
        assert f"of {counts['unrated']:,}" in shown[("billing-unrated-calls-count", "children")]
    assert len(seen) == len(set(seen)) == counts["unrated"]


def test_no_grouping_flag_in_the_grids_or_the_csvs(world, admin_client):
    page = dash_call(admin_client, "show_billing", [*ARGS, "day"])
    for chart in ("billing-by-day", "billing-by-country", "billing-by-carrier", "billing-by-customer"):
        rows = chart_data(page, chart)
        assert rows and not any(key.startswith("by_") for row in rows for key in row), chart
    # the chart's "Download CSV" (billing-by-day.csv) writes its rows as they are
    header = rows_to_csv(chart_data(page, "billing-by-day")).splitlines()[0].split(",")
    assert header[0] == "day" and not any(name.startswith("by_") for name in header)
    for group in billing.GROUPINGS:
        response = admin_client.get(f"/download/billing.csv?first=2026-01-01&last=2026-01-31&group={group}")
        header = next(csv.reader(io.StringIO(response.get_data(as_text=True))))
        assert not any(name.startswith("by_") for name in header), group
