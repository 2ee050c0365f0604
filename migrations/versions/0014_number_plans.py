"""Numbers an operator can bill on: the prefix table from phonenumbers' metadata, every Q.850 cause,
internal rates.

- ``dial_prefix`` is reloaded: the prefixes of regions sharing a calling code now come from
  phonenumbers' leading digits and number patterns (``data.core.reference_data``), not from samples.
- ``hangup_cause`` gets every cause ITU-T Q.850 defines (with its Q.850 class and text) besides the
  FreeSWITCH-only ones; ``sip_cause`` (RFC 3398 section 8.2.6.1) is reloaded against it.
- ``rate.kind``: 'prefix' (a price for the numbers starting with ``prefix``) or 'internal' (the price
  of internal calls, ``prefix`` empty); ``voip_plan_price`` keeps the prefix rates, and
  ``voip_plan_internal_price`` lists each VoIP plan's internal rates.
- ``rerate_request.days_done`` / ``days_total``: a running re-rating's progress (a VoIP plan change
  queues one for the customer's calls, and the users page follows it).

Stored calls keep their country until re-imported or re-rated (docs/rating.md).
"""

import sqlalchemy as sa
from alembic import op

from data.core import reference_data

revision = "0014"
down_revision = "0013"

# The views read a VoIP plan's rate plans through the same joins; the bans are the prefix view's second half.
PLAN_RATES = """
    FROM voip_plan_rate_plan vp
    JOIN rate_plan p ON p.id = vp.rate_plan_id
    JOIN rate r ON r.rate_plan_id = p.id
    LEFT JOIN provider pr ON pr.id = p.provider_id"""
PRICE_COLUMNS = """p.provider_id, pr.priority AS provider_priority,
           r.rate, r.connection_fee, r.increment_first, r.increment_next, r.effective_from, r.effective_to"""
PLAN_BANS = """
    UNION ALL
    SELECT vb.voip_plan_id, 'ban', b.prefix, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-infinity', NULL
    FROM voip_plan_ban_plan vb JOIN ban_prefix b ON b.ban_plan_id = vb.ban_plan_id;"""
PREFIX_PRICES = f"SELECT vp.voip_plan_id, p.kind, r.prefix, r.id AS rate_id, {PRICE_COLUMNS}{PLAN_RATES}"

VIEWS = f"""
CREATE VIEW voip_plan_price AS
    {PREFIX_PRICES}
    WHERE r.kind = 'prefix'{PLAN_BANS}

-- The internal rates of each VoIP plan: kind 'retail' (the sell price) or 'carrier' (the buy price).
CREATE VIEW voip_plan_internal_price AS
    SELECT vp.voip_plan_id, p.kind, r.id AS rate_id, {PRICE_COLUMNS}{PLAN_RATES}
    WHERE r.kind = 'internal';
"""

OLD_VIEW = f"CREATE VIEW voip_plan_price AS {PREFIX_PRICES}{PLAN_BANS}"


def reload_reference(conn) -> None:
    """The prefix table, the causes and the SIP map as ``data.core.reference_data`` builds them now."""
    conn.execute(sa.text("DELETE FROM dial_prefix"))
    conn.execute(
        sa.text("INSERT INTO dial_prefix (prefix, country_code) VALUES (:p, :c)"),
        [{"p": p, "c": c} for p, c in reference_data.dial_prefixes().items()],
    )
    conn.execute(
        sa.text(
            """INSERT INTO hangup_cause (code, name, class, sip_response, ner_success, source, q850_class, description)
               VALUES (:code, :name, :class, :sip_response, :ner_success, :source, :q850_class, :description)
               ON CONFLICT (code) DO UPDATE SET name = excluded.name, class = excluded.class,
                   sip_response = excluded.sip_response, ner_success = excluded.ner_success,
                   source = excluded.source, q850_class = excluded.q850_class, description = excluded.description"""
        ),
        reference_data.hangup_causes(),
    )
    conn.execute(sa.text("DELETE FROM sip_cause"))
    conn.execute(
        sa.text("INSERT INTO sip_cause (sip_code, q850_code) VALUES (:s, :q)"),
        [{"s": s, "q": q} for s, q in reference_data.sip_to_q850().items()],
    )


def upgrade() -> None:
    op.execute("""
        ALTER TABLE rerate_request ADD COLUMN days_done integer, ADD COLUMN days_total integer;
        ALTER TABLE hangup_cause ADD COLUMN source text NOT NULL DEFAULT 'Q.850',
                                 ADD COLUMN q850_class text NOT NULL DEFAULT '',
                                 ADD COLUMN description text NOT NULL DEFAULT '';
        DROP VIEW voip_plan_price;
        ALTER TABLE rate ADD COLUMN kind text NOT NULL DEFAULT 'prefix' CHECK (kind IN ('prefix', 'internal'));
        ALTER TABLE rate DROP CONSTRAINT rate_prefix_check;
        ALTER TABLE rate ADD CONSTRAINT rate_prefix_check
            CHECK (CASE kind WHEN 'internal' THEN prefix = '' ELSE prefix ~ '^[0-9]{1,20}$' END);
    """)
    op.execute(VIEWS)
    reload_reference(op.get_bind())


def downgrade() -> None:
    op.execute(
        "DROP VIEW voip_plan_internal_price; DROP VIEW voip_plan_price; DELETE FROM rate WHERE kind = 'internal'"
    )
    op.execute("""
        ALTER TABLE rate DROP CONSTRAINT rate_prefix_check;
        ALTER TABLE rate DROP COLUMN kind;
        ALTER TABLE rate ADD CONSTRAINT rate_prefix_check CHECK (prefix ~ '^[0-9]{1,20}$');
        ALTER TABLE hangup_cause DROP COLUMN source, DROP COLUMN q850_class, DROP COLUMN description;
        ALTER TABLE rerate_request DROP COLUMN days_done, DROP COLUMN days_total;
    """)
    op.execute(OLD_VIEW)
