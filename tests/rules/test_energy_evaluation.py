"""Energy intensity against real InfluxDB and real SQL stores (SQLite and PostgreSQL)."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from devstack.city import CITY, register
from rules.energy import COMPLIANT, EXCEEDING, INSUFFICIENT, EnergyEvaluator, Period
from rules.files import parse_rule_file
from standards import day_bounds
from store.influx import InfluxStore
from store.readings import reading_points
from store.sql import (
    Placement,
    ProductionPeriod,
    ProductionStore,
    Registry,
    RuleResults,
    create_engine_for,
)
from telemetry import Quality, Reading
from telemetry.yaml_source import parse

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
SITES = {sim.site: sim for sim in CITY}
HENGTONG = Placement(
    "gw-0001", "site-hengtong-east", "ent-hengtong-al", "xinfa-materials", "chiping"
)
QINGYUAN = Placement(
    "gw-0002", "site-qingyuan-stack", "ent-qingyuan-cu", "xiangguang-eco", "yanggu"
)
SHUICHENG = Placement("gw-0006", "site-shuicheng-yard", "ent-shuicheng-print", None, "dongchangfu")

RULES = """
version: "2026.1"
rules:
  - {id: ei-daily, kind: energy_intensity, window: day, target: 2.0, severity: major}
  - {id: ei-monthly, kind: energy_intensity, window: month, target: 2.0}
"""


class CountingInflux(InfluxStore):
    """The real store, counting the statements the evaluator sends."""

    queries: list[str]

    def query(self, influxql, *, params=None):
        self.queries.append(influxql)
        return super().query(influxql, params=params)


@pytest.fixture
def counting(influx):
    store = CountingInflux(influx.url, influx.database, timeout=60)
    store.queries = []
    yield store
    store.close()


@pytest.fixture
def engine(sql_url):
    engine = create_engine_for(sql_url)
    register(Registry(engine), [SITES[p.site] for p in (HENGTONG, QINGYUAN, SHUICHENG)])
    yield engine
    engine.dispose()


@pytest.fixture
def production(engine):
    return ProductionStore(engine)


@pytest.fixture
def results(engine):
    return RuleResults(engine)


@pytest.fixture
def evaluator(counting, results, engine, production):
    return EnergyEvaluator(counting, results, Registry(engine), production, clock=lambda: NOW)


def rules(text=RULES):
    return [parse_rule_file(Path("energy.yaml"), text.encode(), parse(text))]


def write_minutes(
    influx,
    placement,
    value,
    *,
    first=DAY,
    skip=0,
    minutes=1440,
    device="meter-1",
    metric="energy_import_delta",
    quality=Quality.NORMAL,
):
    """One aggregate per minute, ``skip`` minutes after the start of ``first`` on."""
    start = day_bounds(first).start_ms + skip * 60_000
    readings = [
        Reading(
            device=device,
            metric=metric,
            value=value,
            ts=start + n * 60_000,
            quality=quality,
            count=1,
            valid=True,
            interval_s=60,
        )
        for n in range(minutes)
    ]
    influx.write(reading_points(placement, readings))


def submit(production, enterprise, quantity, *, day=DAY, at=NOW, period=ProductionPeriod.DAY):
    return production.submit(enterprise, period, day, quantity, "t", submitted_at=at)


def by_subject(recorded):
    return {r.result.subject: r for r in recorded}


@pytest.fixture
def city_day(influx, production):
    # Hengtong: 5 kWh a minute, an hour of it under maintenance (M): 7200 kWh = 884.88 kgce.
    write_minutes(influx, HENGTONG, 5.0, minutes=1380)
    write_minutes(influx, HENGTONG, 5.0, skip=1380, minutes=60, quality=Quality.MAINTENANCE)
    # Qingyuan: two meters of 2 kWh a minute: 5760 kWh = 707.904 kgce.
    write_minutes(influx, QINGYUAN, 2.0)
    write_minutes(influx, QINGYUAN, 2.0, device="meter-2")
    # Shuicheng: energy, but no production submitted.
    write_minutes(influx, SHUICHENG, 1.0)
    submit(production, "ent-hengtong-al", 400.0)
    submit(production, "ent-qingyuan-cu", 600.0)


def test_a_day_is_exceeding_compliant_or_insufficient_per_enterprise(evaluator, counting, city_day):
    recorded = by_subject(evaluator.run(rules(), [Period.day(DAY)]))

    assert len(counting.queries) == 1  # one statement for every enterprise of the window
    hengtong = recorded["enterprise:ent-hengtong-al"].result
    qingyuan = recorded["enterprise:ent-qingyuan-cu"].result
    shuicheng = recorded["enterprise:ent-shuicheng-print"].result
    assert (hengtong.outcome, hengtong.value, hengtong.limit) == (EXCEEDING, 2.2122, 2.0)
    assert (qingyuan.outcome, qingyuan.value) == (COMPLIANT, 1.17984)
    assert (shuicheng.outcome, shuicheng.value) == (INSUFFICIENT, None)
    assert shuicheng.evidence["reason"] == "no output reported"


def test_a_result_records_its_evidence_versions_and_placement(evaluator, city_day):
    [hengtong] = [
        r.result
        for r in evaluator.run(rules(), [Period.day(DAY)])
        if r.result.subject == "enterprise:ent-hengtong-al"
    ]

    assert hengtong.rule_version.startswith("2026.1+")
    assert hengtong.standard == "GB/T 2589-2020"
    assert (hengtong.county, hengtong.park, hengtong.enterprise, hengtong.site) == (
        "chiping",
        "xinfa-materials",
        "ent-hengtong-al",
        None,
    )
    assert hengtong.window_start == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert hengtong.window_end == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    assert hengtong.severity == "major"
    evidence = hengtong.evidence
    assert evidence["energy"] == {
        "quantity": 7200.0,
        "unit": "kWh",
        "coverage": {"site-hengtong-east/meter-1": 1.0},
        "by_flag": {"M": 300.0, "N": 6900.0},
    }
    assert evidence["kgce"] == 884.88
    assert evidence["coefficient"]["value"] == 0.1229
    assert evidence["coefficient"]["version"] == "GB/T 2589-2020"
    assert evidence["output"]["quantity"] == 400.0
    assert evidence["output"]["unit"] == "t"
    assert evidence["target"] == 2.0


def test_a_corrected_output_makes_a_new_revision_and_unchanged_data_none(
    evaluator, production, city_day
):
    first = by_subject(evaluator.run(rules(), [Period.day(DAY)]))
    submit(production, "ent-hengtong-al", 500.0, at=NOW + timedelta(hours=1))

    corrected = by_subject(evaluator.run(rules(), [Period.day(DAY)]))
    again = by_subject(evaluator.run(rules(), [Period.day(DAY)]))

    hengtong = "enterprise:ent-hengtong-al"
    assert first[hengtong].result.revision == 1
    assert corrected[hengtong].changed
    assert (corrected[hengtong].result.outcome, corrected[hengtong].result.value) == (
        COMPLIANT,
        1.76976,
    )
    assert corrected[hengtong].result.revision == 2
    assert not corrected["enterprise:ent-qingyuan-cu"].changed
    assert not any(r.changed for r in again.values())
    assert again[hengtong].result.revision == 2


def test_zero_output_is_never_compared(evaluator, production, city_day):
    submit(production, "ent-qingyuan-cu", 0.0, at=NOW + timedelta(hours=1))

    recorded = by_subject(evaluator.run(rules(), [Period.day(DAY)]))

    qingyuan = recorded["enterprise:ent-qingyuan-cu"].result
    assert (qingyuan.outcome, qingyuan.evidence["reason"]) == (INSUFFICIENT, "zero output")


def test_an_enterprise_without_energy_data_is_insufficient(evaluator, influx, production):
    write_minutes(influx, HENGTONG, 5.0)
    submit(production, "ent-qingyuan-cu", 600.0)

    recorded = by_subject(evaluator.run(rules(), [Period.day(DAY)]))

    qingyuan = recorded["enterprise:ent-qingyuan-cu"].result
    assert (qingyuan.outcome, qingyuan.evidence["reason"]) == (INSUFFICIENT, "no energy data")


def test_readings_outside_the_local_day_are_not_counted(evaluator, influx, production):
    write_minutes(influx, HENGTONG, 5.0)
    write_minutes(influx, HENGTONG, 1000.0, first=DAY + timedelta(days=1), minutes=10)
    write_minutes(influx, HENGTONG, 1000.0, first=DAY - timedelta(days=1), minutes=10)
    submit(production, "ent-hengtong-al", 442.44)

    recorded = by_subject(evaluator.run(rules(), [Period.day(DAY)]))

    result = recorded["enterprise:ent-hengtong-al"].result

    assert result.evidence["energy"]["quantity"] == 7200.0
    assert (result.outcome, result.value) == (COMPLIANT, 2.0)


def test_a_scope_keeps_the_enterprises_it_names(evaluator, city_day):
    text = RULES.replace("severity: major}", "severity: major, scope: {county: yanggu}}")

    recorded = evaluator.run(rules(text), [Period.day(DAY)])

    assert [r.result.subject for r in recorded] == ["enterprise:ent-qingyuan-cu"]


def test_output_counted_by_a_metric_replaces_submitted_output(evaluator, influx, city_day):
    text = """
