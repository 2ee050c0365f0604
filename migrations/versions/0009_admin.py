"""Administration: permission groups (ACL), the audit log, settings overrides, password resets, login failures."""

from alembic import op

revision = "0009"
down_revision = "0008"

SCHEMA = """
-- Groups grant permissions ("page:/path", "feature:name"); a user inherits the union of their groups'.
CREATE TABLE acl_group (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (length(btrim(name)) > 0),
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE acl_group_permission (
    group_id integer NOT NULL REFERENCES acl_group (id) ON DELETE CASCADE,
    permission text NOT NULL,
    PRIMARY KEY (group_id, permission)
);

CREATE TABLE user_group (
    user_id integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    group_id integer NOT NULL REFERENCES acl_group (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_group_group ON user_group (group_id);

-- Every change an admin (or a user to their own account) makes: who, what, when, before and after.
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id integer REFERENCES app_user (id) ON DELETE SET NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target_type text NOT NULL,
    target_id text,
    before jsonb,
    after jsonb,
    request_id text,
    ip text
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, at DESC);

-- Settings changed in the UI; they override the environment (e.g. the number plan).
CREATE TABLE setting (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by integer REFERENCES app_user (id) ON DELETE SET NULL
);

-- Password reset links: only a hash of the token is kept; each is single-use and expires.
CREATE TABLE password_reset (
    token_hash text PRIMARY KEY,
    user_id integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX password_reset_user ON password_reset (user_id);

-- Failed logins in a row per username as typed (existing or not, so a lockout reveals nothing).
CREATE TABLE login_failure (
    username text PRIMARY KEY,
    failures integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz
);

ALTER TABLE app_user
    ADD COLUMN full_name text NOT NULL DEFAULT '',
    ADD COLUMN last_login_at timestamptz,
    ADD COLUMN password_changed_at timestamptz;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("""
        ALTER TABLE app_user DROP COLUMN IF EXISTS full_name, DROP COLUMN IF EXISTS last_login_at,
            DROP COLUMN IF EXISTS password_changed_at;
        DROP TABLE IF EXISTS login_failure, password_reset, setting, audit_log, user_group, acl_group_permission,
            acl_group;
    """)
