"""CGRateS JSON-RPC exports at POST /jsonrpc: admin API tokens only, answers that match the files written."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from data.admin import api_tokens
from data.core import db
from data.export import exporter, library
from tests.cdr_factory import ensure_switch, insert_calls
from tests.test_export_db import SAMPLE_LINE, SETUP, sample_cdr


@pytest.fixture(scope="module")
def tokens(app):
    from data.admin import users

    customer = users.create_user("rpc-customer", "pass-word-1", "customer", accountcodes=("1001",))
    db.execute("UPDATE app_user SET tenant = 'cgrates.org' WHERE id = :id", id=customer.id)
    switch_id = ensure_switch("rpc-switch", "192.168.1.1")
    calls = [sample_cdr(switch_id, customer.id)]
    for number in range(20):
        calls.append(
            sample_cdr(
                switch_id,
                customer.id,
                callid=f"call-{number}",
                answered_date=SETUP + timedelta(minutes=number + 1),
                destination_number=f"4986{number:04d}",
                sell_cost=Decimal(number) / 7 if number != 5 else None,
            )
        )
    insert_calls(calls)
    admin = users.get_user_by_name("admin")
    revoked = api_tokens.create_token(admin.id, "revoked")
    api_tokens.revoke_token(api_tokens.tokens_of(admin.id)[0]["id"])
    return {
        "admin": api_tokens.create_token(admin.id, "billing"),
        "customer": api_tokens.create_token(customer.id),
        "revoked": revoked,
    }


def call(client, token, method, params, request_id=1):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/jsonrpc", json={"method": method, "params": [params], "id": request_id}, headers=headers)


def test_export_csv_cdrs_writes_cdrs_timestamp_csv_whose_content_matches_the_answer(client, tokens):
    response = call(
        client,
        tokens["admin"],
        "ApierV1.ExportCsvCdrs",
        {"TimeStart": str(int(SETUP.timestamp())), "TimeEnd": "2013-11-07T09:00:00Z"},
        request_id=7,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == 7 and body["error"] is None
    result = body["result"]
    path = Path(result["ExportedFilePath"])
    assert path.parent == exporter.export_root() and path.name.startswith("cdrs_") and path.suffix == ".csv"
    text = path.read_text()
    assert text.startswith(SAMPLE_LINE)
    rows = list(csv.reader(io.StringIO(text)))
    assert result["TotalRecords"] == len(rows) == 18  # answered in [08:42:25, 09:00): the sample and 17 more
    assert result["ExportedCgrIds"] == [row[0] for row in rows]
    assert Decimal(str(result["TotalCost"])).quantize(Decimal("0.0001")) == sum(
        (Decimal(row[14]) for row in rows if row[14]), Decimal(0)
    )
    assert result["FirstOrderId"] <= result["LastOrderId"] and result["UnexportedCgrIds"] == {}
    entry = db.rows("SELECT * FROM export_history ORDER BY id DESC LIMIT 1")[0]
    assert (entry["source"], entry["actor"], entry["total_records"], entry["file_path"]) == (
        "jsonrpc",
        "admin",
        18,
        str(path),
    )


def test_export_cdrs_to_file_with_rsr_template_masking_and_options(client, tokens):
    library.save_destination_list("GERMAN_MOBILE", ["4986"])
    response = call(
        client,
        tokens["admin"],
        "ApierV1.ExportCdrsToFile",
        {
            "ExportTemplate": "accid,destination,cost",
            "FieldSeparator": ";",
            "CostDecimals": 2,
            "MaskDestinationId": "GERMAN_MOBILE",
            "MaskLength": 2,
            "ExportDir": "rpc/out",
            "ExportFileName": "mine.csv",
            "ExportId": "42",
            "Accounts": ["1001"],
            "DestinationPrefixes": ["49860001", "49860002", "1002"],
            "SuppressCgrIds": True,
        },
    )
    result = response.get_json()["result"]
    assert result["ExportedFilePath"] == str(exporter.export_root() / "rpc" / "out" / "mine.csv")
    expected = "dsafdsaf;1002;1.01\ncall-1;498600**;0.14\ncall-2;498600**;0.29\n"
    assert Path(result["ExportedFilePath"]).read_text() == expected
    assert result["TotalRecords"] == 3 and result["ExportedCgrIds"] is None and result["UnexportedCgrIds"] is None


def test_a_bad_cdr_is_listed_with_its_reason_and_does_not_stop_the_export(client, tokens):
    library.save_template(
        "mandatory-cost",
        {"content_fields": [{"tag": "Id", "value": "accid"}, {"tag": "Cost", "value": "cost", "mandatory": True}]},
    )
    result = call(
        client, tokens["admin"], "ApierV1.ExportCdrsToFile", {"ExportTemplate": "mandatory-cost", "TimeStart": 0}
    ).get_json()["result"]
    assert result["TotalRecords"] == 20
    assert list(result["UnexportedCgrIds"].values()) == ["field 'Cost': empty value for a mandatory field"]
    assert len(Path(result["ExportedFilePath"]).read_text().splitlines()) == 20


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"ExportDir": "../../etc"}, "must be EXPORT_DIR"),
        ({"ExportDir": "/tmp"}, "must be EXPORT_DIR"),
        ({"ExportFileName": "../escape.csv"}, "file name"),
        ({"ExportTemplate": "~account:s/(/x/"}, "RSR rule"),
        ({"TimeStart": "yesterday"}, "TimeStart"),
        ({"Tenants": ["cgrates.org"]}, "unsupported parameters: Tenants"),
        ({"CdrFormat": "*file_xml"}, "CdrFormat"),
        ({"MaskDestinationId": "NO_SUCH_LIST", "MaskLength": 2}, "no destination list"),
    ],
)
def test_bad_parameters_are_refused_and_nothing_is_written(client, tokens, params, message):
    before = set(exporter.export_root().rglob("*"))
    body = call(client, tokens["admin"], "ApierV1.ExportCdrsToFile", params).get_json()
    assert body["result"] is None and message in body["error"]
    assert set(exporter.export_root().rglob("*")) == before


@pytest.mark.parametrize("token", ["", "dst_not-a-real-token", "garbage", "revoked"])
def test_without_a_valid_token_the_answer_is_a_401_json_rpc_error(client, tokens, token):
    response = call(client, tokens.get(token, token), "ApierV1.ExportCsvCdrs", {}, request_id="x")
    assert response.status_code == 401
    assert response.get_json() == {"id": "x", "result": None, "error": response.get_json()["error"]}
    assert "unauthorized" in response.get_json()["error"]


def test_a_customer_token_is_refused(client, tokens):
    response = call(client, tokens["customer"], "ApierV1.ExportCsvCdrs", {})
    assert response.status_code == 403 and "admin" in response.get_json()["error"]


def test_a_session_is_not_enough_and_unknown_methods_are_errors(admin_client, tokens):
    assert (
        admin_client.post("/jsonrpc", json={"method": "ApierV1.ExportCsvCdrs", "params": [{}], "id": 1}).status_code
        == 401
    )  # a browser session cannot be used to call it
    body = call(admin_client, tokens["admin"], "ApierV1.Nope", {}).get_json()
    assert body["error"] == "rpc: can't find method ApierV1.Nope"


def test_token_lifecycle(app):
    from data.admin import users

    admin = users.get_user_by_name("admin")
    token = api_tokens.create_token(admin.id, "ci")
    assert api_tokens.user_for_token(token).id == admin.id
    row = next(t for t in api_tokens.tokens_of(admin.id) if t["name"] == "ci")
    assert row["last_used_at"] is not None
    assert token not in str(db.rows("SELECT * FROM api_token"))  # only the hash is stored
    assert api_tokens.revoke_token(row["id"]) and not api_tokens.revoke_token(row["id"])
    assert api_tokens.user_for_token(token) is None
    assert api_tokens.bearer_token("Bearer abc") == "abc" and api_tokens.bearer_token("Basic abc") is None


def test_download_of_an_export_needs_an_admin_session(client, admin_client, make_user, tokens):
    from tests.conftest import login

    history_id = db.scalar("SELECT max(id) FROM export_history WHERE finalized")
    response = admin_client.get(f"/download/export/{history_id}")
    assert response.status_code == 200 and response.data
    assert client.get(f"/download/export/{history_id}").status_code == 401
    make_user("dl-customer")
    assert login(client, "dl-customer", "pass-word-1").status_code == 302
    assert client.get(f"/download/export/{history_id}").status_code == 403
    assert admin_client.get("/download/export/999999").status_code == 404
