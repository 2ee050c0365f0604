"""Foundation: reference tables, users, switches, the partitioned cdr table, job runs."""

import sqlalchemy as sa
from alembic import op

from data.core import reference_data

revision = "0001"
down_revision = None

SCHEMA = """
CREATE TABLE cdr_source_type (
    id smallint PRIMARY KEY,
    name text NOT NULL UNIQUE
);
INSERT INTO cdr_source_type (id, name) VALUES
    (0, 'unknown'), (1, 'csv'), (2, 'api'), (3, 'freeswitch'), (4, 'asterisk'), (5, 'yate'),
    (6, 'kamailio'), (7, 'opensips'), (8, 'sipwise'), (9, 'veraz');

CREATE TABLE country (
    code char(2) PRIMARY KEY,
    alpha3 char(3) NOT NULL UNIQUE,
    name text NOT NULL
);

CREATE TABLE dial_prefix (
    prefix text PRIMARY KEY CHECK (prefix ~ '^[0-9]+$'),
    country_code char(2) NOT NULL REFERENCES country (code)
);

CREATE TABLE hangup_cause (
    code integer PRIMARY KEY,
    name text NOT NULL,
    class text NOT NULL,
    sip_response text,
    ner_success boolean NOT NULL DEFAULT false
);

CREATE TABLE sip_cause (
    sip_code integer PRIMARY KEY,
    q850_code integer NOT NULL REFERENCES hangup_cause (code)
);

CREATE TABLE app_user (
    id serial PRIMARY KEY,
    username text NOT NULL UNIQUE,
    email text,
    password_hash text NOT NULL,
    role text NOT NULL CHECK (role IN ('admin', 'customer')),
    timezone text NOT NULL DEFAULT 'UTC',
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A customer owns one or more accountcodes; an accountcode belongs to one customer.
CREATE TABLE user_accountcode (
    accountcode text PRIMARY KEY,
    user_id integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE
);
CREATE INDEX user_accountcode_user ON user_accountcode (user_id);

CREATE TABLE switch (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    ip text NOT NULL UNIQUE,
    source_type smallint NOT NULL DEFAULT 0 REFERENCES cdr_source_type (id),
    timezone text NOT NULL DEFAULT 'UTC',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Calls, partitioned by month of starting_date (UTC). Column names follow the CDR-Stats import header.
CREATE TABLE cdr (
    id bigserial NOT NULL,
    switch_id integer NOT NULL,
    cdr_source_type smallint NOT NULL DEFAULT 0,
    callid text NOT NULL,
    caller_id_number text,
    caller_id_name text,
    destination_number text,
    normalised_number text,  -- destination after PREFIX_TO_IGNORE / LOCAL_DIALCODE normalisation
    dialcode text,
    country_code char(2),
    starting_date timestamptz NOT NULL,
    answered_date timestamptz,
    duration integer NOT NULL DEFAULT 0 CHECK (duration >= 0),
    billsec integer NOT NULL DEFAULT 0 CHECK (billsec >= 0),
    progresssec integer,
    answersec integer,
    waitsec integer,
    hangup_cause_id integer,
    direction smallint NOT NULL DEFAULT 2,  -- 1 inbound, 2 outbound (CDR-Stats)
    accountcode text,
    user_id integer,
    buy_rate numeric(14, 5),
    buy_cost numeric(14, 5),
    sell_rate numeric(14, 5),
    sell_cost numeric(14, 5),
    carrier_id integer,
    rating_status smallint,
    import_id bigint,
    extradata jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (id, starting_date)
) PARTITION BY RANGE (starting_date);
CREATE INDEX cdr_starting_date_brin ON cdr USING brin (starting_date) WITH (pages_per_range = 32);
CREATE INDEX cdr_user_time ON cdr (user_id, starting_date);

-- The same call (switch, callid) is stored once, whatever the partition: a partitioned table
-- cannot hold a unique key without the partition column, so the key lives here.
CREATE TABLE cdr_call_key (
    switch_id integer NOT NULL,
    callid text NOT NULL,
    starting_date timestamptz NOT NULL,
    PRIMARY KEY (switch_id, callid)
);

-- Creates the monthly partitions covering [first, last]; safe to call concurrently.
CREATE FUNCTION ensure_cdr_partitions(first timestamptz, last timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    month date := date_trunc('month', first AT TIME ZONE 'UTC')::date;
    name text;
BEGIN
    WHILE month <= (last AT TIME ZONE 'UTC')::date LOOP
        name := format('cdr_y%sm%s', to_char(month, 'YYYY'), to_char(month, 'MM'));
        IF to_regclass(name) IS NULL THEN
            PERFORM pg_advisory_xact_lock(hashtext('cdr_partition:' || name));
            IF to_regclass(name) IS NULL THEN
                EXECUTE format(
                    'CREATE TABLE %I PARTITION OF cdr FOR VALUES FROM (%L) TO (%L)',
                    name, (month::timestamp AT TIME ZONE 'UTC'),
                    ((month + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            END IF;
        END IF;
        month := (month + interval '1 month')::date;
    END LOOP;
END $$;

CREATE TABLE job_run (
    id bigserial PRIMARY KEY,
    job text NOT NULL,
    tick timestamptz NOT NULL,
    host text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed', 'skipped')),
    error text,
    details jsonb,
    UNIQUE (job, tick)
);
CREATE INDEX job_run_job_started ON job_run (job, started_at DESC);

-- Housekeeping snapshots for the diagnostic page.
CREATE TABLE db_snapshot (
    taken_at timestamptz PRIMARY KEY DEFAULT now(),
    database_bytes bigint NOT NULL,
    cdr_rows bigint NOT NULL,
    cdr_per_day jsonb NOT NULL
);
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    conn = op.get_bind()
    conn.execute(
        sa.text("INSERT INTO country (code, alpha3, name) VALUES (:a2, :a3, :name)"),
        [{"a2": a2, "a3": a3, "name": name} for a2, a3, name in reference_data.countries()],
    )
    conn.execute(
        sa.text("INSERT INTO dial_prefix (prefix, country_code) VALUES (:p, :c)"),
        [{"p": p, "c": c} for p, c in reference_data.dial_prefixes().items()],
    )
    conn.execute(
        sa.text(
            "INSERT INTO hangup_cause (code, name, class, sip_response, ner_success) "
            "VALUES (:code, :name, :class, :sip_response, :ner_success)"
        ),
        reference_data.hangup_causes(),
    )
    conn.execute(
        sa.text("INSERT INTO sip_cause (sip_code, q850_code) VALUES (:s, :q)"),
        [{"s": s, "q": q} for s, q in reference_data.sip_to_q850().items()],
    )
    # Partitions for two years back and a year ahead; imports create any other month they need.
    op.execute("SELECT ensure_cdr_partitions(now() - interval '24 months', now() + interval '12 months')")


def downgrade() -> None:
    op.execute("""
        DROP TABLE IF EXISTS db_snapshot, job_run, cdr_call_key, cdr, switch, user_accountcode, app_user,
            sip_cause, hangup_cause, dial_prefix, country, cdr_source_type CASCADE;
        DROP FUNCTION IF EXISTS ensure_cdr_partitions(timestamptz, timestamptz);
    """)
