"""Alarms, destination alerts (blacklist / whitelist / alert remove prefix), threat control, webhooks.

- ``alarm``: one rule (metric, scope, period, condition, threshold, severity); soft-deleted so that its
  history stays readable. ``alarm_evaluation``: every evaluation of every closed period, claimed once
  by the unique (alarm_id, period_start); the alarm report lists the ones that fired.
- ``destination_rule`` / ``alert_remove_prefix``: the blacklist and whitelist (by country or prefix)
  and the prefixes stripped before matching; ``cdr.destination_alert`` / ``cdr.alert_reason`` flag
  blacklisted calls at import; ``destination_alert_event`` counts them per import for notification.
- ``threat_event``: the threats found by the threat-control job (history, flood control);
  ``high_cost_prefix``: the admin's list of high-cost ranges; ``alert_setting``: thresholds.
- ``webhook`` / ``webhook_delivery``: signed JSON POSTs, queued so retries survive restarts.
"""

from alembic import op

revision = "0008"
down_revision = "0007"

SCHEMA = r"""
CREATE TABLE webhook (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    url text NOT NULL CHECK (url ~* '^https?://[^\s]+$'),
    secret text NOT NULL,
    events text[] NOT NULL DEFAULT '{threat,destination_alert}',  -- broadcasts it receives; alarms pick theirs
    is_active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One POST to send (or sent); the body is stored as sent, so that its signature is reproducible.
CREATE TABLE webhook_delivery (
    id bigserial PRIMARY KEY,
    webhook_id integer NOT NULL REFERENCES webhook (id) ON DELETE CASCADE,
    event text NOT NULL,
    body text NOT NULL,
    dedup_key text,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    UNIQUE (webhook_id, dedup_key)
);
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE status = 'pending';

CREATE TABLE alarm (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,  -- the owner (time zone, scope)
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    metric text NOT NULL CHECK (metric IN ('asr', 'acd', 'ner', 'calls', 'minutes', 'cost', 'short_calls', 'pdd',
                                           'cause_share', 'cic')),
    hangup_cause_id integer,
    scope_kind text NOT NULL DEFAULT 'all'
        CHECK (scope_kind IN ('all', 'switch', 'customer', 'accountcode', 'country', 'prefix')),
    scope_value text NOT NULL DEFAULT '',
    period text NOT NULL CHECK (period IN ('5m', '15m', 'hour', 'day', 'week', 'month')),
    compare_to text NOT NULL DEFAULT 'previous' CHECK (compare_to IN ('previous', 'week_before')),
    condition text NOT NULL CHECK (condition IN ('lt', 'gt', 'decrease', 'increase', 'decrease_pct',
                                                 'increase_pct')),
    threshold numeric NOT NULL,
    min_attempts integer NOT NULL DEFAULT 10 CHECK (min_attempts >= 0),
    severity text NOT NULL DEFAULT 'warning' CHECK (severity IN ('warning', 'critical')),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    dry_run boolean NOT NULL DEFAULT false,
    email_to text NOT NULL DEFAULT '',
    webhook_id integer REFERENCES webhook (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CHECK ((metric = 'cause_share') = (hangup_cause_id IS NOT NULL)),
    CHECK (NOT (period = 'month' AND compare_to = 'week_before'))
);
CREATE INDEX alarm_user ON alarm (user_id) WHERE deleted_at IS NULL;

-- Every evaluation of a closed period (fired or not), with what was measured: the report's rows are
-- the fired ones, the others keep the state that "cleared" notices are sent from.
CREATE TABLE alarm_evaluation (
    id bigserial PRIMARY KEY,
    alarm_id integer NOT NULL REFERENCES alarm (id) ON DELETE CASCADE,
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    comparison_start timestamptz NOT NULL,
    comparison_end timestamptz NOT NULL,
    measured numeric,
    comparison numeric,
    threshold numeric NOT NULL,
    attempts bigint NOT NULL DEFAULT 0,
    comparison_attempts bigint NOT NULL DEFAULT 0,
    computable boolean NOT NULL,
    fired boolean NOT NULL,
    reason text NOT NULL,
    rule text NOT NULL,
    severity text NOT NULL,
    dry_run boolean NOT NULL DEFAULT false,
    event text CHECK (event IN ('raised', 'firing', 'cleared')),
    evaluated_at timestamptz NOT NULL DEFAULT now(),
    notified_at timestamptz,
    acknowledged_at timestamptz,
    acknowledged_by integer REFERENCES app_user (id) ON DELETE SET NULL,
    UNIQUE (alarm_id, period_start)
);
CREATE INDEX alarm_evaluation_fired ON alarm_evaluation (period_start DESC) WHERE fired;

CREATE TABLE destination_rule (
    id serial PRIMARY KEY,
    list text NOT NULL CHECK (list IN ('blacklist', 'whitelist')),
    country_code char(2) REFERENCES country (code),
    prefix text CHECK (prefix ~ '^[0-9]{1,20}$'),
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((country_code IS NULL) <> (prefix IS NULL)),
    UNIQUE (list, country_code),
    UNIQUE (list, prefix)
);

-- Stripped (the longest one that matches, once) from the number before it is matched.
CREATE TABLE alert_remove_prefix (
    prefix text PRIMARY KEY CHECK (prefix ~ '^[0-9]{1,20}$'),
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Set by the import on blacklisted calls (NULL: not flagged).
ALTER TABLE cdr ADD COLUMN destination_alert boolean, ADD COLUMN alert_reason text;

-- Blacklisted calls, counted per import, rule and accountcode; notified by the alarms job.
CREATE TABLE destination_alert_event (
    id bigserial PRIMARY KEY,
    reason text NOT NULL,
    accountcode text NOT NULL DEFAULT '',
    user_id integer,
    country_code text NOT NULL DEFAULT '',
    calls bigint NOT NULL,
    first_call timestamptz NOT NULL,
    last_call timestamptz NOT NULL,
    sample_number text,
    import_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    notified_at timestamptz
);
CREATE INDEX destination_alert_event_created ON destination_alert_event (created_at DESC);
CREATE INDEX destination_alert_event_pending ON destination_alert_event (id) WHERE notified_at IS NULL;

CREATE TABLE high_cost_prefix (
    prefix text PRIMARY KEY CHECK (prefix ~ '^[0-9]{1,20}$'),
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE threat_event (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    subject text NOT NULL,
    flood_key text NOT NULL UNIQUE,
    detected_at timestamptz NOT NULL DEFAULT now(),
    window_start timestamptz NOT NULL,
    window_end timestamptz NOT NULL,
    cost_at_risk numeric NOT NULL DEFAULT 0,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    notified_at timestamptz
);
CREATE INDEX threat_event_detected ON threat_event (detected_at DESC);

-- Thresholds of threat control and alarm settings; absent keys take the documented defaults.
CREATE TABLE alert_setting (
    key text PRIMARY KEY,
    value jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute("""
        DROP TABLE IF EXISTS alert_setting, threat_event, high_cost_prefix, destination_alert_event,
            alert_remove_prefix, destination_rule, alarm_evaluation, alarm, webhook_delivery, webhook;
        ALTER TABLE cdr DROP COLUMN IF EXISTS destination_alert, DROP COLUMN IF EXISTS alert_reason;
    """)
