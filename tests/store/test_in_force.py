"""The permits and targets in force on SQLite and PostgreSQL: one replace, filtered reads."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from store.sql import PermitInForce, Registry, RulesInForce, TargetInForce, create_engine_for
from store.sql.models import PermitInForceRow, TargetInForceRow

T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def engine(sql_url):
    engine = create_engine_for(sql_url)
    registry = Registry(engine)
    registry.add_county("chiping", name="Chiping", name_zh="茌平区")
    registry.add_county("yanggu", name="Yanggu", name_zh="阳谷县")
    registry.add_park("xinfa", name="Xinfa", name_zh="信发园区", county_id="chiping")
    registry.add_enterprise("ent-a", name="A Aluminium", county_id="chiping", park_id="xinfa")
    registry.add_enterprise("ent-b", name="B Copper", county_id="yanggu")
    registry.add_site("site-a1", name="A east", enterprise_id="ent-a")
    registry.add_site("site-a2", name="A west", enterprise_id="ent-a")
    registry.add_site("site-b1", name="B stack", enterprise_id="ent-b")
    yield engine
    engine.dispose()


@pytest.fixture
def in_force(engine):
    return RulesInForce(engine)


def permit(enterprise=None, site=None, *, since=date(2026, 1, 1), until=None, limit=120.0):
    return PermitInForce(
        enterprise, site, "pm10", "day", limit, since, until, "permit 1", "city.yaml", "1+ab"
    )


def target(rule_id, *, county=None, park=None, enterprise=None, site=None, annual=False):
    if annual:
        return TargetInForce(
            rule_id, "annual_target", "county", county, park, enterprise, site, "pm25", "year",
            35.0, "city.yaml", "1+ab", baseline_year=2020, baseline_value=50.0,
            target_year=2030, margin=2.0,
        )  # fmt: skip
    return TargetInForce(
        rule_id, "energy_intensity", "enterprise", county, park, enterprise, site,
        "energy_import_delta", "month", 1.5, "city.yaml", "1+ab",
    )  # fmt: skip


def test_nothing_is_in_force_before_the_first_publication(in_force):
    assert (in_force.permits(), in_force.targets(), in_force.published_at()) == ([], [], None)


def test_replace_stores_the_snapshot_and_a_second_replaces_it_whole(in_force):
    first = [permit("ent-a"), permit(site="site-b1", limit=80.0)]
    goals = [target("energy", enterprise="ent-a"), target("pm25-2030", annual=True)]
    in_force.replace(first, goals, T0)

    assert in_force.permits() == first
    assert in_force.targets() == goals
    assert in_force.published_at() == T0

    later = T0 + timedelta(hours=1)
    in_force.replace([permit("ent-b", limit=60.0)], [], later)

    assert in_force.permits() == [permit("ent-b", limit=60.0)]
    assert in_force.targets() == []
    assert in_force.published_at() == later


def test_permits_are_filtered_by_enterprise_site_and_day(in_force):
    whole_a = permit("ent-a")
    east = permit(site="site-a1", limit=100.0)
    expired = permit(site="site-a2", since=date(2025, 1, 1), until=date(2025, 12, 31))
    of_b = permit("ent-b")
    in_force.replace([whole_a, east, expired, of_b], [], T0)

    assert set(in_force.permits(enterprise_id="ent-a")) == {whole_a, east, expired}
    assert set(in_force.permits(site_id="site-a1")) == {whole_a, east}
    assert set(in_force.permits(site_id="site-a2")) == {whole_a, expired}
    on = date(2026, 3, 1)
    assert set(in_force.permits(enterprise_id="ent-a", in_force_on=on)) == {whole_a, east}
    assert in_force.permits(enterprise_id="ent-a", in_force_on=date(2025, 12, 31)) == [expired]
    assert in_force.permits(enterprise_id="ent-b", site_id="site-a1") == []


def test_targets_of_an_enterprise_are_those_whose_every_named_level_agrees(in_force):
    city = target("city-pm25", annual=True)
    chiping = target("chiping-pm25", county="chiping", annual=True)
    yanggu = target("yanggu-pm25", county="yanggu", annual=True)
    xinfa = target("xinfa-energy", park="xinfa")
    own = target("a-energy", enterprise="ent-a")
    own_site = target("a1-pm25", site="site-a1", annual=True)
    of_b = target("b-energy", enterprise="ent-b")
    in_force.replace([], [city, chiping, yanggu, xinfa, own, own_site, of_b], T0)

    assert set(in_force.targets(enterprise_id="ent-a")) == {city, chiping, xinfa, own, own_site}
    assert set(in_force.targets(enterprise_id="ent-b")) == {city, yanggu, of_b}
    assert len(in_force.targets()) == 7


def test_a_failed_replace_keeps_the_snapshot_before_it(in_force):
    in_force.replace([permit("ent-a")], [], T0)
    nameless = permit()  # names neither an enterprise nor a site: the database refuses it

    with pytest.raises(IntegrityError):
        in_force.replace([permit("ent-b"), nameless], [], T0 + timedelta(hours=1))

    assert in_force.permits() == [permit("ent-a")]
    assert in_force.published_at() == T0


def test_the_database_refuses_an_annual_target_without_its_years(engine):
    values = target("pm25", annual=True)
    row = {
        "rule_id": values.rule_id, "kind": "annual_target", "level": "city", "metric": "pm25",
        "window": "year", "target_value": 35.0, "rule_file": "x.yaml", "file_version": "1",
        "published_at": T0,
    }  # fmt: skip
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(TargetInForceRow).values(**row))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            insert(PermitInForceRow).values(
                metric="pm10", window="day", limit_value=-1.0, effective_from=date(2026, 1, 1),
                reference="", rule_file="x.yaml", file_version="1", published_at=T0,
                enterprise_id="ent-a",
            )
        )  # fmt: skip