rules:
  - {id: ei-metered, kind: energy_intensity, window: day, target: 2.0,
     output_metric: energy_export_delta, scope: {enterprise: ent-qingyuan-cu}}
"""
    write_minutes(influx, QINGYUAN, 0.25, device="counter-1", metric="energy_export_delta")

    [recorded] = evaluator.run(rules(text), [Period.day(DAY)])

    assert recorded.result.evidence["output"]["source"] == "metric:energy_export_delta"
    assert recorded.result.evidence["output"]["quantity"] == 360.0
    assert (recorded.result.outcome, recorded.result.value) == (COMPLIANT, 1.9664)


def test_a_month_is_judged_on_the_months_figure(evaluator, influx, production):
    write_minutes(influx, HENGTONG, 5.0, first=date(2026, 11, 1), minutes=30 * 1440)
    submit(
        production,
        "ent-hengtong-al",
        12_000.0,
        day=date(2026, 11, 1),
        period=ProductionPeriod.MONTH,
    )

    recorded = evaluator.run(rules(), [Period.month(2026, 11), Period.day(DAY)])

    outcomes = {(r.result.rule, r.result.subject): r.result for r in recorded}
    month = outcomes["ei-monthly", "enterprise:ent-hengtong-al"]
    day = outcomes["ei-daily", "enterprise:ent-hengtong-al"]
    # 216 000 kWh = 26 546.4 kgce over 12 000 t.
    assert (month.outcome, month.value) == (EXCEEDING, 2.2122)
    assert month.evidence["output"]["days_covered"] == 30
    assert (day.outcome, day.evidence["reason"]) == (INSUFFICIENT, "no output reported")
