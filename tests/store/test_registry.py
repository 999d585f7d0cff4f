"""The registry on real SQLite and PostgreSQL databases.

The city below is a slice of Liaocheng: an enterprise in the Liaocheng Economic and
Technological Development Zone, one standing alone in Linqing, their sites and gateways.
"""

import dataclasses
import math
import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import StatementError

from store.sql import (
    CountyRecord,
    DuplicateError,
    EnterpriseRecord,
    InvalidRecordError,
    NotFoundError,
    ParkRecord,
    Placement,
    RecordKind,
    Registry,
    SiteRecord,
    UnknownGatewayError,
    create_engine_for,
    session_factory,
)
from store.sql.models import Gateway


def build_city(registry: Registry) -> None:
    registry.add_county("dongchangfu", name="Dongchangfu District", name_zh="东昌府区")
    registry.add_county("linqing", name="Linqing City", name_zh="临清市")
    registry.add_park(
        "lc-etdz",
        name="Liaocheng Economic and Technological Development Zone",
        name_zh="聊城经济技术开发区",
        county_id="dongchangfu",
    )
    registry.add_enterprise(
        "ent-xinfa",
        name="Xinfa Aluminium",
        name_zh="信发铝业",
        park_id="lc-etdz",
        county_id="dongchangfu",
    )
    registry.add_enterprise("ent-bearing", name="Linqing Bearing Works", county_id="linqing")
    registry.add_site(
        "site-xinfa-boiler",
        name="1号锅炉烟囱",
        enterprise_id="ent-xinfa",
        latitude=36.4567,
        longitude=115.9853,
    )
    registry.add_site("site-xinfa-fence", name="厂界东侧", enterprise_id="ent-xinfa")
    registry.add_site("site-bearing-shop", name="Forge shop", enterprise_id="ent-bearing")
    registry.add_gateway("gw-0001", site_id="site-xinfa-boiler")
    registry.add_gateway("gw-0002", site_id="site-xinfa-fence")
    registry.add_gateway("gw-0003", site_id="site-bearing-shop")


CITY_WRITES = 11

XINFA_BOILER = Placement(
    gateway="gw-0001",
    site="site-xinfa-boiler",
    enterprise="ent-xinfa",
    park="lc-etdz",
    county="dongchangfu",
)
XINFA_FENCE = Placement("gw-0002", "site-xinfa-fence", "ent-xinfa", "lc-etdz", "dongchangfu")
BEARING_SHOP = Placement("gw-0003", "site-bearing-shop", "ent-bearing", None, "linqing")


@pytest.fixture
def city(registry):
    build_city(registry)
    return registry


# --- round trips ----------------------------------------------------------------------------


def test_records_come_back_as_written_with_chinese_names(city):
    assert city.get_county("dongchangfu") == CountyRecord(
        "dongchangfu", "Dongchangfu District", "东昌府区"
    )
    assert city.get_park("lc-etdz") == ParkRecord(
        "lc-etdz",
        "Liaocheng Economic and Technological Development Zone",
        "聊城经济技术开发区",
        "dongchangfu",
    )
    assert city.get_enterprise("ent-xinfa") == EnterpriseRecord(
        "ent-xinfa", "Xinfa Aluminium", "信发铝业", "lc-etdz", "dongchangfu"
    )
    assert city.get_enterprise("ent-bearing") == EnterpriseRecord(
        "ent-bearing", "Linqing Bearing Works", None, None, "linqing"
    )
    assert city.get_site("site-xinfa-boiler") == SiteRecord(
        "site-xinfa-boiler", "1号锅炉烟囱", "ent-xinfa", 36.4567, 115.9853
    )
    assert city.get_site("site-xinfa-fence") == SiteRecord(
        "site-xinfa-fence", "厂界东侧", "ent-xinfa", None, None
    )


