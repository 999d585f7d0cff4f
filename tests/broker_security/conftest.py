"""A small registry for the broker's accounts: two enterprises, each with one gateway."""

import pytest

from store.sql import Registry, create_engine_for

# Two gateways at two enterprises: the ACL must keep each to its own topics.
GATEWAYS = {"gw-0001": "e-shiye", "gw-0002": "e-huagong"}


def register_city(registry: Registry) -> None:
    registry.add_county("dongchangfu", name="Dongchangfu District", name_zh="东昌府区")
    for gateway, enterprise in GATEWAYS.items():
        registry.add_enterprise(enterprise, name=enterprise.title(), county_id="dongchangfu")
        registry.add_site(f"s-{gateway}", name="stack", enterprise_id=enterprise)
        registry.add_gateway(gateway, site_id=f"s-{gateway}")


@pytest.fixture
def engine(sql_url: str):
    """An engine on a migrated database (SQLite, then PostgreSQL) holding the small city."""
    engine = create_engine_for(sql_url)
    register_city(Registry(engine))
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str):
    """The small city on SQLite alone, for tests whose subject is not the database."""
    engine = create_engine_for(sqlite_url)
    register_city(Registry(engine))
    yield engine
    engine.dispose()
