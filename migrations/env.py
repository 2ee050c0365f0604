"""Alembic environment: the URL comes from Dialstat's own database module (embedded or DATABASE_URL)."""

from alembic import context

from data.core import db

with db.engine().connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
