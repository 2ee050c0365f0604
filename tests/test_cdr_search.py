"""CDR search: criteria → SQL against a Python oracle, keyset paging, sort whitelist, scoping through the
callbacks, the detail view and the exports, counts and the report by day."""

import csv
import io
import json
import random
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from data.admin import users
from data.cdr_search.search import (
    fetch_block,
    get_cdr,
    parse_sort,
    report_by_day,
    search_criteria_from_query,
    search_where,
)
from data.core import db
from data.core.scope import Scope
from tests.cdr_factory import UTC, call, ensure_switch, insert_calls
from tests.conftest import login
from tests.dash_client import chart_data, dash_call

ADMIN = Scope(user_id=None, timezone="UTC")
RANGE = {"start": "2025-03-03", "end": "2025-03-09"}
FIRST = datetime(2025, 3, 2, 18, 0, tzinfo=UTC)  # calls from here, every 83 minutes in threes, 8 days
N = 420
FORMULAS = {0: "=1+2", 1: "@SUM(A1)", 2: "-12", 3: "+34911000111"}


@pytest.fixture(scope="module")
def calls(app):
    """420 calls over 8 days (some outside the range), three per timestamp, with every filtered field varied."""
    rng = random.Random(20250303)
    alice = users.create_user("alice-cdr", "alice-pw-1", "customer", accountcodes=("acc-a",), timezone="Europe/Madrid")
    bob = users.create_user("bob-cdr", "bob-pw-1", "customer", accountcodes=("acc-b",))
    switches = [ensure_switch("cdr-sw1", "10.9.0.1"), ensure_switch("cdr-sw2", "10.9.0.2")]
    made, extra = [], {}
    for i in range(N):
        answered = rng.random() < 0.6
        billsec = rng.randrange(1, 600) if answered else 0
        accountcode, user_id = rng.choice([("acc-a", alice.id), ("acc-b", bob.id), (None, None)])
        destination = rng.choice(["34650", "34911", "44207", "1212", "4930"]) + f"{rng.randrange(10**6):06d}"
        if i % 50 < 3:  # for LIKE escaping: only the first holds a literal "2_4"
            destination = ["9912_4001", "9912X4001", "99124001"][i % 50]
        c = call(
            rng.choice(switches),
            FIRST + timedelta(minutes=(i // 3) * 83),
            billsec=billsec,
            cause=16,
            unanswered_cause=rng.choice([17, 19, 21, 34, 1]),
            callid=f"cdr-search-{i}",
            duration=billsec + rng.randrange(0, 20) if answered else rng.randrange(0, 40),
            direction=rng.choice([1, 2]),
            accountcode=accountcode,
            user_id=user_id,
            country_code=rng.choice(["ES", "GB", "US", "DE", None]),
            destination_number=destination,
            sell_cost=round(rng.random(), 5),
            buy_cost=round(rng.random() * 0.8, 5),
        )
        caller = FORMULAS.get(i % 40) or rng.choice(["+3491", "0034", "44"]) + f"{rng.randrange(10**6):06d}"
        extra[c["callid"]] = {
            "caller": caller,
            "name": '=HYPERLINK("http://x")' if i % 40 == 4 else f"name {i}",
            "x": json.dumps({"i": i, "sip": {"ua": "Linphone", "codec": "PCMA"}}),
        }
        made.append(c)
    insert_calls(made)
    with db.transaction() as conn:
        conn.exec_driver_sql(
            "UPDATE cdr SET caller_id_number = %(caller)s, caller_id_name = %(name)s, extradata = %(x)s::jsonb "
            "WHERE callid = %(callid)s",
            [{"callid": k, **v} for k, v in extra.items()],
        )
    ids = {r["callid"]: r["id"] for r in db.rows("SELECT callid, id FROM cdr")}
    truth = [{**c, "id": ids[c["callid"]], "caller_id_number": extra[c["callid"]]["caller"]} for c in made]
    return {"truth": truth, "alice": alice, "bob": bob, "switches": switches}


def _client(app, username, password):
    client = app.test_client()
    assert login(client, username, password).status_code == 302
    return client


def expected(truth, scope: Scope, query: dict, keep=lambda c: True) -> list[int]:
    """The oracle: ids of the calls in the range (and the scope) that ``keep`` accepts, newest first."""
    criteria = search_criteria_from_query(query, scope)
    chosen = [
        c
        for c in truth
        if criteria.report.start <= c["starting_date"] < criteria.report.end
        and (scope.is_admin or c["user_id"] == scope.user_id)
        and keep(c)
    ]
    return [c["id"] for c in sorted(chosen, key=lambda c: (c["starting_date"], c["id"]), reverse=True)]


def search_ids(scope: Scope, query: dict, sort=(), block: int = 50) -> list[int]:
    """Every id the search returns, block after block, with keyset cursors."""
    criteria = search_criteria_from_query(query, scope)
    ids, start, after = [], 0, None
    while True:
        found = fetch_block(scope, criteria, start, start + block, sort, after)
        ids += [r["id"] for r in found.rows]
        if len(found.rows) < block:
            return ids
        start, after = start + block, found.last_key


# --- criteria → SQL -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key, column", [("dst", "destination_number"), ("src", "caller_id_number")])
@pytest.mark.parametrize(
    "op, value, test",
    [
        ("equals", None, lambda v, x: v == x),
        ("begins", "44", lambda v, x: v.startswith(x)),
        ("contains", "12", lambda v, x: x in v),
        ("ends", "7", lambda v, x: v.endswith(x)),
    ],
)
def test_number_operators_return_exactly_the_matching_calls(calls, key, column, op, value, test):
    truth = calls["truth"]
    if value is None:  # equals: a number that is really there
        value = next(c[column] for c in truth[N // 2 :] if c[column] and c[column][0].isdigit())
    query = {**RANGE, key: value, f"{key}_op": op}
    want = expected(truth, ADMIN, query, lambda c: c[column] is not None and test(c[column], value))
    assert want, "the data set has matches"
    assert search_ids(ADMIN, query) == want


def test_like_wildcards_in_a_number_are_taken_literally(calls):
    query = {**RANGE, "dst": "2_4", "dst_op": "contains"}
    found = search_ids(ADMIN, query)
    assert found == expected(calls["truth"], ADMIN, query, lambda c: "2_4" in c["destination_number"])
    assert len(found) >= 1
    assert all("2_4" in get_cdr(ADMIN, i)["destination_number"] for i in found)
    assert search_ids(ADMIN, {**RANGE, "dst": "%", "dst_op": "contains"}) == []


@pytest.mark.parametrize("column", ["duration", "billsec"])
@pytest.mark.parametrize(
    "op, test",
    [
        ("eq", lambda a, b: a == b),
        ("gt", lambda a, b: a > b),
        ("ge", lambda a, b: a >= b),
        ("lt", lambda a, b: a < b),
        ("le", lambda a, b: a <= b),
    ],
)
def test_duration_and_billsec_comparisons(calls, column, op, test):
    value = sorted(c[column] for c in calls["truth"])[N // 2]  # a value that is there, mid-range
    query = {**RANGE, column: str(value), f"{column}_op": op}
    want = expected(calls["truth"], ADMIN, query, lambda c: test(c[column], value))
    assert want
    assert search_ids(ADMIN, query) == want


@pytest.mark.parametrize(
    "query, keep",
    [
        ({"country": "ES,gb"}, lambda c: c["country_code"] in ("ES", "GB")),
        ({"country": "DE"}, lambda c: c["country_code"] == "DE"),
        ({"answered": "1"}, lambda c: c["billsec"] > 0),
        ({"direction": "inbound"}, lambda c: c["direction"] == 1),
        ({"direction": "outbound"}, lambda c: c["direction"] == 2),
        ({"cause": "17,34"}, lambda c: c["hangup_cause_id"] in (17, 34)),
        ({"accountcode": "acc-b"}, lambda c: c["accountcode"] == "acc-b"),
        (
            {"from": "10:30", "to": "18:00"},
            lambda c: (
                datetime(2025, 3, 3, 10, 30, tzinfo=UTC) <= c["starting_date"] < datetime(2025, 3, 9, 18, 0, tzinfo=UTC)
            ),
        ),
        (
            {
                "answered": "1",
                "country": "US",
                "direction": "outbound",
                "billsec": "100",
                "billsec_op": "gt",
                "dst": "34",
                "dst_op": "begins",
            },
            lambda c: (
                c["billsec"] > 100
                and c["country_code"] == "US"
                and c["direction"] == 2
                and c["destination_number"].startswith("34")
            ),
        ),
    ],
)
def test_filters_return_exactly_the_matching_calls(calls, query, keep):
    query = {**RANGE, **query}
    want = expected(calls["truth"], ADMIN, query, keep)
    assert want
    assert search_ids(ADMIN, query) == want


def test_switch_and_customer_filters(calls):
    sw = calls["switches"][1]
    query = {**RANGE, "switch": str(sw)}
    assert search_ids(ADMIN, query) == expected(calls["truth"], ADMIN, query, lambda c: c["switch_id"] == sw)
    bob = calls["bob"]
    query = {**RANGE, "customer": str(bob.id)}
    assert search_ids(ADMIN, query) == expected(calls["truth"], ADMIN, query, lambda c: c["user_id"] == bob.id)


def test_invalid_values_are_ignored_not_run(calls):
    junk = {
        **RANGE,
        "dst_op": "'; DROP TABLE cdr; --",
        "dst": "34",
        "duration": "1; DROP TABLE cdr",
        "country": "XYZ,e1",
        "direction": "sideways",
        "cause": "17);DROP",
        "from": "25:99",
        "start": "nonsense",
    }
    criteria = search_criteria_from_query(junk, ADMIN)
    assert criteria.destination.op == "begins" and criteria.duration is None and criteria.countries == ()
    assert criteria.direction is None and criteria.causes == ()
    where, params = search_where(ADMIN, criteria)
    assert "DROP" not in where and "34%" in params.values()


# --- paging and sorting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("block", [1, 37, 100])
@pytest.mark.parametrize("sort", [(), (("starting_date", "desc"),), (("starting_date", "asc"),)])
def test_keyset_paging_returns_every_row_once_in_order_and_equals_offset_paging(calls, block, sort):
    criteria = search_criteria_from_query(RANGE, ADMIN)
    keyset, offset, start, after = [], [], 0, None
    while True:
        by_key = fetch_block(ADMIN, criteria, start, start + block, sort, after)
        by_offset = fetch_block(ADMIN, criteria, start, start + block, sort, None)
        assert by_key.keyset and (start == 0 or not by_offset.keyset)
        keyset += [r["id"] for r in by_key.rows]
        offset += [r["id"] for r in by_offset.rows]
        if len(by_key.rows) < block:
            break
        start, after = start + block, by_key.last_key
    want = expected(calls["truth"], ADMIN, RANGE)
    if sort and sort[0][1] == "asc":
        want = want[::-1]
    assert len(want) > 300 and len(set(keyset)) == len(keyset)  # three calls share each timestamp
    assert keyset == offset == want


def test_other_sorts_are_whitelisted_columns_with_stable_ties(calls):
    sort = (("duration", "desc"), ("billsec", "asc"))
    criteria = search_criteria_from_query(RANGE, ADMIN)
    rows = fetch_block(ADMIN, criteria, 0, 1000, sort).rows
    assert not fetch_block(ADMIN, criteria, 0, 10, sort).keyset
    chosen = {c["id"]: c for c in calls["truth"]}
    want = sorted(
        (chosen[i] for i in expected(calls["truth"], ADMIN, RANGE)),
        key=lambda c: (-c["duration"], c["billsec"], -c["starting_date"].timestamp(), -c["id"]),
    )
    assert [r["id"] for r in rows] == [c["id"] for c in want]
    by_country = [r["country_code"] for r in fetch_block(ADMIN, criteria, 0, 1000, (("country_code", "asc"),)).rows]
    known = [c for c in by_country if c is not None]
    assert known == sorted(known) and by_country[-1] is None  # blanks last


def test_unknown_columns_and_injection_in_the_sort_model_are_ignored():
    customer = Scope(user_id=99, timezone="UTC")
    model = [
        {"colId": "duration; DROP TABLE cdr", "sort": "asc"},
        {"colId": "callid", "sort": "asc"},
        {"colId": "billsec", "sort": "sideways"},
        "junk",
        {"colId": ["x"], "sort": "asc"},
        {"colId": "buy_cost", "sort": "desc"},
        {"colId": "billsec", "sort": "asc"},
    ]
    assert parse_sort(model, ADMIN) == (("buy_cost", "desc"), ("billsec", "asc"))
    assert parse_sort(model, customer) == (("billsec", "asc"),)  # what the operator pays is not theirs
    assert parse_sort("starting_date", ADMIN) == ()


# --- through the Dash callbacks -------------------------------------------------------------------------


def _request(start, end, sort=()):
    return {"startRow": start, "endRow": end, "sortModel": list(sort), "filterModel": {}}


def _block(client, query: dict, start: int, end: int, cursors=None, sort=(), total=None):
    state = ["?" + _qs(query), cursors, total]
    result = dash_call(client, "load_block", [_request(start, end, sort)], state)
    return result[("cdr-search-grid", "getRowsResponse")], result[("cdr-search-cursors", "data")]


def _by_day(client, query: dict):
    result = dash_call(client, "refresh_by_day", ["?" + _qs(query)])
    return result, chart_data(result, "cdr-search-by-day"), result[("cdr-search-total", "data")]


def _qs(query: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(query)


def test_grid_callback_pages_by_keyset_and_takes_the_count_from_the_report(app, calls, admin_client):
    want = expected(calls["truth"], ADMIN, RANGE)
    response, cursors = _block(admin_client, RANGE, 0, 100)
    assert response["rowCount"] == 101  # not counted yet: the rows so far and one more
    assert cursors["after"].keys() == {"100"}
    _, _, total = _by_day(admin_client, RANGE)  # the report by day counts (from the rollups)
    assert total["total"] == len(want) and total["query"] == "?" + _qs(RANGE)
    ids = [r["id"] for r in response["rowData"]]
    start = 100
    while start < len(want):
        response, cursors = _block(admin_client, RANGE, start, start + 100, cursors, total=total)
        assert response["rowCount"] == len(want)
        ids += [int(r["row_id"]) for r in response["rowData"]]
        start += 100
    assert ids == want
    assert set(cursors["after"]) == {str(n) for n in range(100, len(want), 100)}
    first = calls["truth"][[c["id"] for c in calls["truth"]].index(want[0])]
    row = _block(admin_client, RANGE, 0, 1)[0]["rowData"][0]
    assert row["starting_date"] == first["starting_date"].strftime("%Y-%m-%d %H:%M:%S")
    assert row["direction"] in ("inbound", "outbound") and "buy_cost" in row


def test_a_count_for_other_filters_is_not_used(app, calls, admin_client):
    _, _, total = _by_day(admin_client, {**RANGE, "direction": "inbound"})
    response, _ = _block(admin_client, RANGE, 0, 100, total=total)
    assert response["rowCount"] == 101


def test_filtered_search_grows_block_by_block_until_its_last(app, calls, admin_client):
    query = {**RANGE, "answered": "1"}
    want = expected(calls["truth"], ADMIN, query, lambda c: c["billsec"] > 0)
    assert 200 < len(want) < 300
    response, cursors = _block(admin_client, query, 0, 100)
    assert response["rowCount"] == 101
    response, cursors = _block(admin_client, query, 100, 200, cursors)
    assert response["rowCount"] == 201
    response, cursors = _block(admin_client, query, 200, 300, cursors)
    assert response["rowCount"] == len(want)
    _, rows, total = _by_day(admin_client, query)  # counted from cdr with the same WHERE
    assert total["total"] == len(want) == sum(r["calls"] for r in rows)


def test_grid_callback_ignores_an_injected_sort(app, calls, admin_client):
    sort = [{"colId": "starting_date desc; DELETE FROM cdr; --", "sort": "asc"}]
    response, _ = _block(admin_client, RANGE, 0, 50, sort=sort)
    assert [r["id"] for r in response["rowData"]] == expected(calls["truth"], ADMIN, RANGE)[:50]
    assert db.scalar("SELECT count(*) FROM cdr") == N


def test_stale_cursors_from_another_search_are_not_used(app, calls, admin_client):
    _, cursors = _block(admin_client, RANGE, 0, 100)
    other = {**RANGE, "direction": "inbound"}
    response, _ = _block(admin_client, other, 100, 200, cursors)
    want = expected(calls["truth"], ADMIN, other, lambda c: c["direction"] == 1)
    assert [r["id"] for r in response["rowData"]] == want[100:200]
    for forged in ({**cursors, "after": {"100": ["not a date", "x"]}}, {**cursors, "after": "junk"}, "junk"):
        response, _ = _block(admin_client, RANGE, 100, 200, forged)
        assert [r["id"] for r in response["rowData"]] == expected(calls["truth"], ADMIN, RANGE)[100:200]


def test_a_customer_never_sees_another_customers_calls_in_the_grid(app, calls):
    alice, bob = calls["alice"], calls["bob"]
    client = _client(app, "alice-cdr", "alice-pw-1")
    scope = Scope(user_id=alice.id, timezone="Europe/Madrid")
    # Crafted: Alice's browser asks for Bob's customer id and accountcode.
    response, _ = _block(client, {**RANGE, "customer": str(bob.id), "accountcode": "acc-b"}, 0, 100)
    assert response["rowData"] == [] and response["rowCount"] == 0
    response, _ = _block(client, {**RANGE, "customer": str(bob.id)}, 0, 500)
    want = expected(calls["truth"], scope, RANGE)
    assert [r["id"] for r in response["rowData"]] == want and want
    assert all("buy_cost" not in r for r in response["rowData"])
    _, by_day, total = _by_day(client, {**RANGE, "accountcode": "acc-b"})
    assert sum(r["calls"] for r in by_day) == 0 and total["total"] == 0
    _, by_day, total = _by_day(client, {**RANGE, "customer": str(bob.id)})
    assert total["total"] == len(want) == sum(r["calls"] for r in by_day)


def test_the_detail_view_shows_every_field_and_only_to_whom_it_belongs(app, calls, admin_client):
    alice, bob = calls["alice"], calls["bob"]
    bobs = next(c for c in calls["truth"] if c["user_id"] == bob.id)
    alices = next(c for c in calls["truth"] if c["user_id"] == alice.id)
    result = dash_call(admin_client, "open_detail", [{"rowId": str(bobs["id"]), "colId": "duration"}, None])
    assert result[("cdr-search-detail", "is_open")] is True
    assert result[("cdr-search-detail-title", "children")].startswith(f"Call to {bobs['destination_number']} · ")
    body = json.dumps(result[("cdr-search-detail-body", "children")])
    for field in ("callid", "destination_number", "hangup_cause", "buy_cost", "switch", "answersec"):
        assert f'"{field}"' in body
    assert '\\"ua\\": \\"Linphone\\"' in body  # extradata, pretty-printed
    client = _client(app, "alice-cdr", "alice-pw-1")
    result = dash_call(client, "open_detail", [{"rowId": str(bobs["id"])}, None])
    assert result[("cdr-search-detail-title", "children")] == "CDR not found"
    assert str(bobs["callid"]) not in json.dumps(list(result.values()))
    result = dash_call(client, "open_detail", [{"rowId": str(alices["id"])}, None])
    assert result[("cdr-search-detail-title", "children")].startswith("Call to ")
    assert '"buy_cost"' not in json.dumps(list(result.values()))
    own = get_cdr(Scope(user_id=alice.id, timezone="Europe/Madrid"), alices["id"])
    assert own["starting_date"].endswith(("+01:00", "+02:00")) and own["extradata"]["sip"]["ua"] == "Linphone"
    assert get_cdr(Scope(user_id=alice.id), bobs["id"]) is None and get_cdr(ADMIN, "1 OR 1=1") is None


# --- exports --------------------------------------------------------------------------------------------


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_export_is_the_whole_result_with_formulas_neutralised(calls, admin_client):
    response = admin_client.get("/download/cdrs.csv?" + _qs(RANGE))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="cdrs_2025-03-03_2025-03-09.csv"'
    rows = _csv(response)
    want = expected(calls["truth"], ADMIN, RANGE)
    assert len(want) > 300 and [int(r["id"]) for r in rows] == want
    by_id = {c["id"]: c for c in calls["truth"]}
    for row in rows:
        caller = by_id[int(row["id"])]["caller_id_number"]
        if caller in ("=1+2", "@SUM(A1)"):  # evaluated by a spreadsheet: neutralised
            assert row["caller_id_number"] == "'" + caller
        else:
            assert row["caller_id_number"] == caller
        assert not row["caller_id_name"].startswith("=")
        assert row["starting_date"].endswith("+00:00") and "T" in row["starting_date"]
    assert {r["caller_id_name"] for r in rows} >= {'\'=HYPERLINK("http://x")'}
    assert json.loads(rows[0]["extradata"])["sip"]["codec"] == "PCMA"
    assert "buy_cost" in rows[0]


def test_export_applies_the_filters_and_the_users_time_zone(calls, app):
    alice = calls["alice"]
    client = _client(app, "alice-cdr", "alice-pw-1")
    scope = Scope(user_id=alice.id, timezone="Europe/Madrid")
    query = {**RANGE, "answered": "1", "country": "ES,GB,US"}
    rows = _csv(client.get("/download/cdrs.csv?" + _qs(query)))
    want = expected(
        calls["truth"], scope, query, lambda c: c["billsec"] > 0 and c["country_code"] in ("ES", "GB", "US")
    )
    assert [int(r["id"]) for r in rows] == want and want
    assert rows[0]["starting_date"].endswith("+01:00")  # March 2025 in Madrid, before the DST change
    assert "buy_cost" not in rows[0] and "buy_rate" not in rows[0] and "customer" not in rows[0]
    # Crafted: another customer's accountcode and customer id narrow Alice's calls to nothing.
    crafted = client.get("/download/cdrs.csv?" + _qs({**RANGE, "accountcode": "acc-b", "customer": calls["bob"].id}))
    assert _csv(crafted) == []
    for fmt in ("json", "xlsx"):
        assert client.get(f"/download/cdrs.{fmt}?" + _qs({**RANGE, "accountcode": "acc-b"})).status_code == 200
    assert json.loads(client.get("/download/cdrs.json?" + _qs({**RANGE, "accountcode": "acc-b"})).data) == []
    everything = json.loads(client.get("/download/cdrs.json?" + _qs(RANGE)).data)
    assert {r["id"] for r in everything} == set(expected(calls["truth"], scope, RANGE))


def test_json_export_is_a_streamed_array_of_every_row(calls, admin_client):
    response = admin_client.get("/download/cdrs.json?" + _qs(RANGE))
    assert response.is_streamed and response.mimetype == "application/json"
    rows = json.loads(response.data)
    assert [r["id"] for r in rows] == expected(calls["truth"], ADMIN, RANGE)
    assert rows[0]["extradata"]["sip"]["ua"] == "Linphone" and isinstance(rows[0]["sell_cost"], float)
    assert datetime.fromisoformat(rows[0]["starting_date"]).utcoffset() == timedelta(0)


def test_xlsx_export_has_every_row_and_no_formula(calls, admin_client):
    response = admin_client.get("/download/cdrs.xlsx?" + _qs(RANGE))
    assert response.status_code == 200 and response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:3] == ("id", "starting_date (UTC)", "answered_date (UTC)") and header[-1] == "utc_offset"
    assert [r[0] for r in rows[1:]] == expected(calls["truth"], ADMIN, RANGE)
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]
    assert any(c.value == "=1+2" and c.data_type == "s" for c in cells)  # kept as text, never a formula
    assert any(c.value == "+34911000111" and c.data_type == "s" for c in cells)  # a phone number: text, intact
    assert all(isinstance(r[0], int) for r in rows[1:])  # numbers are numbers
    assert isinstance(rows[1][1], datetime) and rows[1][-1] == "+00:00"


def test_exports_need_a_session(client):
    for fmt in ("csv", "xlsx", "json"):
        assert client.get(f"/download/cdrs.{fmt}?" + _qs(RANGE)).status_code == 401


def test_unknown_export_format_is_404(admin_client):
    assert admin_client.get("/download/cdrs.txt").status_code == 404


# --- counts and the report by day -----------------------------------------------------------------------


def test_the_rollups_answer_only_when_exact(calls):
    assert search_criteria_from_query(RANGE, ADMIN).only_rollup_filters
    query = {**RANGE, "switch": str(calls["switches"][0]), "accountcode": "acc-a", "from": "08:15"}
    criteria = search_criteria_from_query(query, ADMIN)
    assert criteria.only_rollup_filters
    assert sum(r["attempts"] for r in report_by_day(ADMIN, criteria)) == len(search_ids(ADMIN, query))
    for per_call in ({"dst": "34"}, {"answered": "1"}, {"from": "08:10"}, {"duration": "5"}, {"country": "ES"}):
        assert not search_criteria_from_query({**RANGE, **per_call}, ADMIN).only_rollup_filters


def test_report_by_day_from_rollups_equals_the_same_from_cdr(calls):
    from data.cdr_search.search import _cdr_by_day

    criteria = search_criteria_from_query(RANGE, ADMIN)
    from_rollups = report_by_day(ADMIN, criteria)
    from_cdr = [{**r, "period": r["period"].date().isoformat()} for r in _cdr_by_day(ADMIN, criteria)]
    assert [r["period"] for r in from_rollups] == [f"2025-03-0{d}" for d in range(3, 10)]
    for a, b in zip(from_rollups, from_cdr, strict=True):
        assert (a["period"], a["attempts"], a["answered"], a["billsec_sum"]) == (
            b["period"],
            b["attempts"],
            b["answered"],
            b["billsec_sum"],
        )


def test_report_by_day_with_per_call_filters(calls, admin_client):
    query = {**RANGE, "dst": "34", "dst_op": "begins", "billsec": "60", "billsec_op": "ge"}
    result, rows, total = _by_day(admin_client, query)
    want = expected(
        calls["truth"], ADMIN, query, lambda c: c["destination_number"].startswith("34") and c["billsec"] >= 60
    )
    assert sum(r["calls"] for r in rows) == len(want) == total["total"]
    billsec = sum(c["billsec"] for c in calls["truth"] if c["id"] in set(want))
    assert abs(sum(r["minutes"] for r in rows) - billsec / 60) < 0.1
    figure = result[("cdr-search-by-day-graph", "figure")]
    assert figure["data"][0]["y"] == [r["calls"] for r in rows]  # the download is the data drawn


def test_customer_day_boundaries_are_local(calls):
    alice = calls["alice"]
    scope = Scope(user_id=alice.id, timezone="Europe/Madrid")
    criteria = search_criteria_from_query(RANGE, scope)
    assert criteria.report.start == datetime(2025, 3, 2, 23, 0, tzinfo=UTC)
    rows = report_by_day(scope, criteria)
    assert sum(r["attempts"] for r in rows) == len(expected(calls["truth"], scope, RANGE))


# --- the index --------------------------------------------------------------------------------------------


def test_first_page_and_keyset_blocks_can_read_the_starting_date_id_index(calls):
    partitions = db.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'cdr'::regclass")
    indexed = db.scalar("""SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%(starting_date, id)'
                           AND tablename LIKE 'cdr_y%'""")
    assert partitions > 0 and indexed == partitions
    with db.transaction() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.exec_driver_sql(
                """EXPLAIN SELECT id FROM cdr c WHERE c.starting_date >= '2025-03-03' AND c.starting_date < '2025-03-10'
               AND (c.starting_date, c.id) < ('2025-03-08', 1000)
               ORDER BY c.starting_date DESC, c.id DESC LIMIT 100"""
            )
        )
    assert (
        "Index Scan Backward using cdr_y2025m03_starting_date_id_idx" in plan
        or "Index Only Scan Backward using cdr_y2025m03_starting_date_id_idx" in plan
    )
    assert "Sort" not in plan
