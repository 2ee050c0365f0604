"""Billing report against SQL sums, customer scoping (data functions, API, downloads), the simulator,
and the rating pages and their callbacks through the Flask test client."""

import base64
import csv
import io
from datetime import date, datetime
from decimal import Decimal

import dash
import pytest

from data.core import db
from data.core.scope import Scope
from data.ingest import import_file
from data.rating import billing, rates
from data.rating.billing import Period
from data.rating.rater import RatingStatus
from data.rating.simulator import simulate_call
from tests.conftest import login
from tests.dash_client import dash_call, dash_request
from tests.rating_setup import ADMIN, UTC, build_world, write_month

JANUARY = Period(date(2026, 1, 1), date(2026, 1, 31))
D = Decimal


@pytest.fixture(scope="module")
def world(app, tmp_path_factory):
    world = build_world()
    # bob moves to a plan of his own, with a retail plan alice must never see
    premium = rates.create_rate_plan(ADMIN, "premium-retail", "retail", currency="EUR")
    rates.import_rate_deck(
        ADMIN, premium, '34,Spain premium,0.09,0,1,1,2026-01-01\n35,=HYPERLINK("http://x"),0.09,0,1,1,2026-01-01\n'
    )
    world["premium_plan"] = rates.create_voip_plan(ADMIN, "premium", [premium, *world["carrier_plans"].values()])
    rates.assign_voip_plan(ADMIN, world["bob"].id, world["premium_plan"])
    # a carrier dearer than the sell price on 44: loss-making calls
    rates.import_rate_deck(ADMIN, world["carrier_plans"]["B"], "44,United Kingdom,0.05,0,1,1,2026-01-01\n")
    path = tmp_path_factory.mktemp("calls") / "january.csv"
    write_month(path, calls=1200, seed=11)
    import_file(path)
    return world


def scope_of(user) -> Scope:
    return Scope(user_id=user.id, timezone="UTC")


def sql_sums(where: str = "TRUE", **params) -> dict:
    return db.rows(
        f"""SELECT count(*) AS calls, coalesce(sum(buy_cost), 0) AS cost,
                              coalesce(sum(sell_cost), 0) AS revenue
                       FROM cdr WHERE starting_date >= '2026-01-01' AND starting_date < '2026-02-01' AND {where}""",
        **params,
    )[0]


def test_billing_totals_equal_the_sql_sums_over_cdr(world):
    summary = billing.billing_summary(ADMIN, JANUARY)
    expected = sql_sums()
    total = summary["total"]
    assert (total["calls"], total["cost"], total["revenue"]) == (
        expected["calls"],
        expected["cost"],
        expected["revenue"],
    )
    assert total["margin"] == total["revenue"] - total["cost"]
    assert total["margin_percent"] == (total["margin"] * 100 / total["revenue"]).quantize(D("0.01"))
    for grouping in billing.GROUPINGS:  # every breakdown adds up to the total
        rows = summary[grouping]
        assert sum(r["calls"] for r in rows) == total["calls"]
        assert sum(r["revenue"] for r in rows) == total["revenue"] and sum(r["cost"] for r in rows) == total["cost"]
    alice = next(r for r in summary["customer"] if r["customer"] == "alice")
    assert (alice["cost"], alice["revenue"]) == tuple(
        sql_sums("user_id = :u", u=world["alice"].id)[k] for k in ("cost", "revenue")
    )
    carrier_a = next(r for r in summary["carrier"] if r["carrier"] == "Carrier A")
    assert carrier_a["cost"] == sql_sums("carrier_id = :c", c=world["providers"]["A"])["cost"]
    assert len(summary["day"]) == 31


