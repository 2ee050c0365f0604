"""CGRateS-format exports and spreadsheets: byte for byte CGRateS's by default (formula-looking cells untouched),
neutralised with the template's ``spreadsheet_safe`` switch, and always when downloaded from the web page —
while E.164 numbers and negative amounts stay exactly as they are."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest

from data.core import db
from data.export import cdr_query, exporter, library
from data.export.safe_csv import safe_records
from data.export.templates import CGR_CSV_TEMPLATE, load_cdre_profile
from tests.cdr_factory import ensure_switch, insert_calls
from tests.test_export_db import SETUP, sample_cdr

EVIL = ('=HYPERLINK("http://evil.example/x","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "＝1+1")


@pytest.fixture(scope="module")
def evil_calls(app):
    switch_id = ensure_switch("evil-switch", "192.168.9.1")
    insert_calls(
        [
            sample_cdr(switch_id, None, callid=f"evil-{i}", accountcode=code, destination_number="+34293836010")
            for i, code in enumerate(EVIL)
        ]
        + [sample_cdr(switch_id, None, callid="plain", accountcode="-12.5", destination_number="+34293836010")]
    )
    return switch_id


def _export(template) -> str:
    run = exporter.adhoc_run(template, cdr_query.ExportFilter(time_start=SETUP, time_end=SETUP + timedelta(hours=1)))
    out = io.StringIO(newline="")
    with db.raw_connection() as conn:
        exporter.stream_export(conn, run, out)
    return out.getvalue()


def test_by_default_an_export_is_cgrates_byte_for_byte(evil_calls):
    text = _export(CGR_CSV_TEMPLATE)
    assert '"=HYPERLINK(""http://evil.example/x"",""click"")"' in text and "\n+cmd" not in text
    assert ",@SUM(1+1)," in text and ",＝1+1," in text and ",-12.5," in text


def test_the_spreadsheet_safe_switch_neutralises_formulas_and_keeps_numbers(evil_calls):
    plain = _export(CGR_CSV_TEMPLATE)
    safe = _export(replace(CGR_CSV_TEMPLATE, spreadsheet_safe=True))
    assert '"\'=HYPERLINK(""http://evil.example/x"",""click"")"' in safe
    assert ",'@SUM(1+1)," in safe and ",'＝1+1," in safe and ",'+cmd|' /C calc'!A0," in safe
    assert ",-12.5,-12.5,+34293836010," in safe  # account, subject, destination: numbers as they were
    plain_lines, safe_lines = plain.splitlines(), safe.splitlines()
    assert len(plain_lines) == len(safe_lines) == 5
    untouched = [p for p, s in zip(plain_lines, safe_lines, strict=True) if p == s]
    assert len(untouched) == 1 and ",-12.5," in untouched[0]  # the record with nothing to neutralise: byte for byte


def test_the_switch_is_saved_with_the_template_and_must_be_a_boolean(app):
    profile = {**CGR_CSV_TEMPLATE.to_cdre_profile(), "spreadsheet_safe": True}
    library.save_template("safe-csv", profile)
    assert library.get_template("safe-csv").spreadsheet_safe is True
    with pytest.raises(ValueError, match="spreadsheet_safe must be true or false"):
        load_cdre_profile({**profile, "spreadsheet_safe": "yes"})


def test_a_download_from_the_web_page_is_safe_and_the_file_stays_as_written(evil_calls, admin_client):
    run = exporter.adhoc_run(
        CGR_CSV_TEMPLATE, cdr_query.ExportFilter(time_start=SETUP, time_end=SETUP + timedelta(hours=1))
    )
    result = exporter.export_to_file(run, exporter.Actor("ui", "admin", user_id=1), directory="safe-download")
    on_disk = result.path.read_text(encoding="utf-8")
    downloaded = admin_client.get(f"/download/export/{result.history_id}").get_data(as_text=True)
    assert downloaded == "".join(safe_records(io.StringIO(on_disk, newline="")))
    assert "=HYPERLINK" in on_disk and "\"'=HYPERLINK" in downloaded and ",'@SUM(1+1)," in downloaded
    assert ",+34293836010," in downloaded and ",-12.5," in downloaded


def test_semicolon_separated_records_are_read_with_their_separator():
    text = 'a;"=1;2";+34293836010\nplain;-1;x\n'
    assert "".join(safe_records(io.StringIO(text, newline=""), ";")) == 'a;"\'=1;2";+34293836010\nplain;-1;x\n'
