"""CDR search: one btree on cdr (starting_date, id) for the search grid's first page and keyset paging.

The grid's default order is ``ORDER BY starting_date DESC, id DESC LIMIT 100`` inside a time range,
and each following block continues after the last (starting_date, id) seen. The BRIN index can
bound a range but not return rows in order, and cdr_user_time only serves one customer, so without
this index an admin's first page reads and sorts the whole range. With it the planner walks the
monthly partitions newest first (ordered Append of backward index scans) and stops after 100 rows.

Created on the partitioned table, so every existing and future monthly partition gets it.
"""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS cdr_starting_date_id ON cdr (starting_date, id)")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS cdr_starting_date_id")
