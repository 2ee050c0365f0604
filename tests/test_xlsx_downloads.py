"""XLSX beside CSV on every download: the rates, billing and unrated calls, an import's rejects, a chart's data.
Numbers are number cells, phone numbers and accountcodes text cells (no lost leading zero, no 1.2E+10), and
a large workbook is written in constant memory (openpyxl write-only)."""

from __future__ import annotations

import io
import tracemalloc
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook

from data.core.spreadsheet import rows_to_xlsx, write_xlsx
from data.ingest import import_file
from data.rating import rates
from tests.dash_client import dash_call
from tests.ingest_helpers import SAMPLES, reset_calls
from tests.rating_setup import ADMIN

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheet(response) -> list[tuple]:
    assert response.status_code == 200 and response.mimetype == XLSX, response.status_code
    sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).worksheets[0]
    return list(sheet.iter_rows(values_only=True))


@pytest.fixture(scope="module")
def plan(app):
    retail = rates.create_rate_plan(ADMIN, "xlsx-retail", "retail", currency="EUR")
    rates.import_rate_deck(
        ADMIN,
        retail,
        "prefix,destination,rate,connection_fee,increment_first,increment_next,effective_from,effective_to\n"
        "0034,Leading zero,0.0125,0,60,60,2026-01-01,\n"
        "44,United Kingdom,0.03,0,1,1,2026-01-01,\n",
    )
    return rates.create_voip_plan(ADMIN, "xlsx-plan", [retail], [])


def test_rates_xlsx_keeps_prefixes_as_text_and_rates_as_numbers(admin_client, plan):
    rows = _sheet(admin_client.get(f"/download/rates.xlsx?plan={plan}"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ("prefix", "destination", "country_code")
    by_prefix = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert set(by_prefix) == {"0034", "44"}  # text: the leading zero is kept
    assert by_prefix["0034"]["retail_rate"] == pytest.approx(0.0125) and isinstance(
        by_prefix["44"]["retail_rate"], float
    )
    assert by_prefix["44"]["increment_first"] == 1 and by_prefix["44"]["currency"] == "EUR"
    csv = admin_client.get(f"/download/rates.csv?plan={plan}")
    assert csv.status_code == 200 and csv.get_data(as_text=True).count("\n") == len(rows)
    assert admin_client.get("/download/rates.pdf").status_code == 404


def test_billing_and_unrated_xlsx(admin_client):
    rows = _sheet(admin_client.get("/download/billing.xlsx?group=day"))
    assert rows[0][:3] == ("day", "calls", "answered") and rows[-1][0] == "total"
    assert _sheet(admin_client.get("/download/billing-unrated.xlsx"))[0][0] == "id"
    assert _sheet(admin_client.get("/download/billing-losses.xlsx"))[0][-1] == "margin"


def test_rejects_xlsx(admin_client, client):
    reset_calls()
    summary = import_file(SAMPLES / "cdr_stats_mixed.csv")
    assert client.get(f"/download/rejects/{summary.import_id}.xlsx").status_code == 401
    rows = _sheet(admin_client.get(f"/download/rejects/{summary.import_id}.xlsx"))
    assert rows[0] == ("line", "reason", "raw")
    assert rows[1][:2] == (7, "starting_date 'yesterday' is not a date") and isinstance(rows[1][2], str)
    assert len(rows) - 1 == summary.rejected


def _hrefs(component) -> list[str]:
    """Every link's address in a callback's rendered output."""
    if isinstance(component, list):
        return [href for child in component for href in _hrefs(child)]
    if not isinstance(component, dict):
        return []
    props = component.get("props", {})
    return ([props["href"]] if "href" in props else []) + _hrefs(props.get("children"))


def test_the_import_page_offers_the_rejects_as_xlsx_beside_csv(admin_client):
    reset_calls()
    summary = import_file(SAMPLES / "cdr_stats_mixed.csv")
    listed = dash_call(admin_client, "show_imports", [None, "import-list"])[("import-list", "children")]
    current = {"id": summary.import_id, "dry_run": False, "name": "cdr_stats_mixed.csv"}
    finished = dash_call(admin_client, "follow_import", [1], [current])[("import-result", "children")]
    wanted = [f"/download/rejects/{summary.import_id}.{fmt}" for fmt in ("csv", "xlsx")]
    assert "Project-Id-Version" not in str(listed)  # the links' column has no title, not the catalog's header
    for shown in (listed, finished):  # the latest imports, and the result of the one just run
        assert [h for h in _hrefs(shown) if h.startswith("/download/rejects/")] == wanted
    rows = _sheet(admin_client.get(wanted[1]))
    assert rows[0] == ("line", "reason", "raw") and len(rows) - 1 == summary.rejected == 7


def test_chart_data_xlsx_numbers_and_phone_numbers():
    book = load_workbook(
        io.BytesIO(
            rows_to_xlsx(
                [
                    {"label": "00441234567890", "calls": 12, "minutes": 3.5, "asr": 61.5},
                    {"label": "+12125550100", "calls": 1234567890123, "minutes": 0.0, "asr": None},
                    {"label": '=HYPERLINK("x")', "calls": 0, "minutes": 1, "asr": 1},
                ],
                "world-map",
            )
        )
    )
    sheet = book.worksheets[0]
    assert sheet.title == "world-map"
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("label", "calls", "minutes", "asr")
    assert values[1] == ("00441234567890", 12, 3.5, 61.5)
    assert values[2][0] == "+12125550100" and values[2][1] == 1234567890123
    assert sheet["A4"].data_type == "s" and values[3][0] == '=HYPERLINK("x")'  # text, never a formula


def test_a_large_workbook_is_written_in_constant_memory(tmp_path):
    when = datetime(2026, 5, 1, tzinfo=timezone.utc)

    def rows(n):
        for i in range(n):
            yield (i, when, f"0034{i:09d}", "1001", 12.5, "16 NORMAL_CLEARING")

    def peak(n):
        tracemalloc.start()
        write_xlsx(str(tmp_path / f"big-{n}.xlsx"), ["id", "start", "number", "account", "cost", "cause"], rows(n))
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top

    small, large = peak(2_000), peak(40_000)
    assert large < small * 3 + 2_000_000  # 20 times the rows, not 20 times the memory
    sheet = load_workbook(tmp_path / "big-40000.xlsx", read_only=True).worksheets[0]
    last = list(sheet.iter_rows(min_row=40_001, values_only=True))[0]
    assert last[0] == 39_999 and last[2] == "0034000039999" and last[1] == datetime(2026, 5, 1)


def test_a_charts_xlsx_button_downloads_its_data_as_a_workbook(admin_client):
    import base64
    import json

    from tests.dash_client import _callbacks, callback_body

    rows = [{"label": "0034911", "calls": 3, "minutes": 1.5}]
    body = callback_body(
        _callbacks(admin_client),
        "download_chart_csv",
        [None, 1],
        [rows, {"type": "chart-data", "chart": "x"}],
        ids={"chart": "x"},
    )
    body["changedPropIds"] = ['{"chart":"x","type":"xlsx-button"}.n_clicks']
    response = admin_client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
    download = response.get_json()["response"]['{"chart":"x","type":"csv-download"}']["data"]
    assert download["filename"] == "x.xlsx" and download["base64"] is True
    sheet = load_workbook(io.BytesIO(base64.b64decode(download["content"]))).worksheets[0]
    assert list(sheet.iter_rows(values_only=True)) == [("label", "calls", "minutes"), ("0034911", 3, 1.5)]
