"""Rating: providers, rate plans and rates, ban plans, VoIP plans, the pricing functions, re-rating requests."""

from alembic import op

revision = "0004"
down_revision = "0003"

SCHEMA = """
-- Carriers the calls are bought from. priority breaks LCR ties: the lower number wins.
CREATE TABLE provider (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    priority integer NOT NULL DEFAULT 100,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Retail plans (what customers pay) and carrier plans (what a provider charges), one currency each.
CREATE TABLE rate_plan (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    kind text NOT NULL CHECK (kind IN ('retail', 'carrier')),
    provider_id integer REFERENCES provider (id),
    currency char(3) NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'carrier') = (provider_id IS NOT NULL))
);
CREATE INDEX rate_plan_provider ON rate_plan (provider_id);

-- One price of a plan for a prefix, in force over [effective_from, effective_to).
-- The rate-deck import keeps the versions of a (plan, prefix) from overlapping.
CREATE TABLE rate (
    id bigserial PRIMARY KEY,
    rate_plan_id integer NOT NULL REFERENCES rate_plan (id) ON DELETE CASCADE,
    prefix text NOT NULL CHECK (prefix ~ '^[0-9]{1,20}$'),
    destination text NOT NULL DEFAULT '',
    country_code char(2) REFERENCES country (code),
    rate numeric(14, 5) NOT NULL CHECK (rate >= 0),
    connection_fee numeric(14, 5) NOT NULL DEFAULT 0 CHECK (connection_fee >= 0),
    increment_first integer NOT NULL DEFAULT 60 CHECK (increment_first >= 0),
    increment_next integer NOT NULL DEFAULT 60 CHECK (increment_next >= 1),
    effective_from timestamptz NOT NULL,
    effective_to timestamptz,
    CHECK (effective_to IS NULL OR effective_to > effective_from),
    UNIQUE (rate_plan_id, prefix, effective_from)
);

CREATE TABLE ban_plan (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ban_prefix (
    ban_plan_id integer NOT NULL REFERENCES ban_plan (id) ON DELETE CASCADE,
    prefix text NOT NULL CHECK (prefix ~ '^[0-9]{1,20}$'),
    destination text NOT NULL DEFAULT '',
    PRIMARY KEY (ban_plan_id, prefix)
);

-- What a customer is sold on: retail plans, carrier plans (LCR among them) and ban plans.
CREATE TABLE voip_plan (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE voip_plan_rate_plan (
    voip_plan_id integer NOT NULL REFERENCES voip_plan (id) ON DELETE CASCADE,
    rate_plan_id integer NOT NULL REFERENCES rate_plan (id) ON DELETE CASCADE,
    PRIMARY KEY (voip_plan_id, rate_plan_id)
);
CREATE INDEX voip_plan_rate_plan_plan ON voip_plan_rate_plan (rate_plan_id);

CREATE TABLE voip_plan_ban_plan (
    voip_plan_id integer NOT NULL REFERENCES voip_plan (id) ON DELETE CASCADE,
    ban_plan_id integer NOT NULL REFERENCES ban_plan (id) ON DELETE CASCADE,
    PRIMARY KEY (voip_plan_id, ban_plan_id)
);

ALTER TABLE app_user ADD COLUMN voip_plan_id integer REFERENCES voip_plan (id) ON DELETE SET NULL;

-- Every price and ban a VoIP plan applies, flattened for set-based matching on (voip_plan_id, prefix).
-- kind: 'retail', 'carrier' or 'ban'; bans have no price and are in force at all times.
CREATE VIEW voip_plan_price AS
    SELECT vp.voip_plan_id, p.kind, r.prefix, r.id AS rate_id, p.provider_id, pr.priority AS provider_priority,
           r.rate, r.connection_fee, r.increment_first, r.increment_next, r.effective_from, r.effective_to
    FROM voip_plan_rate_plan vp
    JOIN rate_plan p ON p.id = vp.rate_plan_id
    JOIN rate r ON r.rate_plan_id = p.id
    LEFT JOIN provider pr ON pr.id = p.provider_id
    UNION ALL
    SELECT vb.voip_plan_id, 'ban', b.prefix, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-infinity', NULL
    FROM voip_plan_ban_plan vb JOIN ban_prefix b ON b.ban_plan_id = vb.ban_plan_id;

-- The pricing formula, mirrored exactly by data/rating/rater.py (billed_seconds, call_cost); a test keeps
-- both in agreement. LANGUAGE sql and IMMUTABLE so the planner inlines them in set-based statements.
CREATE FUNCTION rating_billed_seconds(billsec integer, increment_first integer, increment_next integer)
RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN billsec <= 0 THEN 0
        WHEN billsec <= increment_first THEN increment_first
        ELSE increment_first + (billsec - increment_first + increment_next - 1) / increment_next * increment_next
    END
$$;

-- Unanswered and zero-billsec calls cost nothing, connection fee included. No rate, no cost (NULL).
CREATE FUNCTION rating_call_cost(rate numeric, connection_fee numeric, billed_seconds integer, decimals integer)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN rate IS NULL THEN NULL
        WHEN billed_seconds <= 0 THEN 0::numeric
        ELSE round(connection_fee + rate * billed_seconds / 60, decimals)
    END
$$;

-- The rating answers per VoIP plan are cached (data/rating/rater.py builds them from the rates, the import
-- reads them); any change to what voip_plan_price shows bumps the revision, and a plan's cached answers
-- built at an older revision are rebuilt before use. UNLOGGED: a crash empties them, which only means
-- a rebuild.
CREATE TABLE rating_revision (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    revision bigint NOT NULL DEFAULT 0
);
INSERT INTO rating_revision DEFAULT VALUES;

CREATE FUNCTION rating_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rating_revision (id, revision) VALUES (true, 1)
    ON CONFLICT (id) DO UPDATE SET revision = rating_revision.revision + 1;
    RETURN NULL;
END $$;

CREATE UNLOGGED TABLE rating_cache_plan (
    voip_plan_id integer PRIMARY KEY,
    revision bigint NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now()
);
-- Search keys: the plan's prefixes and the markers of the binary search on prefix lengths.
CREATE UNLOGGED TABLE rating_cache_key (
    voip_plan_id integer NOT NULL,
    key_length integer NOT NULL,
    key text NOT NULL
);
CREATE INDEX rating_cache_key_plan ON rating_cache_key (voip_plan_id, key_length);
-- What a call whose longest key is ``key`` costs, per segment of time [valid_from, valid_to).
CREATE UNLOGGED TABLE rating_cache_answer (
    voip_plan_id integer NOT NULL,
    key text NOT NULL,
    valid_from timestamptz NOT NULL,
    valid_to timestamptz NOT NULL,
    banned boolean NOT NULL,
    sell_rate numeric(14, 5), sell_fee numeric(14, 5), sell_first integer, sell_next integer,
    buy_rate numeric(14, 5), buy_fee numeric(14, 5), buy_first integer, buy_next integer,
    carrier_id integer
);
CREATE INDEX rating_cache_answer_plan ON rating_cache_answer (voip_plan_id);

-- Re-rating requests (CLI, admin page), processed in order by the "rerate" scheduled job.
CREATE TABLE rerate_request (
    id bigserial PRIMARY KEY,
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    user_id integer REFERENCES app_user (id) ON DELETE CASCADE,
    requested_by text NOT NULL DEFAULT '',
    requested_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    started_at timestamptz,
    finished_at timestamptz,
    calls bigint,
    error text,
    CHECK (period_end > period_start)
);
CREATE INDEX rerate_request_queued ON rerate_request (requested_at) WHERE status = 'queued';
"""


PRICED_TABLES = ("provider", "rate_plan", "rate", "ban_prefix", "voip_plan_rate_plan", "voip_plan_ban_plan")


def upgrade() -> None:
    op.execute(SCHEMA)
    for table in PRICED_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_rating_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION rating_bump_revision()"
        )


def downgrade() -> None:
    op.execute("""
        DROP TABLE IF EXISTS rerate_request, rating_cache_answer, rating_cache_key, rating_cache_plan, rating_revision;
        DROP FUNCTION IF EXISTS rating_call_cost(numeric, numeric, integer, integer);
        DROP FUNCTION IF EXISTS rating_billed_seconds(integer, integer, integer);
        DROP VIEW IF EXISTS voip_plan_price;
        DROP FUNCTION IF EXISTS rating_bump_revision() CASCADE;
        ALTER TABLE app_user DROP COLUMN IF EXISTS voip_plan_id;
        DROP TABLE IF EXISTS voip_plan_ban_plan, voip_plan_rate_plan, voip_plan, ban_prefix, ban_plan, rate,
            rate_plan, provider CASCADE;
    """)
