"""Ingest: import bookkeeping and rejects, the CDR-Pusher target table, collector state, push keys,
demo markers, and the SQL helpers the set-based import uses.
"""

from alembic import op

revision = "0002"
down_revision = "0001"

SCHEMA = r"""
-- Push API keys (only a hash is kept) and the demo-data marker.
ALTER TABLE switch ADD COLUMN push_key_hash text, ADD COLUMN is_demo boolean NOT NULL DEFAULT false;
ALTER TABLE app_user ADD COLUMN is_demo boolean NOT NULL DEFAULT false;

-- One row per import (a file, an upload, a collector run, a push request, ...), with its counts.
-- accepted + duplicates + rejected = rows_read, batch by batch, in the transactions that stored the rows.
CREATE TABLE import_batch (
    id bigserial PRIMARY KEY,
    source text NOT NULL,
    format text,
    file_name text,
    file_checksum text,
    switch_hint text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    rows_read bigint NOT NULL DEFAULT 0,
    accepted bigint NOT NULL DEFAULT 0,
    duplicates bigint NOT NULL DEFAULT 0,
    rejected bigint NOT NULL DEFAULT 0,
    bytes_total bigint,
    bytes_done bigint NOT NULL DEFAULT 0,
    is_demo boolean NOT NULL DEFAULT false,
    dry_run boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    error text,
    created_by integer REFERENCES app_user (id) ON DELETE SET NULL
);
CREATE INDEX import_batch_started ON import_batch (started_at DESC);

-- Rows that could not be read, with where they came from and why.
CREATE TABLE import_reject (
    id bigserial PRIMARY KEY,
    import_id bigint NOT NULL REFERENCES import_batch (id) ON DELETE CASCADE,
    lineno bigint,
    raw text,
    reason text NOT NULL
);
CREATE INDEX import_reject_import ON import_reject (import_id, lineno);

-- The table a running CDR-Pusher fills (its own CREATE TABLE, plus the flag CDR-Stats reads).
CREATE TABLE cdr_import (
    id serial PRIMARY KEY,
    switch character varying(80) NOT NULL,
    cdr_source_type integer,
    callid character varying(80) NOT NULL,
    caller_id_number character varying(80) NOT NULL,
    caller_id_name character varying(80) NOT NULL,
    destination_number character varying(80) NOT NULL,
    dialcode character varying(10),
    state character varying(5),
    channel character varying(80),
    starting_date timestamp with time zone NOT NULL,
    duration integer NOT NULL,
    billsec integer NOT NULL,
    progresssec integer,
    answersec integer,
    waitsec integer,
    hangup_cause_id integer,
    hangup_cause character varying(80),
    direction integer,
    country_code character varying(3),
    accountcode character varying(40),
    buy_rate numeric(10, 5),
    buy_cost numeric(12, 5),
    sell_rate numeric(10, 5),
    sell_cost numeric(12, 5),
    imported boolean NOT NULL DEFAULT false,
    extradata jsonb
);
CREATE INDEX cdr_import_pending ON cdr_import (id) WHERE NOT imported;

-- Where each collector (one CDR-Pusher style config) has got to in its source.
CREATE TABLE collector_state (
    source_key text PRIMARY KEY,
    high_water bigint,
    rows_read bigint NOT NULL DEFAULT 0,
    last_run_at timestamptz,
    last_error text
);

-- A date-time the import accepts: 'YYYY-MM-DD HH.MM.SS' (ISO 8601: 'T' or space, seconds and fraction optional,
-- an optional 'Z' or UTC offset; written with dots here as colons would read as bind parameters),
-- checked to the day of the month, so that the cast that follows can never fail.
CREATE FUNCTION ingest_is_datetime(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT t ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[ T]([01]\d|2[0-3]):[0-5]\d'
               '(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]\d\d(:?\d\d)?)?$'
       AND (substr(t, 9, 2) <= '28' OR substr(t, 9, 2)::int <= CASE substr(t, 6, 2)
               WHEN '02' THEN CASE WHEN substr(t, 1, 4)::int % 4 = 0
                                        AND (substr(t, 1, 4)::int % 100 <> 0 OR substr(t, 1, 4)::int % 400 = 0)
                                   THEN 29 ELSE 28 END
               WHEN '04' THEN 30 WHEN '06' THEN 30 WHEN '09' THEN 30 WHEN '11' THEN 30
               ELSE 31 END)
$$;

-- The instant a checked date-time or epoch stands for; naive values are read in the zone ``tz``.
-- NULL when the text is not one (the caller reports it).
CREATE FUNCTION ingest_to_timestamptz(t text, tz text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN ingest_is_datetime(t) THEN
            -- checked above, so a '+' or '-' after the date can only start a UTC offset
            CASE WHEN right(t, 1) = 'Z' OR strpos(substr(t, 11), '+') > 0 OR strpos(substr(t, 11), '-') > 0
                 THEN t::timestamptz ELSE t::timestamp AT TIME ZONE tz END
        WHEN t ~ '^\d{9,10}(\.\d{1,6})?$' THEN to_timestamp(t::numeric)
        WHEN t ~ '^\d{16}$' THEN to_timestamp(t::numeric / 1000000)  -- FreeSWITCH *_uepoch (microseconds)
        WHEN t ~ '^\d{13}$' THEN to_timestamp(t::numeric / 1000)     -- milliseconds
    END
$$;
"""

# IS JSON arrived in PostgreSQL 16; before it, a value is tried in a sub-transaction (slower, same answer).
JSON_CHECK_16 = """
CREATE FUNCTION ingest_is_json_object(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT t IS JSON OBJECT $$;
"""
JSON_CHECK_14 = """
CREATE FUNCTION ingest_is_json_object(t text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN jsonb_typeof(t::jsonb) = 'object';
EXCEPTION WHEN others THEN
    RETURN false;
END $$;
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    version = op.get_bind().exec_driver_sql("SHOW server_version_num").scalar()
    op.execute(JSON_CHECK_16 if int(version) >= 160000 else JSON_CHECK_14)


def downgrade() -> None:
    op.execute("""
        DROP FUNCTION IF EXISTS ingest_to_timestamptz(text, text), ingest_is_datetime(text),
            ingest_is_json_object(text);
        DROP TABLE IF EXISTS collector_state, cdr_import, import_reject, import_batch;
        ALTER TABLE app_user DROP COLUMN IF EXISTS is_demo;
        ALTER TABLE switch DROP COLUMN IF EXISTS push_key_hash, DROP COLUMN IF EXISTS is_demo;
    """)
