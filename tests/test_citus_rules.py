"""The Citus plan in docs/scaling.md, checked against the live schema: the tables it distributes and makes
reference tables are read from its SQL, the constraints from the catalog, and the import's and the customer
re-assignment's writes from row triggers during a real import and a real re-assignment. Citus's rules
(docs.citusdata.com, "Distributed tables", "Table co-location", "Foreign keys"):

1. every primary key and unique constraint of a distributed table contains its distribution column;
2. a foreign key between distributed tables joins co-located tables on their distribution columns, and a
   distributed table references no local (coordinator-only) table;
3. a reference table has no foreign key to a distributed table;
4. every row written to a distributed table has a distribution value (not NULL), and no write changes it.

A break fails the test with its table and constraint, unless docs/scaling.md writes it down in its table of
"Where today's schema differs" with how Citus would hold it; a written-down break that no longer happens fails
too (the document is out of date).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from data.core import db

DOC = Path(__file__).resolve().parent.parent / "docs" / "scaling.md"


def _plan() -> tuple[dict[str, tuple[str, str]], set[str], set[tuple[str, str]]]:
    """From docs/scaling.md: distributed tables {name: (column, co-location group)}, reference tables, and the
    written-down breaks {(table, constraint or write)}."""
    text = DOC.read_text()
    names = lambda array: re.findall(r"'(\w+)'", array)  # noqa: E731
    reference = {
        n
        for a in re.findall(r"create_reference_table\(t\) FROM unnest\(ARRAY\[(.*?)\]\)", text, re.S)
        for n in names(a)
    }
    distributed = {}
    for table, column in re.findall(r"create_distributed_table\('(\w+)', '(\w+)'\)", text):
        distributed[table] = (column, table)
    for column, group, array in re.findall(
        r"create_distributed_table\(t, '(\w+)', colocate_with => '(\w+)'\)\s*FROM unnest\(ARRAY\[(.*?)\]\)", text, re.S
    ):
        distributed.update({n: (column, group) for n in names(array)})
    written = set(re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", text, re.M))
    return distributed, reference, written


DISTRIBUTED, REFERENCE, WRITTEN_DOWN = _plan()


def test_the_document_names_tables_that_exist():
    assert len(DISTRIBUTED) >= 9 and len(REFERENCE) >= 10
    tables = {r["relname"] for r in db.rows("SELECT relname FROM pg_class WHERE relkind IN ('r', 'p')")}
    assert not (set(DISTRIBUTED) | REFERENCE) - tables, "docs/scaling.md names tables the schema does not have"
    assert not set(DISTRIBUTED) & REFERENCE


def _constraint_breaks() -> set[tuple[str, str]]:
    breaks = set()
    for c in db.rows(
        """SELECT t.relname AS tab, c.conname, c.contype, f.relname AS ref,
                  ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY i) AS cols,
                  ARRAY(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY i) AS ref_cols
           FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid LEFT JOIN pg_class f ON f.oid = c.confrelid
           WHERE c.contype IN ('p', 'u', 'f') AND NOT t.relispartition AND c.conparentid = 0
           UNION ALL  -- unique indexes that are no constraint
           SELECT t.relname, i.relname, 'u', NULL,
                  ARRAY(SELECT attname FROM unnest(x.indkey) k(n) JOIN pg_attribute a
                        ON a.attrelid = x.indrelid AND a.attnum = k.n), NULL
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           WHERE x.indisunique AND NOT t.relispartition
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"""
    ):
        table, name, ref = c["tab"], c["conname"], c["ref"]
        if c["contype"] in "pu" and table in DISTRIBUTED and DISTRIBUTED[table][0] not in c["cols"]:
            breaks.add((table, name))  # rule 1
        if c["contype"] != "f":
            continue
        if table in DISTRIBUTED and ref in DISTRIBUTED:  # rule 2
            (column, group), (ref_column, ref_group) = DISTRIBUTED[table], DISTRIBUTED[ref]
            joined = dict(zip(c["cols"], c["ref_cols"], strict=True))
            if group != ref_group or joined.get(column) != ref_column:
                breaks.add((table, name))
        elif table in DISTRIBUTED and ref not in REFERENCE:
            breaks.add((table, name))  # a distributed table referencing a local one
        if table in REFERENCE and ref in DISTRIBUTED:
            breaks.add((table, name))  # rule 3
    return breaks


TRIGGER = """
CREATE TABLE citus_rule_write (tab text, what text);
CREATE FUNCTION citus_rule_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF to_jsonb(NEW) ->> TG_ARGV[1] IS NULL THEN
        INSERT INTO citus_rule_write VALUES (TG_ARGV[0], TG_OP || ' with NULL ' || TG_ARGV[1]);
    END IF;
    IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) -> TG_ARGV[1]) IS DISTINCT FROM (to_jsonb(OLD) -> TG_ARGV[1]) THEN
        INSERT INTO citus_rule_write VALUES (TG_ARGV[0], 'UPDATE of ' || TG_ARGV[1]);
    END IF;
    RETURN NEW;
