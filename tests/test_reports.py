"""Report pages: numbers equal SQL over cdr, downloads equal figures, customers see only their calls."""

import random
from datetime import date, datetime, timedelta

import pytest

from data.admin import users
from data.core import db
from tests.cdr_factory import UTC, ensure_switch, insert_calls, random_calls
from tests.conftest import login
from tests.dash_client import chart_data, dash_call, dash_request

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def traffic(app):
    rng = random.Random(11)
    a = users.create_user("alice", "alice-pw-1", "customer", accountcodes=("1001",))
    b = users.create_user("bob", "bob-pw-1", "customer", accountcodes=("2001",))
    switches = [ensure_switch("rep-1", "10.5.0.1"), ensure_switch("rep-2", "10.5.0.2")]
    recent = NOW - timedelta(hours=20)  # inside the dashboard's 24 hours, whenever the test runs
    calls = []
    for start, days in ((recent, 0), (NOW - timedelta(days=10), 8)):
        for c in random_calls(300, switches, start, max(days, 1), rng, accounts=[("1001", a.id), ("2001", b.id)]):
            if days == 0:
                c["starting_date"] = recent + timedelta(seconds=rng.randrange(19 * 3600))
            calls.append(c)
    insert_calls(calls)
    return {"alice": a, "bob": b}


def _client(app, username, password):
    c = app.test_client()
    assert login(c, username, password).status_code == 302
    return c


def _sql_counts(where: str, **params) -> dict:
    return db.rows(
        f"""SELECT count(*) AS calls, COALESCE(sum(billsec), 0) AS billsec FROM cdr c WHERE {where}""", **params
    )[0]


def test_dashboard_kpis_equal_sql_for_admin_and_customer(app, traffic):
    for user, password, where in (("admin", "admin-secret", "TRUE"), ("alice", "alice-pw-1", "user_id = :uid")):
        result = dash_call(_client(app, user, password), "refresh_dashboard", [None, None, None, None])
        expected = _sql_counts(f"{where} AND starting_date >= now() - interval '24 hours'", uid=traffic["alice"].id)
        assert result[("kpi-calls", "children")] == f"{expected['calls']:,}"
        hourly = chart_data(result, "dashboard-hourly")
        assert sum(r["calls"] for r in hourly) == expected["calls"]
        figure = result[("dashboard-hourly-graph", "figure")]
        assert figure["data"][0]["y"] == [r["calls"] for r in hourly]  # the download is the data drawn


def test_customers_see_what_they_pay_as_cost_never_the_buy_side(app, traffic):
    from data.core.kpis import format_kpi

    alice = _client(app, "alice", "alice-pw-1")
    result = dash_call(alice, "refresh_dashboard", [None, None, None, None])
    paid = db.scalar(
        "SELECT COALESCE(sum(sell_cost), 0) FROM cdr WHERE user_id = :u "
        "AND starting_date >= now() - interval '24 hours'",
        u=traffic["alice"].id,
    )
    assert result[("kpi-cost", "children")] == format_kpi(paid, "money")
    assert all("margin" not in r and "revenue" not in r for r in chart_data(result, "dashboard-hourly"))


def test_a_customer_cannot_ask_for_another_customers_calls(app, traffic):
    alice = _client(app, "alice", "alice-pw-1")
    bob = traffic["bob"]
    # Crafted: Alice's browser sends Bob's customer id and accountcode.
    result = dash_call(alice, "refresh_dashboard", [None, bob.id, ["2001"], None])
    assert result[("kpi-calls", "children")] == "0"
    result = dash_call(alice, "refresh_countries", [None, None, "30d", None, bob.id, ["2001"], "calls"])
    assert chart_data(result, "countries-top") == []
    options = dash_call(alice, "fill_filter_options", [None], [None])
    assert options[("filter-customer", "options")] == []
    assert [o["value"] for o in options[("filter-accountcode", "options")]] == ["1001"]


def test_country_report_equals_sql_with_other(app, traffic):
    admin = _client(app, "admin", "admin-secret")
    result = dash_call(admin, "refresh_countries", [None, None, "30d", None, None, None, "calls"])
    rows = chart_data(result, "countries-top")
    today = date.today()
    expected = _sql_counts(
        "starting_date >= :s", s=datetime.combine(today - timedelta(days=29), datetime.min.time(), UTC)
    )
    assert sum(r["calls"] for r in rows) == expected["calls"]
    spain = db.scalar(
        "SELECT count(*) FROM cdr WHERE country_code = 'ES' AND starting_date >= :s",
        s=datetime.combine(today - timedelta(days=29), datetime.min.time(), UTC),
    )
    assert next(r for r in rows if r["label"] == "Spain")["calls"] == spain


