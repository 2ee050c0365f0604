"""Schema migrations (Alembic, scripts in ``migrations/``), run programmatically."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from data.core import db
from data.core.settings import ROOT


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def upgrade(revision: str = "head") -> None:
    command.upgrade(alembic_config(), revision)


def upgrade_once_at_a_time() -> None:
    """Upgrade to the newest schema, one migrator at a time when several workers start together."""
    with db.engine().connect() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_lock(hashtext('dialstat:migrate'))")
        try:
            upgrade()
        finally:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(hashtext('dialstat:migrate'))")


def downgrade(revision: str) -> None:
    command.downgrade(alembic_config(), revision)


def current() -> None:
    command.current(alembic_config(), verbose=True)
