"""Saved CDR searches: a user names the current search (its query string: filters and columns) and opens it
again from a list. Per user; deleted with the user.
"""

from alembic import op

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE saved_search (
            id serial PRIMARY KEY,
            user_id integer NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
            name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 80),
            query text NOT NULL CHECK (length(query) <= 8000),
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (user_id, name)
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS saved_search")
