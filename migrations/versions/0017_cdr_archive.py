"""Call archives: the months whose calls retention archived and dropped (data/admin/retention.py), so that an import
refuses calls of those months (their keys are gone and the rollups still count them: storing them again would
count them twice) until the archive is put back with ``import-cdr``.
"""

from alembic import op

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE cdr_archive (
            file text PRIMARY KEY,
            month date NOT NULL,
            calls bigint NOT NULL,
            archived_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX cdr_archive_month ON cdr_archive (month);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE cdr_archive")
