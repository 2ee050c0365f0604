"""Mail: the outbox (kept until sent, retried with backoff), report recipients and report schedules.

- ``mail_outbox``: one row per message. ``dedup_key`` is unique: a second message with the same key
  is never queued ("one report per user, kind and period", "one error e-mail per job and hour").
  A row is locked (``FOR UPDATE SKIP LOCKED``) while it is handed to the SMTP server and marked sent
  in the same transaction, so two processes never send the same message.
- ``mail_outbox_part``: the attachments and inline images of a message, as bytes.
- ``app_user.report_emails``: the extra addresses a user's reports go to ("Emails to send a report").
- ``mail_schedule``: which reports (daily, weekly, monthly) a user receives; without a row the daily
  report is on and the others off.
"""

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.execute("""
        ALTER TABLE app_user ADD COLUMN IF NOT EXISTS report_emails text[] NOT NULL DEFAULT '{}';

        CREATE TABLE mail_schedule (
            user_id integer NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
            kind text NOT NULL CHECK (kind IN ('daily', 'weekly', 'monthly')),
            enabled boolean NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (user_id, kind)
        );

        CREATE TABLE mail_outbox (
            id bigserial PRIMARY KEY,
            dedup_key text UNIQUE,
            recipients text[] NOT NULL CHECK (cardinality(recipients) > 0),
            subject text NOT NULL,
            body_text text NOT NULL,
            body_html text,
            created_at timestamptz NOT NULL DEFAULT now(),
            sent_at timestamptz,
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_error text,
            smtp_reply text
        );
        CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id) WHERE sent_at IS NULL;
        CREATE INDEX mail_outbox_created ON mail_outbox (created_at DESC);

        CREATE TABLE mail_outbox_part (
            outbox_id bigint NOT NULL REFERENCES mail_outbox (id) ON DELETE CASCADE,
            position smallint NOT NULL,
            disposition text NOT NULL CHECK (disposition IN ('attachment', 'inline')),
            filename text NOT NULL,
            content_type text NOT NULL,
            content bytea NOT NULL,
            PRIMARY KEY (outbox_id, position)
        );
    """)


def downgrade() -> None:
    op.execute("""
        DROP TABLE IF EXISTS mail_outbox_part, mail_outbox, mail_schedule;
        ALTER TABLE app_user DROP COLUMN IF EXISTS report_emails;
    """)