def test_names_are_measured_in_characters_not_bytes(registry):
    # 200 Chinese characters are 600 bytes of UTF-8; the limit is on characters everywhere.
    long_name = "聊" * 200
    registry.add_county("c", name="C", name_zh=long_name)

    assert registry.get_county("c").name_zh == long_name

    with pytest.raises(InvalidRecordError) as caught:
        registry.add_county("d", name="D", name_zh=long_name + "城")
    assert (caught.value.kind, caught.value.identifier, caught.value.field) == (
        RecordKind.COUNTY,
        "d",
        "name_zh",
    )


def test_characters_outside_the_basic_plane_survive(registry):
    registry.add_county("c", name="C", name_zh="𠮷野县")

    assert registry.get_county("c").name_zh == "𠮷野县"


def test_coordinates_on_the_edges_of_the_globe_are_accepted(registry):
    registry.add_county("c", name="C", name_zh="县")
    registry.add_enterprise("e", name="E", county_id="c")
    registry.add_site("north-east", name="NE", enterprise_id="e", latitude=90, longitude=180)
    registry.add_site("south-west", name="SW", enterprise_id="e", latitude=-90, longitude=-180)

    assert registry.get_site("north-east").latitude == 90.0
    assert registry.get_site("south-west").longitude == -180.0


def test_list_sites_orders_by_id_and_filters_by_enterprise(city):
    assert [site.id for site in city.list_sites()] == [
        "site-bearing-shop",
        "site-xinfa-boiler",
        "site-xinfa-fence",
    ]
    assert [site.id for site in city.list_sites(enterprise_id="ent-xinfa")] == [
        "site-xinfa-boiler",
        "site-xinfa-fence",
    ]
    assert city.list_sites(enterprise_id="nobody") == []


def test_empty_registry_has_no_sites_and_no_placements(registry):
    assert registry.list_sites() == []
    assert registry.placements() == {}


# --- placements ---------------------------------------------------------------------------


def test_placement_of_a_gateway_in_a_park(city):
    assert city.placement("gw-0001") == XINFA_BOILER


def test_placement_of_a_gateway_outside_any_park(city):
    assert city.placement("gw-0003") == BEARING_SHOP


def test_placements_hold_every_gateway(city):
    assert city.placements() == {
        "gw-0001": XINFA_BOILER,
        "gw-0002": XINFA_FENCE,
        "gw-0003": BEARING_SHOP,
    }


def test_a_moved_gateway_is_placed_at_its_new_site_and_the_version_moves(city):
    before = city.version()
    city.move_gateway("gw-0003", site_id="site-xinfa-fence")
    assert city.placement("gw-0003") == dataclasses.replace(XINFA_FENCE, gateway="gw-0003")
    assert city.version() == before + 1
    with pytest.raises(NotFoundError):
        city.move_gateway("gw-0003", site_id="no-such-site")
    with pytest.raises(UnknownGatewayError):
        city.move_gateway("gw-9999", site_id="site-xinfa-fence")
    assert city.placement("gw-0003") == dataclasses.replace(XINFA_FENCE, gateway="gw-0003")


def test_unknown_gateway_is_a_typed_not_found(city):
    with pytest.raises(UnknownGatewayError) as caught:
        city.placement("gw-9999")

    assert caught.value.gateway_id == "gw-9999"
    assert isinstance(caught.value, NotFoundError)
    assert (caught.value.kind, caught.value.identifier) == (RecordKind.GATEWAY, "gw-9999")


@pytest.mark.parametrize(
    ("kind", "lookup", "identifier"),
    [
        (RecordKind.COUNTY, Registry.get_county, "nowhere"),
        (RecordKind.PARK, Registry.get_park, "nowhere"),
        (RecordKind.ENTERPRISE, Registry.get_enterprise, "nobody"),
        (RecordKind.SITE, Registry.get_site, "nowhere"),
    ],
)
def test_unknown_records_are_typed_not_found(city, kind, lookup, identifier):
    with pytest.raises(NotFoundError) as caught:
        lookup(city, identifier)

    assert (caught.value.kind, caught.value.identifier) == (kind, identifier)