def test_loss_making_and_unrated_calls(world):
    losses = list(billing.iter_calls("losses", ADMIN, JANUARY))
    assert losses and all(r["sell_cost"] < r["buy_cost"] for r in losses)
    assert len(losses) == db.scalar("SELECT count(*) FROM cdr WHERE sell_cost < buy_cost")
    assert billing.loss_making_calls(ADMIN, JANUARY)[0] == losses[0]
    unrated = list(billing.iter_calls("unrated", ADMIN, JANUARY))
    assert {r["reason"] for r in unrated} == {"banned", "no plan", "no retail rate", "no carrier rate"}
    assert len(unrated) == db.scalar("SELECT count(*) FROM cdr WHERE rating_status IN (2, 3, 4, 7)")
    assert billing.billing_summary(ADMIN, JANUARY)["total"]["unrated_calls"] == len(unrated)
    assert billing.billing_summary(ADMIN, JANUARY)["total"]["loss_calls"] == len(losses)


def test_a_customer_sees_only_their_own_calls_and_no_buy_side(world):
    alice = scope_of(world["alice"])
    summary = billing.billing_summary(alice, JANUARY)
    # her cost is what she pays: the sell cost of her calls; never the buy side, revenue or margin
    assert summary["total"]["cost"] == sql_sums("user_id = :u", u=world["alice"].id)["revenue"]
    assert not {"revenue", "margin", "margin_percent", "loss_calls"} & set(summary["total"])
    assert "carrier" not in summary and "customer" not in summary
    assert all(r["customer"] == "alice" for r in billing.unrated_calls(alice, JANUARY))
    with pytest.raises(PermissionError):
        billing.loss_making_calls(alice, JANUARY)


def test_a_customer_sees_only_their_own_plans_rates(world):
    alice, bob, carol = (scope_of(world[n]) for n in ("alice", "bob", "carol"))
    alice_rates = {
        r["prefix"]: r["retail_rate"] for r in rates.customer_rates(alice, at=datetime(2026, 1, 10, tzinfo=UTC))
    }
    assert alice_rates == {"33": D("0.00001"), "34": D("0.05"), "3465": D("0.06"), "44": D("0.03")}
    # asking for bob's plan changes nothing: a customer's plan is their own
    assert rates.customer_rates(
        alice, voip_plan_id=world["premium_plan"], at=datetime(2026, 1, 10, tzinfo=UTC)
    ) == rates.customer_rates(alice, at=datetime(2026, 1, 10, tzinfo=UTC))
    assert {r["prefix"] for r in rates.customer_rates(bob, at=datetime(2026, 1, 10, tzinfo=UTC))} == {"34", "35"}
    assert rates.customer_rates(carol) == []
    found = rates.customer_rates(alice, search="spain mobile", at=datetime(2026, 1, 10, tzinfo=UTC))
    assert [r["prefix"] for r in found] == ["3465"]
    found = rates.customer_rates(alice, search="34650104877", at=datetime(2026, 1, 10, tzinfo=UTC))
    assert [r["prefix"] for r in found] == ["34", "3465"]
    assert [r["prefix"] for r in rates.customer_rates(alice, search="FR")] == ["33"]


def test_the_simulator_shows_the_lcr_choice_and_every_candidate(world):
    when = datetime(2026, 1, 15, 12, tzinfo=UTC)
    result = simulate_call(ADMIN, "+34 650 104 877", 61, at=when, voip_plan_id=world["voip_plan"])
    assert result["normalised"] == "34650104877" and result["country_code"] == "ES"
    assert result["status"] == RatingStatus.RATED
    assert (result["sell"]["prefix"], result["sell"]["cost"]) == ("3465", D("0.06600"))
    assert (result["buy"]["carrier"], result["buy"]["prefix"], result["buy"]["cost"]) == (
        "Carrier A",
        "3465",
        D("0.02200"),
    )
    assert [(c["carrier"], c["prefix"], c["chosen"]) for c in result["candidates"]] == [
        ("Carrier A", "3465", True),
        ("Carrier B", "3465", False),
        ("Carrier C", "346", False),
    ]
    assert result["candidates"][1]["billed_seconds"] == 61  # B bills 1/1
    assert result["margin"] == D("0.04400") and result["margin_percent"] == D("66.67")
    banned = simulate_call(ADMIN, "0034901234567", 61, at=when, voip_plan_id=world["voip_plan"])
    assert banned["status"] == RatingStatus.BANNED and banned["banned_prefix"] == "3490"
    mine = simulate_call(scope_of(world["alice"]), "+34650104877", 61, at=when, voip_plan_id=world["premium_plan"])
    assert mine["voip_plan"] == "standard" and mine["sell"]["cost"] == D("0.06600")
    assert (mine["buy"], mine["candidates"], mine["margin"]) == (None, [], None)


