"""Publishing the permits and targets in force: from the rule files to a real SQL store."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from tests.rules.conftest import rule_set, wait_for

from rules.in_force import Publisher, snapshot
from store.sql import PermitInForce, RulesInForce, create_engine_for, migrate

RULES = """
version: "2026.1"
permits:
  - {scope: {site: site-hengtong-east}, metric: pm10, window: day, limit: 120,
     effective_from: 2026-01-01, reference: "permit 91371500MA3C"}
rules:
  - {id: pm25-spike, kind: threshold, metric: pm25, above: 150, for: 2m}
  - {id: hengtong-energy, kind: energy_intensity, window: month, target: 1.8,
     scope: {enterprise: ent-hengtong-al}}
  - {id: chiping-pm25, kind: annual_target, metric: pm25, level: county, scope: {county: chiping},
     baseline: {year: 2020, value: 52}, target: {year: 2030, value: 35}, margin: 2}
  - {id: off-energy, kind: energy_intensity, window: day, target: 3, enabled: false}
"""
T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def test_snapshot_holds_every_permit_and_the_enabled_target_rules():
    permits, targets = snapshot([rule_set(RULES, "city.yaml")])

    [permit] = permits
    assert (permit.enterprise_id, permit.site_id, permit.limit) == (
        None,
        "site-hengtong-east",
        120.0,
    )
    assert (permit.effective_from, permit.effective_until) == (date(2026, 1, 1), None)
    assert (permit.reference, permit.rule_file) == ("permit 91371500MA3C", "city.yaml")
    assert permit.file_version.startswith("2026.1+")
    energy, annual = targets
    assert (energy.rule_id, energy.kind, energy.level, energy.enterprise_id) == (
        "hengtong-energy",
        "energy_intensity",
        "enterprise",
        "ent-hengtong-al",
    )
    assert (energy.metric, energy.window, energy.target_value) == (
        "energy_import_delta",
        "month",
        1.8,
    )
    assert (annual.kind, annual.level, annual.county_id, annual.window) == (
        "annual_target",
        "county",
        "chiping",
        "year",
    )
    assert (annual.baseline_year, annual.baseline_value) == (2020, 52.0)
    assert (annual.target_year, annual.target_value, annual.margin) == (2030, 35.0, 2.0)


@pytest.mark.integration
def test_the_service_publishes_its_rule_files_and_replaces_them_when_edited(
    tmp_path, rules_service, city_sql: Engine
):
    rule_file = tmp_path / "city.yaml"
    rule_file.write_text(RULES)
    in_force = RulesInForce(city_sql)

    rules_service.start([rule_file])

    [permit] = in_force.permits(site_id="site-hengtong-east")
    assert (permit.limit, permit.rule_file) == (120.0, "city.yaml")
    assert [t.rule_id for t in in_force.targets()] == ["hengtong-energy", "chiping-pm25"]
    first = in_force.published_at()

    edited = RULES.replace('"2026.1"', '"2026.2"').replace("limit: 120", "limit: 100")
    rule_file.write_text(edited.replace("target: 1.8", "target: 1.6"))
    wait_for(lambda: in_force.permits()[0].limit == 100.0)

    [permit] = in_force.permits()
    assert permit.file_version.startswith("2026.2+")
    energy = in_force.targets(enterprise_id="ent-hengtong-al")[0]
    assert (energy.rule_id, energy.target_value) == ("hengtong-energy", 1.6)
    assert len(in_force.targets()) == 2  # replaced, not added to
    published = in_force.published_at()
    assert first is not None
    assert published is not None
    assert published >= first


def test_a_failed_publication_stays_pending_and_is_published_later(empty_sqlite_url):
    engine = create_engine_for(empty_sqlite_url)  # no tables yet: the store refuses
    publisher = Publisher(RulesInForce(engine), clock=lambda: T0)
    try:
        assert (publisher.publish([rule_set(RULES)]), publisher.pending) == (False, True)

        migrate(empty_sqlite_url)
        assert (publisher.publish(None), publisher.pending) == (True, False)

        assert RulesInForce(engine).permits() == [
            PermitInForce(
                None,
                "site-hengtong-east",
                "pm10",
                "day",
                120.0,
                date(2026, 1, 1),
                None,
                "permit 91371500MA3C",
                "rules.yaml",
                rule_set(RULES).version,
            )
        ]
        assert RulesInForce(engine).published_at() == T0
    finally:
        engine.dispose()