# --- refused writes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "identifier", "write"),
    [
        (RecordKind.COUNTY, "linqing", lambda r: r.add_county("linqing", name="X", name_zh="某")),
        (
            RecordKind.PARK,
            "lc-etdz",
            lambda r: r.add_park("lc-etdz", name="X", name_zh="某", county_id="linqing"),
        ),
        (
            RecordKind.ENTERPRISE,
            "ent-xinfa",
            lambda r: r.add_enterprise("ent-xinfa", name="X", county_id="linqing"),
        ),
        (
            RecordKind.SITE,
            "site-xinfa-fence",
            lambda r: r.add_site("site-xinfa-fence", name="X", enterprise_id="ent-bearing"),
        ),
        (
            RecordKind.GATEWAY,
            "gw-0001",
            lambda r: r.add_gateway("gw-0001", site_id="site-bearing-shop"),
        ),
    ],
)
def test_duplicates_are_refused_and_change_nothing(city, kind, identifier, write):
    before = (city.version(), city.placements(), city.list_sites())

    with pytest.raises(DuplicateError) as caught:
        write(city)

    assert (caught.value.kind, caught.value.identifier) == (kind, identifier)
    assert (city.version(), city.placements(), city.list_sites()) == before


@pytest.mark.parametrize(
    ("kind", "identifier", "write"),
    [
        (
            RecordKind.COUNTY,
            "guanxian",
            lambda r: r.add_park("p-new", name="P", name_zh="园", county_id="guanxian"),
        ),
        (
            RecordKind.COUNTY,
            "guanxian",
            lambda r: r.add_enterprise("e-new", name="E", county_id="guanxian"),
        ),
        (
            RecordKind.PARK,
            "no-park",
            lambda r: r.add_enterprise("e-new", name="E", county_id="linqing", park_id="no-park"),
        ),
        (
            RecordKind.ENTERPRISE,
            "nobody",
            lambda r: r.add_site("s-new", name="S", enterprise_id="nobody"),
        ),
        (RecordKind.SITE, "nowhere", lambda r: r.add_gateway("gw-new", site_id="nowhere")),
    ],
)
def test_missing_parents_are_refused_and_change_nothing(city, kind, identifier, write):
    before = (city.version(), city.placements(), city.list_sites())

    with pytest.raises(NotFoundError) as caught:
        write(city)

    assert (caught.value.kind, caught.value.identifier) == (kind, identifier)
    assert (city.version(), city.placements(), city.list_sites()) == before


def test_enterprise_in_a_park_of_another_county_is_refused(city):
    with pytest.raises(InvalidRecordError) as caught:
        city.add_enterprise("ent-x", name="X", park_id="lc-etdz", county_id="linqing")

    assert (caught.value.kind, caught.value.identifier, caught.value.field) == (
        RecordKind.ENTERPRISE,
        "ent-x",
        "county_id",
    )
    assert "dongchangfu" in caught.value.why
    with pytest.raises(NotFoundError):
        city.get_enterprise("ent-x")


@pytest.mark.parametrize(
    "identifier", ["", "gw/0001", "gw+", "gw#", "-gw", "网关1", "gw 1", "g" * 65]
)
def test_identifiers_that_cannot_be_topic_levels_are_refused(registry, identifier):
    with pytest.raises(InvalidRecordError) as caught:
        registry.add_county(identifier, name="C", name_zh="县")

    assert (caught.value.identifier, caught.value.field) == (identifier, "id")
    assert registry.version() == 0


def test_longest_identifier_is_accepted(registry):
    registry.add_county("c" * 64, name="C", name_zh="县")

    assert registry.get_county("c" * 64).name == "C"


