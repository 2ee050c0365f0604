"""Rollups: per-minute and per-hour sums and counts of calls, updated with every import.

The hourly level is stored at 15-minute resolution: every real time zone's hours and days start
on a quarter hour (Asia/Kolkata +05:30, Asia/Kathmandu +05:45), so day and hour boundaries are
exact for every user. Narrow views of it answer common questions with few rows; a daily level
keeps the local days of each time zone in use. Minute rows are kept ROLLUP_MINUTE_DAYS (8) days.
"""

from alembic import op

revision = "0003"
down_revision = "0002"

COLUMNS = """
    bucket timestamptz NOT NULL,
    accountcode text NOT NULL,
    user_id integer NOT NULL,
    switch_id integer NOT NULL,
    country_code text NOT NULL,
    hangup_cause_id integer NOT NULL,
    direction smallint NOT NULL,
    cdr_source_type smallint NOT NULL,
    attempts bigint NOT NULL,
    answered bigint NOT NULL,
    ner_success bigint NOT NULL,
    duration_sum bigint NOT NULL,
    billsec_sum bigint NOT NULL,
    short_calls bigint NOT NULL,
    pdd_sum bigint NOT NULL,
    pdd_count bigint NOT NULL,
    buy_cost numeric NOT NULL,
    sell_cost numeric NOT NULL,
    PRIMARY KEY (bucket, user_id, accountcode, switch_id, country_code, hangup_cause_id, direction, cdr_source_type)
"""


MEASURES = COLUMNS[COLUMNS.index("    attempts") : COLUMNS.index("    PRIMARY KEY")]


def upgrade() -> None:
    for table in ("cdr_rollup_minute", "cdr_rollup_hour"):
        op.execute(f"CREATE TABLE {table} ({COLUMNS})")
        op.execute(f"CREATE INDEX {table}_user_bucket ON {table} (user_id, bucket)")
    # Narrow views of the hour level for the common report questions.
    narrow = {
        "traffic": "accountcode text NOT NULL,\n        switch_id integer NOT NULL",
        "country": "switch_id integer NOT NULL,\n        country_code text NOT NULL",
        "cause": "switch_id integer NOT NULL,\n        hangup_cause_id integer NOT NULL",
    }
    for name, columns in narrow.items():
        key = ", ".join(c.split()[0] for c in columns.split(",\n"))
        op.execute(f"""CREATE TABLE cdr_rollup_hour_{name} (
            bucket timestamptz NOT NULL,
            user_id integer NOT NULL,
            {columns},
            {MEASURES}
            PRIMARY KEY (bucket, user_id, {key}))""")
    # Peak simultaneous calls per minute and switch, for everyone (user 0) and per customer.
    op.execute("""CREATE TABLE concurrent_calls_minute (
        minute timestamptz NOT NULL, switch_id integer NOT NULL, user_id integer NOT NULL, peak integer NOT NULL,
        PRIMARY KEY (user_id, switch_id, minute))""")
    op.execute("""CREATE TABLE concurrency_change (
        switch_id integer NOT NULL, first_minute timestamptz NOT NULL, last_minute timestamptz NOT NULL)""")
    # Local days of each time zone in use: long ranges read a few rows per day.
    op.execute("CREATE TABLE rollup_timezone (tz text PRIMARY KEY, ready boolean NOT NULL DEFAULT false)")
    op.execute("INSERT INTO rollup_timezone (tz, ready) VALUES ('UTC', true)")
    op.execute(f"""CREATE TABLE cdr_rollup_day (
        tz text NOT NULL,
        day date NOT NULL,
        user_id integer NOT NULL,
        switch_id integer NOT NULL,
        country_code text NOT NULL,
        hangup_cause_id integer NOT NULL,
        {MEASURES}
        PRIMARY KEY (tz, day, user_id, switch_id, country_code, hangup_cause_id))""")


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS cdr_rollup_minute, cdr_rollup_hour, cdr_rollup_day, rollup_timezone, "
        "cdr_rollup_hour_traffic, cdr_rollup_hour_country, cdr_rollup_hour_cause, concurrent_calls_minute, "
        "concurrency_change"
    )