# --- Through HTTP: the API, the downloads, the pages and their callbacks ---


def basic(user: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:pass-word-1".encode()).decode()}


def test_rates_api_is_the_cdr_stats_voip_rate_call_scoped_to_the_plan(world, client):
    assert client.get("/api/v1/rates").status_code == 401
    answer = client.get("/api/v1/rates?dialcode=34&sort_field=prefix&order=desc", headers=basic("alice"))
    assert answer.status_code == 200
    body = answer.get_json()
    assert [r["prefix"] for r in body] == ["3465", "34"]
    assert body[1] == {
        "prefix": "34",
        "retail_rate": "0.05000",
        "prefix__destination": "Spain",
        "country_code": "ES",
        "connection_fee": "0.10000",
        "increment_first": 60,
        "increment_next": 60,
        "currency": "EUR",
    }
    by_number = client.get("/api/v1/rates?recipient_phone_no=34650104877", headers=basic("alice")).get_json()
    assert [r["prefix"] for r in by_number] == ["34", "3465"]
    banned = client.get("/api/v1/rates?recipient_phone_no=34901234567", headers=basic("alice"))
    assert banned.status_code == 403 and banned.get_json() == {"error": "Not allowed : 34901234567"}
    assert client.get("/api/v1/rates?dialcode=3a", headers=basic("alice")).status_code == 400
    assert client.get("/api/v1/rates?sort_field=rate;drop", headers=basic("alice")).status_code == 400
    # bob's own plan, whatever alice asks for
    mine = client.get(f"/api/v1/rates?voip_plan={world['premium_plan']}", headers=basic("alice")).get_json()
    assert {r["prefix"] for r in mine} == {"33", "34", "3465", "44"}
    assert client.get("/api/v1/rates", headers=basic("carol")).status_code == 404
    by_rate = client.get("/api/v1/rates?sort_field=retail_rate&order=asc", headers=basic("bob")).get_json()
    assert [r["retail_rate"] for r in by_rate] == ["0.09000", "0.09000"]


def test_rates_api_for_an_admin_names_the_plan(world, admin_client):
    assert admin_client.get("/api/v1/rates").status_code == 404
    body = admin_client.get(f"/api/v1/rates?voip_plan={world['premium_plan']}").get_json()
    assert {r["prefix"] for r in body} == {"34", "35"}


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_downloads_are_scoped_and_spreadsheet_safe(world, client, admin_client):
    assert client.get("/download/rates.csv").status_code == 401
    login(client, "bob", "pass-word-1")
    rows = read_csv(client.get(f"/download/rates.csv?plan={world['voip_plan']}"))
    assert rows[0][:3] == ["prefix", "destination", "country_code"]
    assert {r[0] for r in rows[1:]} == {"34", "35"}  # his own plan, whatever he asks
    assert next(r for r in rows if r[0] == "35")[1] == '\'=HYPERLINK("http://x")'
    assert client.get("/download/billing-losses.csv?first=2026-01-01&last=2026-01-31").status_code == 403
    mine = read_csv(client.get("/download/billing.csv?first=2026-01-01&last=2026-01-31&group=country"))
    assert "revenue" not in mine[0] and "margin" not in mine[0] and mine[-1][0] == "total"
    assert D(mine[-1][mine[0].index("cost")]) == sql_sums("user_id = :u", u=world["bob"].id)["revenue"]
    assert client.get("/download/billing.csv?group=carrier").status_code == 400
    every = read_csv(admin_client.get("/download/billing.csv?first=2026-01-01&last=2026-01-31&group=carrier"))
    assert D(every[-1][every[0].index("cost")]) == sql_sums()["cost"]
    losses = read_csv(admin_client.get("/download/billing-losses.csv?first=2026-01-01&last=2026-01-31"))
    assert len(losses) - 1 == db.scalar("SELECT count(*) FROM cdr WHERE sell_cost < buy_cost")
    assert losses[1][losses[0].index("margin")].startswith("-")  # a number, no apostrophe
    unrated = read_csv(client.get("/download/billing-unrated.csv?first=2026-01-01&last=2026-01-31"))
    assert {r[unrated[0].index("customer")] for r in unrated[1:]} == {"bob"}


def test_pages_are_registered_with_their_audience(app):
    pages = {p["path"]: p for p in dash.page_registry.values()}
    assert not pages["/rates"].get("admin_only") and not pages["/rates/simulator"].get("admin_only")
    assert not pages["/billing"].get("admin_only") and pages["/admin/rates"].get("admin_only")


def test_the_rates_page_and_its_callback(world, client):
    login(client, "alice", "pass-word-1")
    assert client.get("/rates").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    result = dash_call(client, "show_rates", [world["premium_plan"], "34"])
    assert [r["prefix"] for r in result[("rates-grid", "rowData")]] == ["34", "3465"]
    assert result[("rates-download", "href")] == "/download/rates.csv?search=34"
    # the admin page's callbacks refuse her
    assert dash_request(client, "load_lists", [0]).status_code == 403


def test_the_simulator_and_billing_callbacks(world, admin_client, client):
    result = dash_call(
        admin_client, "simulate", [1, None], ["+34650104877", 61, "2026-01-15 12:00", world["voip_plan"]]
    )
    rows = result[("rate-simulator-candidates", "rowData")]
    assert [r["carrier"] for r in rows] == ["Carrier A", "Carrier B", "Carrier C"] and rows[0]["chosen"] == "✔"
    assert "0.06600" in str(result[("rate-simulator-result", "children")])
    billing_result = dash_call(admin_client, "show_billing", ["2026-01-01", "2026-01-31", None, "carrier"])
    assert billing_result[("kpi-billing-calls", "children")] == f"{sql_sums()['calls']:,}"
    assert {r["carrier"] for r in billing_result[("billing-table", "rowData")]} >= {"Carrier A", "Carrier B"}
    login(client, "alice", "pass-word-1")
    mine = dash_call(client, "show_billing", ["2026-01-01", "2026-01-31", world["bob"].id, "carrier"])
    losses = dash_call(client, "show_losses_page", ["2026-01-01", "2026-01-31", world["bob"].id, 1])
    assert losses[("billing-losses", "rowData")] == []  # the loss list shows buy costs: not for customers
    assert mine[("kpi-billing-calls", "children")] == f"{sql_sums('user_id = :u', u=world['alice'].id)['calls']:,}"
    assert all("carrier" not in r and "revenue" not in r for r in mine[("billing-table", "rowData")])
    assert mine[("kpi-billing-revenue", "children")] == "–"


def test_the_rate_admin_page_imports_a_deck_and_reports_bad_lines(world, admin_client):
    assert admin_client.get("/admin/rates").status_code == 200
    lists = dash_call(admin_client, "load_lists", [0])
    assert {r["name"] for r in lists[("rate-admin-providers", "rowData")]} >= {"Carrier A", "Carrier B"}
    deck = (
        "prefix,destination,rate,connection_fee,increment_first,increment_next,effective_from\n"
        "49,Germany,0.02,0,60,60,2026-03-01\n49x,Bad,0.02,0,60,60,2026-03-01\n"
    )
    upload = "data:text/csv;base64," + base64.b64encode(deck.encode()).decode()
    answer = dash_call(admin_client, "import_deck", [1], [upload, world["retail_plan"], False, 0])
    assert "line 3" in str(answer[("rate-admin-deck-result", "children")])
    assert db.scalar("SELECT count(*) FROM rate WHERE prefix = '49'") == 0
    ok = "data:text/csv;base64," + base64.b64encode(b"49,Germany,0.02,0,60,60,2026-03-01\n").decode()
    answer = dash_call(admin_client, "import_deck", [1], [ok, world["retail_plan"], False, 0])
    assert "1 rate(s) imported" in str(answer[("rate-admin-deck-result", "children")])
