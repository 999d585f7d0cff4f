"""The SQL store's schema on real SQLite and PostgreSQL databases: migrations and engines.

The migrations are written by hand, so the one check that keeps them honest is Alembic's own
comparison of a migrated database against the models: it must find nothing to change.
"""

import io

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from store.sql import (
    SchemaVersionError,
    UnsupportedDatabaseError,
    create_engine_for,
    current_revision,
    database_url,
    downgrade,
    head_revision,
    migrate,
    require_current_schema,
)
from store.sql.models import (
    ApiKeyRow,
    Base,
    County,
    Enterprise,
    RegistryVersion,
    Site,
    UserRow,
)
from store.sql.schema import alembic_config

REGISTRY_TABLES = {"counties", "parks", "enterprises", "sites", "gateways", "registry_version"}
DELIVERY_TABLES = {
    "delivery_progress",
    "delivery_stored",
    "delivery_gaps",
    "dead_letters",
    "rule_results",
    "production_output",
}
ALERT_TABLES = {
    "alerts",
    "alert_events",
    "contacts",
    "notifications",
    "notification_alerts",
    "notification_deliveries",
}
BROKER_TABLES = {"broker_accounts"}
ACCOUNT_TABLES = {"users", "api_keys"}
IN_FORCE_TABLES = {"permits_in_force", "targets_in_force"}


@pytest.fixture
def empty_engine(empty_sql_url):
    engine = create_engine_for(empty_sql_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(sql_url):
    engine = create_engine_for(sql_url)
    yield engine
    engine.dispose()


def differences(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def tables(engine):
    return set(inspect(engine).get_table_names())


# --- migrations ---------------------------------------------------------------------------


def test_empty_database_is_at_no_revision_and_lacks_every_table(empty_engine):
    assert current_revision(empty_engine) is None
    # The comparison used below does see a schema that differs from the models.
    missing = {diff[1].name for diff in differences(empty_engine) if diff[0] == "add_table"}
    assert missing == (
        REGISTRY_TABLES
        | DELIVERY_TABLES
        | ALERT_TABLES
        | BROKER_TABLES
        | ACCOUNT_TABLES
        | IN_FORCE_TABLES
    )


def test_upgrade_from_empty_to_head_builds_exactly_the_models(empty_sql_url, empty_engine):
    migrate(empty_sql_url)

    assert current_revision(empty_engine) == head_revision() == "0009"
    assert tables(empty_engine) == (
        REGISTRY_TABLES
        | DELIVERY_TABLES
        | ALERT_TABLES
        | BROKER_TABLES
        | ACCOUNT_TABLES
        | IN_FORCE_TABLES
        | {"alembic_version"}
    )
    assert differences(empty_engine) == []


def test_constraints_get_the_same_names_on_every_database(engine):
    # Batch migrations on SQLite find constraints by name; both databases must agree.
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        assert inspector.get_pk_constraint(table.name)["name"] == f"pk_{table.name}"
        foreign = {fk["name"] for fk in inspector.get_foreign_keys(table.name)}
        assert foreign == {fk.name for fk in table.foreign_key_constraints}
        checks = {ck["name"] for ck in inspector.get_check_constraints(table.name)}
        assert checks == {ck.name for ck in table.constraints if isinstance(ck, CheckConstraint)}
    assert {ck["name"] for ck in inspector.get_check_constraints("sites")} == {
        "ck_sites_latitude_range",
        "ck_sites_longitude_range",
        "ck_sites_coordinates_paired",
    }


def test_migrating_again_changes_nothing(sql_url, engine):
    migrate(sql_url)

    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        counters = connection.execute(select(RegistryVersion.id, RegistryVersion.version)).all()
    assert counters == [(1, 0)]


def test_downgrade_to_base_drops_every_table_and_upgrade_restores_them(sql_url, engine):
    downgrade(sql_url)

    assert tables(engine) <= {"alembic_version"}
    assert current_revision(engine) is None

    migrate(sql_url)
    assert differences(engine) == []


def test_require_current_schema_refuses_a_database_never_migrated(empty_engine):
    with pytest.raises(SchemaVersionError) as caught:
        require_current_schema(empty_engine)

    assert caught.value.found is None
    assert caught.value.expected == head_revision()
    assert "store.sql.migrate" in str(caught.value)


def test_require_current_schema_accepts_a_database_at_head(engine):
    require_current_schema(engine)


@pytest.mark.parametrize("url", ["sqlite://", "postgresql+psycopg://nobody@localhost/nothing"])
def test_offline_mode_renders_the_sql_for_an_administrator(url):
    config = alembic_config(url=url)
    config.output_buffer = io.StringIO()

    command.upgrade(config, "head", sql=True)

    script = config.output_buffer.getvalue()
    assert "CREATE TABLE counties" in script
    assert "CONSTRAINT ck_sites_latitude_range CHECK (latitude BETWEEN -90 AND 90)" in script
    assert "INSERT INTO registry_version" in script


# --- what the database itself guarantees --------------------------------------------------


def test_database_refuses_a_row_whose_parent_is_missing(engine):
    # On SQLite this holds only because every connection switches foreign keys on.
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(Site).values(id="s-1", name="stack", enterprise_id="nobody"))


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [(90.5, 116.0), (-91.0, 116.0), (36.45, 180.5), (36.45, -181.0), (36.45, None), (None, 116.0)],
)
def test_database_refuses_coordinates_off_the_globe(engine, latitude, longitude):
    with engine.begin() as connection:
        connection.execute(insert(County).values(id="c", name="Dongchangfu", name_zh="东昌府区"))
        connection.execute(insert(Enterprise).values(id="e", name="Works", county_id="c"))

    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            insert(Site).values(
                id="s", name="stack", enterprise_id="e", latitude=latitude, longitude=longitude
            )
        )

    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Site)).scalar_one() == 0


