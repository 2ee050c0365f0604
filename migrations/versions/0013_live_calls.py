"""Calls in progress: where to ask each switch (its live source), and what it answered, in UNLOGGED tables;
and the data version, a sequence every import batch that stores calls advances after its commit, so that an
open dashboard asks "anything new since version V?" (one sequence read) before it redraws.

The live tables hold seconds-old state that the pollers rewrite every 2 s: UNLOGGED spares the WAL (they are
empty after a crash, and refilled by the next poll).
"""

from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade():
    op.execute(
        """
ALTER TABLE switch
    ADD COLUMN live_source text CHECK (live_source IN ('kamailio', 'asterisk', 'freeswitch')),
    ADD COLUMN live_address text NOT NULL DEFAULT '',
    ADD COLUMN live_username text NOT NULL DEFAULT '',
    ADD COLUMN live_secret text NOT NULL DEFAULT '';

-- One row per call in progress on a switch, as its last poll saw it.
CREATE UNLOGGED TABLE live_call (
    switch_id integer NOT NULL REFERENCES switch (id) ON DELETE CASCADE,
    call_key text NOT NULL,
    started_at timestamptz,
    answered boolean NOT NULL DEFAULT false,
    caller text NOT NULL DEFAULT '',
    destination text NOT NULL DEFAULT '',
    accountcode text NOT NULL DEFAULT '',
    user_id integer,
    country_code char(2),
    first_seen timestamptz NOT NULL,
    PRIMARY KEY (switch_id, call_key)
);
CREATE INDEX live_call_user ON live_call (user_id);

-- The last poll of each switch: unreachable_since is set by the first failed poll, cleared by a good one.
CREATE UNLOGGED TABLE live_switch (
    switch_id integer PRIMARY KEY REFERENCES switch (id) ON DELETE CASCADE,
    polled_at timestamptz NOT NULL,
    ok boolean NOT NULL,
    unreachable_since timestamptz,
    error text NOT NULL DEFAULT ''
);

-- Per poll, switch and customer: calls in progress and calls new since the previous poll (for calls per
-- second), kept 15 minutes for the sparkline.
CREATE UNLOGGED TABLE live_sample (
    at timestamptz NOT NULL,
    switch_id integer NOT NULL REFERENCES switch (id) ON DELETE CASCADE,
    user_id integer,
    calls integer NOT NULL,
    new_calls integer NOT NULL
);
CREATE INDEX live_sample_at ON live_sample (at);

CREATE SEQUENCE cdr_data_version;

-- EMBEDDED_DB_LISTEN's role, when it was created before this table's grants could be given (data.core.embedded_db)
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cdr_pusher') THEN
        GRANT SELECT, INSERT ON cdr_import TO cdr_pusher;
        GRANT USAGE ON SEQUENCE cdr_import_id_seq TO cdr_pusher;
    END IF;
END $$;
"""
    )


def downgrade():
    op.execute(
        """
DROP SEQUENCE IF EXISTS cdr_data_version;
DROP TABLE IF EXISTS live_sample, live_switch, live_call;
ALTER TABLE switch DROP COLUMN IF EXISTS live_source, DROP COLUMN IF EXISTS live_address,
    DROP COLUMN IF EXISTS live_username, DROP COLUMN IF EXISTS live_secret;
"""
    )