def test_overview_and_world_map_equal_sql(app, traffic):
    admin = _client(app, "admin", "admin-secret")
    start = (date.today() - timedelta(days=13)).isoformat()
    end = date.today().isoformat()
    expected = _sql_counts(
        "starting_date >= :s", s=datetime.combine(date.today() - timedelta(days=13), datetime.min.time(), UTC)
    )
    result = dash_call(admin, "refresh_overview", [start, end, None, None, None, None, "customer"])
    calls = chart_data(result, "overview-calls")
    assert sum(r["calls"] for r in calls) == expected["calls"]
    assert {r["series"] for r in calls} == {"alice", "bob"}
    asr_axis = result[("overview-asr-graph", "figure")]["layout"]["yaxis"]
    assert (asr_axis["tickformat"], asr_axis["hoverformat"]) == (".0%", ".1%")  # a ratio, shown in percent
    assert "tickformat" not in result[("overview-calls-graph", "figure")]["layout"]["yaxis"]
    world = chart_data(dash_call(admin, "refresh_world_map", [start, end, None, None, None, None]), "world-map")
    assert sum(r["calls"] for r in world) == expected["calls"] - db.scalar(
        "SELECT count(*) FROM cdr WHERE country_code IS NULL AND starting_date >= :s",
        s=datetime.combine(date.today() - timedelta(days=13), datetime.min.time(), UTC),
    )


def test_daily_comparison_has_24_hours_per_day(app, traffic):
    admin = _client(app, "admin", "admin-secret")
    day = date.today()
    result = dash_call(
        admin, "refresh_daily_comparison", [day.isoformat(), "previous-weeks", 2, [], "calls", None, None, None]
    )
    rows = chart_data(result, "daily-comparison")
    assert len(rows) == 24 * 3
    today = [r for r in rows if r["series"].startswith(day.isoformat())]
    hour_now = datetime.now(UTC).hour  # the test user's zone is UTC
    # hours still to come today are no value (drawn as nothing), not zero calls
    assert [r["calls"] is None for r in today] == [h > hour_now for h in range(24)]
    assert all(r["calls"] is not None for r in rows if r not in today)
    assert (
        sum(r["calls"] or 0 for r in today)
        == _sql_counts(
            "starting_date >= :s AND starting_date < :e",
            s=datetime.combine(day, datetime.min.time(), UTC),
            e=datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC),
        )["calls"]
    )


def test_chart_csv_download_is_the_data(app, traffic):
    admin = _client(app, "admin", "admin-secret")
    rows = [{"label": "=cmd", "calls": 3}]
    result = dash_call(
        admin, "download_chart_csv", [1, None], [rows, {"type": "chart-data", "chart": "x"}], ids={"chart": "x"}
    )
    download = result[('{"chart":"x","type":"csv-download"}', "data")]
    assert download["content"] == "label,calls\n'=cmd,3\n" and download["filename"] == "x.csv"


def test_callbacks_refuse_without_login(app, client, traffic):
    assert dash_request(client, "refresh_dashboard", [None, None, None, None]).status_code == 401


def test_an_accountcode_crossed_with_countries_and_causes_equals_sql(app, traffic):
    """No rollup holds accountcode x country or x cause: those come from cdr, bucketed like the rollups."""
    admin = _client(app, "admin", "admin-secret")
    since = datetime.combine(date.today() - timedelta(days=29), datetime.min.time(), UTC)
    result = dash_call(admin, "refresh_countries", [None, None, "30d", None, None, ["1001"], "minutes"])
    by_country = {r["label"]: r for r in chart_data(result, "countries-top")}
    expected = db.rows(
        """SELECT COALESCE(k.name, 'Unknown') AS label, count(*) AS calls,
                                 round(sum(c.billsec) / 60.0, 2) AS minutes
                          FROM cdr c LEFT JOIN country k ON k.code = c.country_code
                          WHERE c.accountcode = '1001' AND c.starting_date >= :s GROUP BY 1""",
        s=since,
    )
    expected = {r["label"]: (r["calls"], float(r["minutes"])) for r in expected}
    assert len(by_country) > 3
    assert sum(r["calls"] for r in by_country.values()) == sum(calls for calls, _ in expected.values())
    for label, row in by_country.items():
        if label != "Other":
            assert (row["calls"], row["minutes"]) == expected[label], label
    # the dashboard's causes for the accountcode, last 24 hours (not aligned on a quarter hour)
    result = dash_call(admin, "refresh_dashboard", [None, None, ["2001"], None])
    causes = {r["code"]: r["calls"] for r in chart_data(result, "dashboard-causes")}
    rows = db.rows("""SELECT hangup_cause_id AS code, count(*) AS calls FROM cdr
                      WHERE accountcode = '2001' AND starting_date >= date_bin('15 minutes', now() - interval '24 hours'
                            - interval '1 microsecond', to_timestamp(0)) + interval '15 minutes'
                      GROUP BY 1""")
    assert causes == {r["code"]: r["calls"] for r in rows}
