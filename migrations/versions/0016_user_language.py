"""A user's language: one of the interface's seven, or NULL to follow the browser's Accept-Language."""

from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE app_user ADD COLUMN language text CHECK (language IN ('de', 'en', 'es', 'fr', 'it', 'pt', 'ru'))"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE app_user DROP COLUMN language")
