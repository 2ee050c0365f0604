"""Server-side sessions: a row per login, which logout, a new password, an admin or idleness deletes.

The session cookie only carries a random token; ``user_session`` keeps its sha256 (a database leak
gives no usable session), who it belongs to, when it began and was last seen, and from which address
and browser (the profile page lists them). A new password ends every session of the user (the trigger:
whichever code path changed it); the session that changed it gets a new one (``routes.auth``).
"""

from alembic import op

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE user_session (
            id bigserial PRIMARY KEY,
            token_hash text NOT NULL UNIQUE,
            user_id integer NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_seen_at timestamptz NOT NULL DEFAULT now(),
            address text,
            user_agent text
        );
        CREATE INDEX user_session_user ON user_session (user_id);
        CREATE FUNCTION user_session_end_on_password() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM user_session WHERE user_id = NEW.id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER app_user_password_ends_sessions
            AFTER UPDATE OF password_hash, is_active ON app_user FOR EACH ROW
            WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash
                  OR (OLD.is_active AND NOT NEW.is_active))
            EXECUTE FUNCTION user_session_end_on_password();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TRIGGER IF EXISTS app_user_password_ends_sessions ON app_user;
        DROP FUNCTION IF EXISTS user_session_end_on_password();
        DROP TABLE IF EXISTS user_session;
        """
    )
