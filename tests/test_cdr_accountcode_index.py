"""Migration 0010: the btree on cdr (accountcode, starting_date) exists on every partition, the CDR search's
accountcode filter is planned on it, and the migration goes down and up again."""

import re

import pytest

from data.cdr_search.search import fetch_block, search_criteria_from_query, search_where
from data.core import db, migrate
from data.core.scope import Scope
from tests.cdr_factory import ensure_switch

ADMIN = Scope(user_id=None, timezone="UTC")
CODES = 300
CALLS = 30_000
# Either btree leading with accountcode (PostgreSQL 18 skips over the country column of the second).
ACCOUNTCODE_INDEX = re.compile(r"_accountcode_(country_code_)?starting_date_idx")
QUERY = {"start": "2025-05-01", "end": "2025-06-30", "accountcode": "code-17"}


@pytest.fixture(scope="module")
def many_calls(app):
    """30,000 calls over May and June 2025 (two partitions), spread evenly over 300 accountcodes."""
    switch_id = ensure_switch("idx-sw", "10.77.0.1")
    with db.transaction() as conn:
        conn.exec_driver_sql("SELECT ensure_cdr_partitions('2025-05-01', '2025-06-30')")
        conn.exec_driver_sql(
            """INSERT INTO cdr (switch_id, callid, starting_date, duration, billsec, accountcode, destination_number)
               SELECT %(switch)s, 'idx-' || i, timestamptz '2025-05-01' + i * interval '173 seconds', 10, 5,
                      'code-' || (i %% %(codes)s), '34650' || i
               FROM generate_series(0, %(calls)s - 1) i""",
            {"switch": switch_id, "codes": CODES, "calls": CALLS},
        )
        conn.exec_driver_sql("ANALYZE cdr")
    return switch_id


def _index_count() -> int:
    return db.scalar("""SELECT count(*) FROM pg_indexes
                        WHERE tablename LIKE 'cdr_y%' AND indexdef LIKE '%(accountcode, starting_date)'""")


def _plan(sql: str, params: dict) -> str:
    with db.transaction() as conn:
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}", params))


def _as_driver_sql(where: str, params: dict) -> tuple[str, dict]:
    """search_where's ``:name`` parameters as psycopg2's ``%(name)s``."""
    for name in sorted(params, key=len, reverse=True):
        where = where.replace(f":{name}", f"%({name})s")
    return where, params


def test_every_partition_has_the_index(many_calls):
    partitions = db.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'cdr'::regclass")
    assert partitions >= 2
    assert _index_count() == partitions
    assert (
        db.scalar("SELECT indexdef FROM pg_indexes WHERE indexname = 'cdr_accountcode_starting_date'")
        == "CREATE INDEX cdr_accountcode_starting_date ON ONLY public.cdr USING btree (accountcode, starting_date)"
    )


def test_the_search_block_with_an_accountcode_reads_the_index(many_calls):
    criteria = search_criteria_from_query(QUERY, ADMIN)
    assert criteria.report.accountcodes == ("code-17",)
    where, params = _as_driver_sql(*search_where(ADMIN, criteria))
    plan = _plan(f"SELECT c.id FROM cdr c WHERE {where} ORDER BY c.starting_date DESC, c.id DESC LIMIT 100", params)
    assert ACCOUNTCODE_INDEX.search(plan), plan
    assert "Seq Scan" not in plan, plan
    # and what it reads is right: exactly the code's 100 calls, newest first
    rows = fetch_block(ADMIN, criteria, 0, 100).rows
    expected = [i for i in range(CALLS - 1, -1, -1) if i % CODES == 17]
    assert [r["destination_number"] for r in rows] == [f"34650{i}" for i in expected]


def test_a_per_call_filter_with_an_accountcode_also_reads_the_index(many_calls):
    criteria = search_criteria_from_query({**QUERY, "duration": "10", "duration_op": "eq"}, ADMIN)
    assert not criteria.only_rollup_filters  # the report by day and the count come from cdr then
    where, params = _as_driver_sql(*search_where(ADMIN, criteria))
    plan = _plan(f"SELECT count(*) FROM cdr c WHERE {where}", params)
    assert ACCOUNTCODE_INDEX.search(plan), plan
    assert "Seq Scan" not in plan, plan


def test_the_migration_goes_down_and_up(many_calls):
    try:
        migrate.downgrade("0009")
        assert _index_count() == 0
        assert db.scalar("SELECT version_num FROM alembic_version") == "0009"
    finally:
        migrate.upgrade("head")
    assert _index_count() == db.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'cdr'::regclass")
    assert fetch_block(ADMIN, search_criteria_from_query(QUERY, ADMIN), 0, 5).rows
