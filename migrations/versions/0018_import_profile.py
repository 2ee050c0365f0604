"""Import profiles: the operator's own CDR file layouts (data/ingest/profile_spec.py), one row each.

``definition`` holds the checked profile as JSON (its YAML form is made from it); built-in profiles live
in the code and are not stored. An import made with a profile has the format ``profile:NAME``.
"""

from alembic import op

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE import_profile (
            id serial PRIMARY KEY,
            name text NOT NULL UNIQUE,
            definition jsonb NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            updated_by integer REFERENCES app_user(id) ON DELETE SET NULL
        );
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS import_profile")
