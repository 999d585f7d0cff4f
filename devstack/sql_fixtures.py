"""pytest fixtures for the SQL store: real SQLite files and real PostgreSQL databases.

========================  ========================================================================
fixture                   what a test gets
========================  ========================================================================
``empty_sqlite_url``      URL of a SQLite file in the test's ``tmp_path``, never migrated
``sqlite_url``            the same, migrated to head
``empty_postgres_url``    URL of a new, uniquely named PostgreSQL database, never migrated;
                          dropped after the test
``postgres_url``          the same, migrated to head
``empty_sql_url``         ``empty_sqlite_url``, then ``empty_postgres_url`` (ids sqlite, postgres)
``sql_url``               ``sqlite_url``, then ``postgres_url`` (ids sqlite, postgres)
``registry``              a :class:`store.sql.Registry` on ``sql_url``, so on both databases
``postgres_admin_url``    the server's admin URL (per session); skips or fails as below
========================  ========================================================================

PostgreSQL is the server at 127.0.0.1:5432, user ``postgres``, unless ``LANTIAN_TEST_POSTGRES``
holds another admin URL (a role that may create databases, and the database to connect to
while doing it). With no server reachable at the default address, PostgreSQL tests skip and say
why; when ``LANTIAN_TEST_POSTGRES`` is set, an unreachable server fails them instead, because
someone asked for PostgreSQL and would otherwise get a green run that tested nothing.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from store.sql import Registry, create_engine_for, database_url, migrate

POSTGRES_ENV: Final = "LANTIAN_TEST_POSTGRES"
DEFAULT_POSTGRES: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_CONNECT_TIMEOUT_S: Final = 3

_BOTH: Final = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def postgres_admin_url() -> URL:
    """Admin URL of a reachable PostgreSQL server; skips (or fails, if configured) without one."""
    configured = os.environ.get(POSTGRES_ENV)
    url = database_url(configured or DEFAULT_POSTGRES)
    problem = _why_unreachable(url)
    if problem is None:
        return url
    reason = f"no PostgreSQL reachable at {url.render_as_string(hide_password=True)}: {problem}"
    if configured:
        pytest.fail(
            f"{reason} ({POSTGRES_ENV} is set, so PostgreSQL tests must run)", pytrace=False
        )
    pytest.skip(f"{reason}; set {POSTGRES_ENV} to an admin URL to use another server")


def _why_unreachable(url: URL) -> str | None:
    """``None`` when PostgreSQL at ``url`` answers a query, else the driver's explanation."""
    engine = create_engine(url, connect_args={"connect_timeout": _CONNECT_TIMEOUT_S})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        return " ".join(str(error.orig).split())
    finally:
        engine.dispose()
    return None


@pytest.fixture
def empty_postgres_url(postgres_admin_url: URL) -> Iterator[str]:
    """A new PostgreSQL database for this test alone, dropped afterwards."""
    name = f"lantian_test_{uuid.uuid4().hex[:12]}"
    # CREATE/DROP DATABASE cannot run inside a transaction.
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(name)
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {quoted}"))
        try:
            yield postgres_admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                # FORCE: a test that failed may have left a pooled connection open.
                connection.execute(text(f"DROP DATABASE {quoted} WITH (FORCE)"))
    finally:
        admin.dispose()


@pytest.fixture
def postgres_url(empty_postgres_url: str) -> str:
    """A new PostgreSQL database migrated to head."""
    migrate(empty_postgres_url)
    return empty_postgres_url


@pytest.fixture
def empty_sqlite_url(tmp_path: Path) -> str:
    """A SQLite file database in the test's own folder; created on first connection."""
    return f"sqlite:///{tmp_path / 'lantian.sqlite3'}"


@pytest.fixture
def sqlite_url(empty_sqlite_url: str) -> str:
    """A SQLite file database migrated to head."""
    migrate(empty_sqlite_url)
    return empty_sqlite_url


@pytest.fixture(params=_BOTH)
def empty_sql_url(request: pytest.FixtureRequest) -> str:
    """An unmigrated database, once on SQLite and once on PostgreSQL."""
    url: str = request.getfixturevalue(f"empty_{request.param}_url")
    return url


@pytest.fixture(params=_BOTH)
def sql_url(request: pytest.FixtureRequest) -> str:
    """A database migrated to head, once on SQLite and once on PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def registry(sql_url: str) -> Iterator[Registry]:
    """A registry on an empty, migrated database; its engine is closed after the test."""
    engine = create_engine_for(sql_url)
    try:
        yield Registry(engine)
    finally:
        engine.dispose()
