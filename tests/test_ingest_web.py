"""The import page's backend (upload, progress) and the rejects download."""

import base64
import csv
import io
import time

import pytest

from data.ingest import import_file
from data.ingest.formats import FormatError
from data.ingest.uploads import import_progress, start_upload_import
from tests.ingest_helpers import SAMPLES, reset_calls


@pytest.fixture(autouse=True)
def _empty(app):
    reset_calls()


def _payload(path) -> str:
    return "data:text/csv;base64," + base64.b64encode(path.read_bytes()).decode()


def test_an_upload_is_imported_in_the_background_with_progress():
    import_id = start_upload_import("mixed.csv", _payload(SAMPLES / "cdr_stats_mixed.csv"), "auto", None, None)
    deadline = time.monotonic() + 30
    while (progress := import_progress(import_id))["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert progress["state"] == "done" and progress["percent"] == 100
    assert (progress["accepted"], progress["duplicates"], progress["rejected"]) == (6, 1, 7)
    assert progress["source"] == "upload" and progress["file_name"] == "mixed.csv"


def test_an_upload_in_an_unknown_format_is_refused_at_once():
    garbage = "data:text/plain;base64," + base64.b64encode(b"a;b\n1;2\n").decode()
    with pytest.raises(FormatError):
        start_upload_import("x.txt", garbage, "auto", None, None)


def test_rejects_download_is_spreadsheet_safe_and_for_admins(client, admin_client, make_user):
    summary = import_file(SAMPLES / "cdr_stats_mixed.csv")
    url = f"/download/rejects/{summary.import_id}.csv"
    assert client.get(url).status_code == 401
    customer = make_user("viewer")
    from tests.conftest import login

    login(client, customer.username, "pass-word-1")
    assert client.get(url).status_code == 403
    response = admin_client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["line", "reason", "raw"]
    assert [(int(r[0]), r[1]) for r in rows[1:]][:2] == [
        (7, "starting_date 'yesterday' is not a date"),
        (9, "expected 25 fields, found 24"),
    ]
    assert admin_client.get("/download/rejects/999999.csv").status_code == 404


def test_formula_cells_are_neutralised():
    from data.core.spreadsheet import safe_cell

    assert [safe_cell(v) for v in ("=cmd()", "+1", "-2", "@SUM(1)", "plain", None, 7)] == [
        "'=cmd()",
        "+1",
        "-2",
        "'@SUM(1)",
        "plain",
        "",
        "7",
    ]
