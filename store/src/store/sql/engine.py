"""Engines and sessions for the two databases the SQL store runs on.

SQLite is the embedded default (one file, nothing to install); PostgreSQL is the production
option. The differences that matter are settled here, once, so no other module asks which
database it is talking to:

- SQLite does not enforce foreign keys unless every connection asks it to, so each new
  connection runs ``PRAGMA foreign_keys=ON``.
- A file database runs in WAL journal mode, so readers (the API, dashboards' queries) do not
  block the writer and the writer does not block them.
- ``postgresql://`` without a driver means psycopg 3, the driver the project installs.
"""

from collections.abc import Callable
from typing import Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from store.sql.errors import UnsupportedDatabaseError

_POSTGRES_DRIVER: Final = "postgresql+psycopg"


def database_url(url: str) -> URL:
    """Parse ``url`` and fill in the driver the project uses for PostgreSQL.

    Raises:
        UnsupportedDatabaseError: the URL names a database other than SQLite or PostgreSQL.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername=_POSTGRES_DRIVER)
        return parsed
    if backend == "sqlite":
        return parsed
    raise UnsupportedDatabaseError(backend)


def create_engine_for(url: str) -> Engine:
    """Create an engine for ``url`` with the per-database settings described above.

    Raises:
        UnsupportedDatabaseError: the URL names a database other than SQLite or PostgreSQL.
    """
    parsed = database_url(url)
    if parsed.get_backend_name() == "postgresql":
        # pre_ping: a service outlives database restarts and failovers; a stale pooled
        # connection should be replaced, not handed to the next request.
        return create_engine(parsed, pool_pre_ping=True)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _sqlite_pragmas(wal=_is_file_database(parsed)))
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine`` whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def _is_file_database(url: URL) -> bool:
    if url.database in (None, "", ":memory:"):
        return False
    # sqlite:///file:name?mode=memory&uri=true names a shared in-memory database
    return url.query.get("mode") != "memory"


def _sqlite_pragmas(*, wal: bool) -> Callable[[DBAPIConnection, ConnectionPoolEntry], None]:
    """Connect listener that switches on what SQLite leaves off by default."""

    def on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        del record
        cursor = dbapi_connection.cursor()
        try:
            # A fresh connection is outside any transaction, where both pragmas take effect.
            cursor.execute("PRAGMA foreign_keys=ON")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    return on_connect
