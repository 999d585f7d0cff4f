"""Bringing a database's schema to this code's revision: Alembic, run from code.

The migrations ship inside the package (``store/sql/migrations``) and are found as a package
resource, so an installed wheel migrates a database with no ``alembic.ini`` and no checkout:
``store.sql.migrate(url)`` at deploy time, or by a service's ``main()`` before it starts.
A service that must not migrate on its own calls :func:`require_current_schema` instead and
refuses to start against a database that is behind (or ahead of) the code.
"""

from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from store.sql.engine import create_engine_for
from store.sql.errors import SchemaVersionError

# "package:folder" makes Alembic look the folder up with importlib.resources.
SCRIPT_LOCATION: Final = "store.sql:migrations"


def alembic_config(*, url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic configuration for the store's migrations, built without an ini file.

    Args:
        url: the database to work on; only needed when no ``connection`` is given, for offline
            (``sql=True``) runs that render SQL instead of executing it.
        connection: an open connection the migrations run on, inside its transaction.
    """
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("path_separator", "os")
    if url is not None:
        # The ini-style option parser treats "%" as interpolation; URL-encoded passwords have it.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (the newest by default).

    Running it on a database already at ``revision`` changes nothing, so deploy scripts and
    services can call it every time.
    """
    engine = create_engine_for(url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection=connection), revision)
    finally:
        engine.dispose()


def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the database at ``url`` to ``revision``; ``"base"`` drops every table.

    Data in dropped tables is lost: this is for development and for rolling back a release
    whose migration has not yet been used for real data.
    """
    engine = create_engine_for(url)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection=connection), revision)
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest revision of the migrations shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only possible with an empty versions folder, i.e. a broken install
        raise RuntimeError(f"no migrations found at {SCRIPT_LOCATION}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; ``None`` when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_current_schema(engine: Engine) -> None:
    """Raise unless the database is exactly at this code's head revision.

    Raises:
        SchemaVersionError: carrying the revision found and the one expected.
    """
    expected = head_revision()
    found = current_revision(engine)
    if found != expected:
        raise SchemaVersionError(found, expected)
