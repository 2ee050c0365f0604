"""Rollups without accountcode in the full key; accountcodes get a minute level of their own.

With accountcode in the key of ``cdr_rollup_minute`` and ``cdr_rollup_hour`` (200 accountcodes x
60 countries x causes) carrier traffic made nearly one rollup row per call, so an import wrote
about two upserted rollup rows per call. Their key is now bucket, customer, switch, country,
hangup cause, direction and source type. Per-accountcode questions read
``cdr_rollup_minute_account`` (bucket, customer, accountcode, switch: the alarms' 5-minute windows,
the threat detectors, minute charts) and ``cdr_rollup_hour_traffic`` (15 minutes); an accountcode
crossed with countries or causes is read from ``cdr`` (see docs/rollups.md); a btree on cdr
(accountcode, country_code, starting_date) answers "has this accountcode called this country
before" (the new-country threat detector) with one probe.

Existing rows are summed into the new keys, so no rebuild from ``cdr`` is needed.
"""

from alembic import op

revision = "0011"
down_revision = "0010"

OLD_KEY = "bucket, user_id, accountcode, switch_id, country_code, hangup_cause_id, direction, cdr_source_type"
KEY = "bucket, user_id, switch_id, country_code, hangup_cause_id, direction, cdr_source_type"
ACCOUNT_KEY = "bucket, user_id, accountcode, switch_id"
MEASURES = (
    "attempts, answered, ner_success, duration_sum, billsec_sum, short_calls, pdd_sum, pdd_count, buy_cost, sell_cost"
)
SUMS = ", ".join(f"sum({m})" for m in MEASURES.split(", "))


# Room left in each page for the updates that follow a row's insert (calls of the same minute keep
# arriving while it is current, and end later): an update that fits in its page is "HOT", with no new
# index entry. Minute rows live 8 days, so they get the most room; the hour level is kept for good.
FILLFACTOR = {"cdr_rollup_minute": 50, "cdr_rollup_minute_account": 50, "cdr_rollup_hour": 70}


def _regroup(old: str, new: str, key: str, indexed_by_user: bool, fillfactor: int) -> None:
    """Create ``new`` with primary key ``key`` holding ``old``'s rows summed into it."""
    columns = key.split(", ")
    op.execute(f"CREATE TABLE {new} (LIKE {old} INCLUDING DEFAULTS) WITH (fillfactor = {fillfactor})")
    for column in OLD_KEY.split(", "):
        if column not in columns:
            op.execute(f"ALTER TABLE {new} DROP COLUMN {column}")
    op.execute(f"INSERT INTO {new} ({key}, {MEASURES}) SELECT {key}, {SUMS} FROM {old} GROUP BY {key}")
    op.execute(f"ALTER TABLE {new} ADD PRIMARY KEY ({key})")
    if indexed_by_user:
        op.execute(f"CREATE INDEX {new}_user_bucket ON {new} (user_id, bucket)")


def upgrade() -> None:
    op.execute("LOCK TABLE cdr_rollup_minute, cdr_rollup_hour IN EXCLUSIVE MODE")
    _regroup(
        "cdr_rollup_minute", "cdr_rollup_minute_account", ACCOUNT_KEY, False, FILLFACTOR["cdr_rollup_minute_account"]
    )
    # Minute rows are read in short time ranges only (the primary key's leading bucket): no index by customer,
    # one index less to write per row.
    for table, indexed_by_user in (("cdr_rollup_minute", False), ("cdr_rollup_hour", True)):
        _regroup(table, f"{table}_new", KEY, indexed_by_user, FILLFACTOR[table])
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
        op.execute(f"ALTER INDEX {table}_new_pkey RENAME TO {table}_pkey")
        if indexed_by_user:
            op.execute(f"ALTER INDEX {table}_new_user_bucket RENAME TO {table}_user_bucket")
    op.execute("CREATE INDEX IF NOT EXISTS cdr_accountcode_country ON cdr (accountcode, country_code, starting_date)")


def downgrade() -> None:
    # The accountcode split of the old full key cannot be recovered from sums: rebuild from cdr after
    # downgrading (flask --app app refresh-rollups --from D --to D).
    op.execute("DROP INDEX IF EXISTS cdr_accountcode_country")
    op.execute("DROP TABLE cdr_rollup_minute_account")
    for table in ("cdr_rollup_minute", "cdr_rollup_hour"):
        op.execute(f"ALTER TABLE {table} ADD COLUMN accountcode text NOT NULL DEFAULT ''")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN accountcode DROP DEFAULT")
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey")
        op.execute(f"ALTER TABLE {table} ADD PRIMARY KEY ({OLD_KEY})")
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    op.execute("CREATE INDEX cdr_rollup_minute_user_bucket ON cdr_rollup_minute (user_id, bucket)")
