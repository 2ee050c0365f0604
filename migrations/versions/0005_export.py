"""Export: customers' tenant, API tokens, export templates, masking lists, schedules and the export history."""

from alembic import op

revision = "0005"
down_revision = "0004"

SCHEMA = """
-- CGRateS's tenant of a customer's calls; NULL means EXPORT_DEFAULT_TENANT.
ALTER TABLE app_user ADD COLUMN tenant text;

-- API tokens: only the sha256 of the token is stored; the token itself is shown once, at creation.
CREATE TABLE api_token (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    name text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz
);
CREATE INDEX api_token_user ON api_token (user_id);

-- Destination prefix lists; a template's mask_destination_id names one (CGRateS's destination ids).
CREATE TABLE export_destination_list (
    name text PRIMARY KEY CHECK (name <> ''),
    prefixes text[] NOT NULL DEFAULT '{}',
    description text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Export templates as CGRateS cdre profiles (JSON); validated by the application when saved.
-- The built-in templates (cgr-csv) live in the code, and their names are reserved.
CREATE TABLE export_template (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name <> ''),
    profile jsonb NOT NULL,
    created_by integer REFERENCES app_user (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Scheduled exports. watermark_id: every CDR with id <= watermark_id has been considered by this schedule.
-- pending_horizon / pending_holders: an id horizon read while imports were in flight, and the virtual
-- transaction ids that held the cdr id sequence then; it becomes safe once they have all ended.
CREATE TABLE export_schedule (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name <> ''),
    template_name text NOT NULL,
    period_seconds integer NOT NULL CHECK (period_seconds >= 60),
    export_dir text NOT NULL DEFAULT '',
    enabled boolean NOT NULL DEFAULT true,
    watermark_id bigint NOT NULL DEFAULT 0,
    pending_horizon bigint,
    pending_holders text[],
    last_tick timestamptz,
    last_run_at timestamptz,
    last_error text,
    created_by integer REFERENCES app_user (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Every export written: by whom, when, what, where, and the file's checksum.
CREATE TABLE export_history (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    source text NOT NULL CHECK (source IN ('ui', 'cli', 'jsonrpc', 'schedule')),
    user_id integer REFERENCES app_user (id) ON DELETE SET NULL,
    actor text NOT NULL,
    schedule_id integer REFERENCES export_schedule (id) ON DELETE SET NULL,
    reexport_of bigint REFERENCES export_history (id) ON DELETE SET NULL,
    template_name text NOT NULL,
    export_id text NOT NULL DEFAULT '',
    time_start timestamptz,
    time_end timestamptz,
    id_after bigint,
    id_through bigint,
    total_records integer NOT NULL,
    unexported_records integer NOT NULL DEFAULT 0,
    total_cost numeric NOT NULL DEFAULT 0,
    first_order_id bigint,
    last_order_id bigint,
    file_path text NOT NULL,
    temp_path text,
    finalized boolean NOT NULL DEFAULT false,
    bytes bigint NOT NULL,
    sha256 text NOT NULL,
    parameters jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX export_history_created ON export_history (created_at DESC);
CREATE INDEX export_history_schedule ON export_history (schedule_id, id);
CREATE INDEX export_history_unfinalized ON export_history (id) WHERE NOT finalized;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("""
        DROP TABLE IF EXISTS export_history, export_schedule, export_template, export_destination_list,
            api_token CASCADE;
        ALTER TABLE app_user DROP COLUMN IF EXISTS tenant;
    """)