def test_registry_version_keeps_a_single_row(engine):
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            insert(RegistryVersion).values(id=2, version=0, changed_at=func.current_timestamp())
        )


@pytest.mark.parametrize(
    ("role", "enterprise_id"),
    [
        ("enterprise_user", None),
        ("bureau_admin", "e"),
        ("bureau_viewer", "e"),
        ("root", None),
        ("enterprise_user", "nobody"),
    ],
)
@pytest.mark.parametrize("table", [UserRow, ApiKeyRow])
def test_database_refuses_an_account_whose_enterprise_does_not_fit_its_role(
    engine, table, role, enterprise_id
):
    with engine.begin() as connection:
        connection.execute(insert(County).values(id="c", name="Dongchangfu", name_zh="东昌府区"))
        connection.execute(insert(Enterprise).values(id="e", name="Works", county_id="c"))
    now = func.current_timestamp()
    if table is UserRow:
        values = {"username": "u", "display_name": "U", "password_hash": "x", "active": True}
    else:
        values = {"name": "k", "prefix": "p", "key_hash": "0" * 64}

    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            insert(table).values(role=role, enterprise_id=enterprise_id, created_at=now, **values)
        )

    with engine.begin() as connection:  # the same row with a fitting scope is accepted
        fitting = "e" if role == "enterprise_user" else None
        connection.execute(
            insert(table).values(
                role="enterprise_user" if fitting else "bureau_admin",
                enterprise_id=fitting,
                created_at=now,
                **values,
            )
        )
        assert connection.execute(select(func.count()).select_from(table)).scalar_one() == 1


def test_downgrading_the_accounts_keeps_the_alerts(sql_url, engine):
    downgrade(sql_url, "0006")

    assert current_revision(engine) == "0006"
    assert tables(engine) == (
        REGISTRY_TABLES | DELIVERY_TABLES | ALERT_TABLES | {"alembic_version"}
    )
    migrate(sql_url)
    assert differences(engine) == []


# --- engines ------------------------------------------------------------------------------


def test_sqlite_file_database_has_foreign_keys_and_wal_journal(sqlite_url):
    engine = create_engine_for(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    finally:
        engine.dispose()


def test_sqlite_memory_database_has_foreign_keys_and_no_wal():
    engine = create_engine_for("sqlite://")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "memory"
    finally:
        engine.dispose()


def test_postgresql_url_without_driver_means_psycopg():
    assert database_url("postgresql://u@db.example/lantian").drivername == "postgresql+psycopg"
    assert database_url("postgresql+psycopg://u@db/x").drivername == "postgresql+psycopg"
    assert database_url("sqlite:///var/lantian.sqlite3").drivername == "sqlite"


def test_other_databases_are_refused_without_echoing_the_password():
    with pytest.raises(UnsupportedDatabaseError) as caught:
        create_engine_for("mysql://lantian:s3cret@db.example/lantian")

    assert caught.value.dialect == "mysql"
    assert "s3cret" not in str(caught.value)
