"""Demo data: deterministic, through the real import, with its anomalies, and removable exactly."""

from datetime import datetime, timezone

from data.core import db
from data.demo import demo_data
from tests.ingest_helpers import reset_calls

END = datetime(2026, 3, 10, 12, tzinfo=timezone.utc)


def test_demo_data_is_deterministic_realistic_and_removable(app):
    reset_calls()
    first = demo_data.load_demo_data(days=7, calls_per_day=300, seed=5, end=END)
    assert first.accepted > 1500 and first.rejected == 0
    assert (
        demo_data.load_demo_data(days=7, calls_per_day=300, seed=5, end=END).line()
        == f"accepted=0 duplicates={first.accepted} rejected=0"
    )  # the same seed gives the same calls

    by_switch = {
        r["name"]: r
        for r in db.rows(
            """SELECT s.name, s.timezone, count(*) AS calls, avg((c.answered_date IS NOT NULL)::int) AS asr,
                  count(DISTINCT c.country_code) AS countries
           FROM cdr c JOIN switch s ON s.id = c.switch_id WHERE s.is_demo GROUP BY s.name, s.timezone"""
        )
    }
    assert set(by_switch) == {"demo-fs-london", "demo-ast-madrid", "demo-kam-newyork"}
    assert all(0.4 < float(r["asr"]) < 0.8 and r["countries"] >= 25 for r in by_switch.values())
    assert db.scalar("SELECT count(*) FROM cdr WHERE user_id IS NULL") == 0  # every accountcode has its customer
    assert db.scalar("SELECT count(*) FROM app_user WHERE is_demo") == 5

    fraud = db.rows("""SELECT country_code, count(*) AS calls, min(extract(hour FROM starting_date)) AS first_hour
                       FROM cdr WHERE accountcode = 'hooli-02' AND country_code = 'SL' GROUP BY 1""")
    assert fraud == [{"country_code": "SL", "calls": 400, "first_hour": 2}]
    japan = db.rows("""SELECT min(starting_date) AS first FROM cdr
                       WHERE accountcode = 'globex-01' AND country_code = 'JP'""")[0]["first"]
    assert japan.date() == datetime(2026, 3, 9).date()  # day -1: new for this accountcode
    assert db.scalar("SELECT count(*) FROM cdr WHERE destination_number = '+442079460999'") == 250
    assert (
        db.scalar("""SELECT count(*) FROM cdr WHERE accountcode = 'initech-02' AND billsec BETWEEN 1 AND 4
                        AND starting_date >= '2026-03-05 10:00Z' AND starting_date < '2026-03-05 11:00Z'""")
        >= 300
    )
    collapse = db.rows("""SELECT avg((answered_date IS NOT NULL)::int) AS asr
                          FROM cdr c JOIN switch s ON s.id = c.switch_id
                          WHERE s.name = 'demo-kam-newyork' AND starting_date >= '2026-03-07 14:00Z'
                            AND starting_date < '2026-03-07 15:00Z'""")[0]["asr"]
    assert float(collapse) < 0.3

    counts = demo_data.delete_demo_data()
    assert counts["calls"] == first.accepted and counts["switches"] == 3 and counts["customers"] == 5
    assert db.scalar("SELECT count(*) FROM cdr") == 0 and db.scalar("SELECT count(*) FROM cdr_call_key") == 0
    assert not demo_data.has_calls()