END $$;
"""


@pytest.fixture
def writes_watched():
    """Row triggers on every distributed table noting writes that break rule 4 (any session's)."""
    with db.transaction() as conn:
        conn.exec_driver_sql(TRIGGER)
        for table, (column, _) in DISTRIBUTED.items():
            conn.exec_driver_sql(
                f"CREATE TRIGGER citus_rule_check BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION citus_rule_check('{table}', '{column}')"
            )
    yield lambda: {(r["tab"], r["what"]) for r in db.rows("SELECT DISTINCT tab, what FROM citus_rule_write")}
    with db.transaction() as conn:
        for table in DISTRIBUTED:
            conn.exec_driver_sql(f"DROP TRIGGER citus_rule_check ON {table}")
        conn.exec_driver_sql("DROP FUNCTION citus_rule_check() CASCADE; DROP TABLE citus_rule_write")


def _import_and_reassign(tmp_path) -> None:
    from data.admin import accounts, users
    from data.ingest import import_file
    from data.ingest.fields import CDR_STATS_FIELDS

    customer = users.create_user("citus-a", "pass-word-1", "customer", accountcodes=("7001",))
    other = users.create_user("citus-b", "pass-word-1", "customer")
    start = datetime.now(timezone.utc) - timedelta(hours=2)
    lines = [",".join(CDR_STATS_FIELDS)]
    for n, code in enumerate(["7001", "7001", "7002", ""]):  # two of a customer, one unknown code, one without
        row = dict.fromkeys(CDR_STATS_FIELDS, "")
        row.update(
            switch="10.7.0.1",
            callid=f"citus-{n}",
            destination_number="34911234567",
            duration="70",
            billsec="60",
            hangup_cause_id="16",
            direction="2",
            accountcode=code,
            extradata="{}",
            starting_date=f"{start + timedelta(minutes=n):%Y-%m-%d %H:%M:%S}",
        )
        lines.append(",".join(row[f] for f in CDR_STATS_FIELDS))
    (tmp_path / "calls.csv").write_text("\n".join(lines) + "\n")
    assert import_file(tmp_path / "calls.csv").accepted == 4
    with db.transaction() as conn:  # the customer's calls go to another customer: the re-assignment
        assert accounts.reassign_calls(conn, ["7001"], other.id) == 2
    assert customer.id != other.id


def test_the_schema_keeps_citus_rules_or_the_document_says_how_citus_holds_it(writes_watched, tmp_path):
    _import_and_reassign(tmp_path)
    breaks = _constraint_breaks() | writes_watched()
    unwritten = sorted(breaks - WRITTEN_DOWN)
    assert not unwritten, (
        "breaks of Citus's rules not written down in docs/scaling.md (table, constraint or write): "
        + "; ".join(f"{t}: {c}" for t, c in unwritten)
    )
    assert not WRITTEN_DOWN - breaks, (
        f"docs/scaling.md writes down breaks that no longer happen: {WRITTEN_DOWN - breaks}"
    )


def test_a_break_is_named(writes_watched):
    """The checks can fail: a unique key without user_id on a distributed table, and a write changing user_id."""
    db.execute("CREATE UNIQUE INDEX citus_rule_probe ON cdr_rollup_day (tz, day, switch_id) WHERE user_id < 0")
    try:
        assert ("cdr_rollup_day", "citus_rule_probe") in _constraint_breaks()
    finally:
        db.execute("DROP INDEX citus_rule_probe")
    assert ("cdr_rollup_day", "citus_rule_probe") not in _constraint_breaks()
    db.execute("INSERT INTO concurrent_calls_minute (minute, switch_id, user_id, peak) VALUES (now(), 1, 5, 1)")
    db.execute("UPDATE concurrent_calls_minute SET user_id = 6 WHERE user_id = 5")
    db.execute("DELETE FROM concurrent_calls_minute WHERE user_id = 6")
    assert ("concurrent_calls_minute", "UPDATE of user_id") in writes_watched()
