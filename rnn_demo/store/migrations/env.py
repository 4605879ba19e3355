"""Alembic's entry point: migrate the connection :func:`rnn_demo.store.store.open_store` passes.

The store opens a transaction (locked against other processes) and hands its
connection over in ``config.attributes["connection"]``, so the whole upgrade
commits or rolls back as one. To write a new revision, against the store that
``RNN_DEMO_DATABASE_URL`` or ``RNN_DEMO_HOME`` names::

    python -c "from alembic import command; from rnn_demo.store.store import alembic_config; \\
        command.revision(alembic_config(), 'what changed', autogenerate=True)"
"""

from alembic import context
from sqlalchemy import create_engine

from rnn_demo.store.schema import metadata
from rnn_demo.store.settings import store_location


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    with create_engine(store_location().url).begin() as connection:
        run_migrations(connection)
