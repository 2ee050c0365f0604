"""Rating in the import, end to end, and re-rating: the same costs and rollups as a fresh import."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from data.core import audit, db
from data.ingest import import_file
from data.ingest.fields import CDR_STATS_FIELDS
from data.rating import rates
from data.rating.rater import RatingStatus, queue_rerate, rerate, run_rerate_queue
from tests.rating_setup import ADMIN, UTC, build_world, write_month


@pytest.fixture(scope="module")
def world(app):
    return build_world()


PRICES = "callid, buy_rate, buy_cost, sell_rate, sell_cost, carrier_id, rating_status"


def stored_prices() -> dict:
    return {r["callid"]: r for r in db.rows(f"SELECT {PRICES} FROM cdr ORDER BY callid")}


def _rollup_tables() -> list[str]:
    return [
        r["t"]
        for r in db.rows(
            """SELECT c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             AND c.relname LIKE '%rollup%' AND c.relname <> 'rollup_timezone' ORDER BY 1"""
        )
    ]


def rollups() -> dict:
    """Every rollup row, as sorted tuples per table."""
    return {
        t: sorted(tuple(str(v) for v in r.values()) for r in db.rows(f"SELECT * FROM {t}")) for t in _rollup_tables()
    }


def empty_calls() -> None:
    with db.transaction() as conn:
        conn.exec_driver_sql(f"TRUNCATE cdr, cdr_call_key, import_batch, {', '.join(_rollup_tables())} CASCADE")


def test_an_import_rates_the_calls(world, tmp_path):
    empty_calls()
    path = tmp_path / "calls.csv"
    path.write_text(
        ",".join(CDR_STATS_FIELDS) + "\n"
        "10.0.0.1,1,e2e-1,900,C,+34650104877,,,,2026-01-15 10:00:00,66,61,,,,16,,2,,1001,,,,,{}\n"
        "10.0.0.1,1,e2e-2,900,C,+34911223344,,,,2026-01-15 10:00:00,66,61,,,,16,,2,,2002,,,,,{}\n"
        "10.0.0.1,1,e2e-3,900,C,+34650104877,,,,2026-01-15 10:00:00,66,61,,,,16,,2,,3003,,,,,{}\n"
        "10.0.0.1,1,e2e-4,900,C,+34650104877,,,,2026-01-15 10:00:00,66,61,,,,16,,2,,1001,0.5,0.9,,,{}\n"
    )
    assert import_file(path).line() == "accepted=4 duplicates=0 rejected=0"
    calls = stored_prices()
    assert (calls["e2e-1"]["sell_cost"], calls["e2e-1"]["buy_cost"]) == (Decimal("0.066"), Decimal("0.022"))
    assert calls["e2e-1"]["carrier_id"] == world["providers"]["A"]
    assert calls["e2e-2"]["sell_cost"] == Decimal("0.2") and calls["e2e-2"]["carrier_id"] == world["providers"]["B"]
    assert calls["e2e-3"]["rating_status"] == RatingStatus.NO_PLAN
    assert calls["e2e-4"]["rating_status"] == RatingStatus.IMPORTED and calls["e2e-4"]["buy_cost"] == Decimal("0.9")
    # the rollups got the rated costs
    assert db.scalar("SELECT sum(sell_cost) FROM cdr_rollup_hour") == db.scalar("SELECT sum(sell_cost) FROM cdr")


def test_rerating_a_month_after_a_rate_change_equals_a_fresh_import(world, tmp_path):
    empty_calls()
    path = tmp_path / "january.csv"
    write_month(path)
    import_file(path)
    before = stored_prices()
    # The rate change: a new price for Spanish mobiles over the whole month, a cheaper carrier C on 346,
    # and 44 for carrier B.
    rates.import_rate_deck(ADMIN, world["retail_plan"], "3465,Spain mobile,0.065,0.01,30,6,2026-01-01")
    rates.import_rate_deck(ADMIN, world["carrier_plans"]["C"], "346,Spain 346,0.0005,0,60,60,2026-01-01")
    rates.import_rate_deck(ADMIN, world["carrier_plans"]["B"], "44,United Kingdom,0.004,0,1,1,2026-01-01")

    result = rerate(date(2026, 1, 1), date(2026, 1, 31))
    rerated, rerated_rollups = stored_prices(), rollups()
    assert result["calls"] == len(before) == 1500 and 0 < result["changed"] < len(before)
    assert rerated != before

    empty_calls()
    import_file(path)
    assert stored_prices() == rerated
    assert rollups() == rerated_rollups
    assert any(rows for rows in rerated_rollups.values())


def test_rerating_one_customer_leaves_the_others(world, tmp_path):
    empty_calls()
    path = tmp_path / "january.csv"
    write_month(path, calls=300, seed=9)
    import_file(path)
    before = stored_prices()
    rates.import_rate_deck(ADMIN, world["retail_plan"], "34,Spain,0.055,0.10,60,60,2026-01-01")
    rerate(date(2026, 1, 1), date(2026, 1, 31), customer=world["alice"].id)
    after = stored_prices()
    alice = {r["callid"] for r in db.rows("SELECT callid FROM cdr WHERE user_id = :u", u=world["alice"].id)}
    assert any(after[c] != before[c] for c in alice)
    assert all(after[c] == before[c] for c in before if c not in alice)


def test_queued_requests_run_in_the_job_and_from_the_command(world, app):
    request_id = queue_rerate(date(2026, 1, 10), date(2026, 1, 12), requested_by="test")
    assert run_rerate_queue() == {"done": 1, "failed": 0}
    row = db.rows("SELECT status, period_start, period_end FROM rerate_request WHERE id = :id", id=request_id)[0]
    assert row["status"] == "done"
    assert (row["period_start"], row["period_end"]) == (
        datetime(2026, 1, 10, tzinfo=UTC),
        datetime(2026, 1, 13, tzinfo=UTC),
    )
    runner = app.test_cli_runner()
    queued = runner.invoke(args=["rerate", "--from", "2026-01-01", "--to", "2026-01-02", "--customer", "alice"])
    assert queued.exit_code == 0 and "queued" in queued.output
    now = runner.invoke(args=["rerate", "--from", "2026-01-01", "--to", "2026-01-02", "--now"])
    assert now.exit_code == 0 and "re-rated" in now.output
    assert (
        runner.invoke(args=["rerate", "--from", "2026-01-01", "--to", "2026-01-02", "--customer", "nobody"]).exit_code
        != 0
    )
    assert run_rerate_queue()["done"] == 1
    from jobs.scheduler import job_by_name

    assert job_by_name("rerate").period_seconds == 60


def test_a_queued_rerate_is_in_the_audit_log(world):
    request_id = queue_rerate(date(2026, 1, 10), date(2026, 1, 12), customer=world["alice"].id, requested_by="test")
    [entry] = [e for e in audit.recent(target_type="rerate") if e["target_id"] == str(request_id)]
    assert (entry["actor"], entry["action"]) == ("system", "queue")
    assert entry["after"] == {
        "period_start": "2026-01-10T00:00:00+00:00",
        "period_end": "2026-01-13T00:00:00+00:00",
        "customer_id": world["alice"].id,
    }
