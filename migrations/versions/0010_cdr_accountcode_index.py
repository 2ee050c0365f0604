"""CDR search by accountcode: one btree on cdr (accountcode, starting_date).

The search's accountcode filter is ``c.accountcode = ANY(:accountcodes)`` inside a time range. The
other indexes on cdr lead with the time (BRIN, (starting_date, id)) or the customer (user_id,
starting_date), so without this one the filter reads every call of the range and keeps the few of
the code. With it each code is an index range scan bounded by the time range.

Created on the partitioned table, so every existing and future monthly partition gets it. A
partitioned table cannot be indexed CONCURRENTLY: this takes a SHARE lock on cdr (imports wait)
while it builds, which on a large store is minutes (see docs/reports.md).
"""

from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS cdr_accountcode_starting_date ON cdr (accountcode, starting_date)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS cdr_accountcode_starting_date")
