"""Alembic environment of the SQL store: how a revision reaches a database.

Alembic executes this file for every command. :func:`store.sql.migrate` hands it an open
connection in ``config.attributes["connection"]``, so the migrations run inside the caller's
transaction on an engine built by :func:`store.sql.create_engine_for` (SQLite's foreign keys
on). Without one, it connects to ``sqlalchemy.url`` itself, or in offline mode renders the SQL
for that URL's dialect so a database administrator can review and run it.

SQLite cannot ``ALTER`` most of a table; ``render_as_batch`` makes Alembic copy the table
instead, which is why every constraint has a name (see :data:`store.sql.models.NAMING_CONVENTION`).
"""

from alembic import context
from sqlalchemy import Connection

from store.sql.engine import create_engine_for, database_url
from store.sql.models import Base

config = context.config


def _configured_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    return url


def _run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    url = database_url(_configured_url())
    context.configure(
        url=url,
        target_metadata=Base.metadata,
        render_as_batch=url.get_backend_name() == "sqlite",
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        _run_on(given)
        return
    engine = create_engine_for(_configured_url())
    try:
        with engine.begin() as connection:
            _run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
