"""How many notifications each alarm firing, blacklist hit and threat queued (e-mails and webhook POSTs):
0 means it notified nobody, which the alarms page and the diagnostic page then say. NULL: not notified yet
(or before this migration).
"""

from alembic import op

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE alarm_evaluation ADD COLUMN notified_count integer;
        ALTER TABLE destination_alert_event ADD COLUMN notified_count integer;
        ALTER TABLE threat_event ADD COLUMN notified_count integer;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE alarm_evaluation DROP COLUMN IF EXISTS notified_count;
        ALTER TABLE destination_alert_event DROP COLUMN IF EXISTS notified_count;
        ALTER TABLE threat_event DROP COLUMN IF EXISTS notified_count;
        """
    )
