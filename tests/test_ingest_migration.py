"""Migration 0012: Asterisk records stored before it get their record tag and link, and keep one key each."""

from data.core import db, migrate
from data.ingest import import_file
from tests.ingest_helpers import SAMPLES, reset_calls


def test_records_stored_before_0012_are_rekeyed_and_their_lost_siblings_import(app):
    """Before 0012 a Master.csv kept the first record of each uniqueid: 9 of the sample's 14."""
    reset_calls()
    import_file(SAMPLES / "asterisk13_master.csv", switch="pbx-old")
    kept = db.rows(
        """SELECT DISTINCT ON (callid) switch_id, callid, starting_date, extradata::text AS extradata FROM cdr
           ORDER BY callid, record_tag::int"""
    )
    assert len(kept) == 9
    reset_calls()
    migrate.downgrade("0011")
    try:
        for row in kept:
            db.execute(
                """INSERT INTO cdr (switch_id, cdr_source_type, callid, starting_date, extradata)
                   VALUES (:switch_id, 4, :callid, :starting_date, CAST(:extradata AS jsonb))""",
                **row,
            )
            db.execute(
                "INSERT INTO cdr_call_key (switch_id, callid, starting_date) "
                "VALUES (:switch_id, :callid, :starting_date)",
                **row,
            )
    finally:
        migrate.upgrade()
    tags = db.rows("SELECT callid, record_tag, linkedid, extradata FROM cdr ORDER BY callid")
    assert all(r["record_tag"] == r["extradata"]["sequence"] for r in tags)
    assert all(r["linkedid"] == r["extradata"]["linkedid"] for r in tags)
    keys = {r["callid"] for r in db.rows("SELECT callid FROM cdr_call_key")}
    assert keys == {f"{r['callid']}\x1f{r['record_tag']}" for r in tags}
    summary = import_file(SAMPLES / "asterisk13_master.csv", switch="pbx-old")
    assert summary.line() == "accepted=5 duplicates=9 rejected=0"
    assert db.scalar("SELECT count(*) FROM cdr") == db.scalar("SELECT count(*) FROM cdr_call_key") == 14