@pytest.mark.parametrize(("field", "name"), [("name", ""), ("name", "   "), ("name", "x" * 201)])
def test_blank_or_overlong_names_are_refused(registry, field, name):
    with pytest.raises(InvalidRecordError) as caught:
        registry.add_county("c", name=name, name_zh="县")

    assert caught.value.field == field


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [
        (90.0001, 115.98, "latitude"),
        (-90.5, 115.98, "latitude"),
        (36.45, 180.01, "longitude"),
        (36.45, -181.0, "longitude"),
        (math.nan, 115.98, "latitude"),
        (36.45, math.inf, "longitude"),
        (36.45, None, "longitude"),
        (None, 115.98, "latitude"),
    ],
)
def test_coordinates_off_the_globe_are_refused(city, latitude, longitude, field):
    with pytest.raises(InvalidRecordError) as caught:
        city.add_site(
            "site-new", name="S", enterprise_id="ent-xinfa", latitude=latitude, longitude=longitude
        )

    assert (caught.value.kind, caught.value.identifier, caught.value.field) == (
        RecordKind.SITE,
        "site-new",
        field,
    )
    with pytest.raises(NotFoundError):
        city.get_site("site-new")


# --- the change marker ----------------------------------------------------------------------


def test_version_counts_every_successful_write(registry):
    assert registry.version() == 0

    build_city(registry)
    assert registry.version() == CITY_WRITES

    registry.add_gateway("gw-0004", site_id="site-bearing-shop")
    assert registry.version() == CITY_WRITES + 1


def test_version_is_shared_by_every_registry_on_the_database(sql_url, city):
    engine = create_engine_for(sql_url)
    try:
        other = Registry(session_factory(engine))
        seen = other.version()

        city.add_gateway("gw-0004", site_id="site-bearing-shop")

        assert other.version() == seen + 1
        assert other.placement("gw-0004") == Placement(
            "gw-0004", "site-bearing-shop", "ent-bearing", None, "linqing"
        )
    finally:
        engine.dispose()


def test_concurrent_writers_of_one_id_get_one_success_and_typed_duplicates(sql_url, city):
    writers = 6
    engine = create_engine_for(sql_url)
    barrier = threading.Barrier(writers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def write() -> None:
        registry = Registry(engine)
        barrier.wait()
        try:
            registry.add_gateway("gw-race", site_id="site-xinfa-fence")
            outcome = "added"
        except DuplicateError:
            outcome = "duplicate"
        with lock:
            outcomes.append(outcome)

    try:
        threads = [threading.Thread(target=write) for _ in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        engine.dispose()

    assert sorted(outcomes) == ["added"] + ["duplicate"] * (writers - 1)
    assert city.version() == CITY_WRITES + 1


# --- timestamps -----------------------------------------------------------------------------


def test_gateway_creation_time_is_stored_and_returned_in_utc(sql_url):
    shanghai = ZoneInfo("Asia/Shanghai")
    installed = datetime(2025, 3, 1, 8, 30, 15, 250000, tzinfo=shanghai)
    engine = create_engine_for(sql_url)
    try:
        registry = Registry(engine, clock=lambda: installed)
        build_city(registry)
        with session_factory(engine)() as session:
            gateway = session.get(Gateway, "gw-0001")
            assert gateway is not None
            created = gateway.created_at
    finally:
        engine.dispose()

    assert created == installed
    assert created.tzinfo is UTC
    assert created == datetime(2025, 3, 1, 0, 30, 15, 250000, tzinfo=UTC)


def test_naive_timestamps_are_refused(sql_url):
    engine = create_engine_for(sql_url)
    try:
        registry = Registry(engine, clock=lambda: datetime(2025, 3, 1, 8, 30))  # noqa: DTZ001
        with pytest.raises(StatementError) as caught:
            registry.add_county("c", name="C", name_zh="县")
        assert isinstance(caught.value.orig, ValueError)
        assert "naive" in str(caught.value.orig)
        assert Registry(engine).version() == 0
    finally:
        engine.dispose()
