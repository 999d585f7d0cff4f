"""Annual targets against real InfluxDB and real SQL stores (SQLite and PostgreSQL)."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from devstack.city import CITY, register
from rules.annual_means import read_site_days
from rules.files import parse_rule_file
from rules.targets import ON_TRACK, PROJECTED_MISS, TargetEvaluator
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

JAN1 = date(2026, 1, 1)
NOW = datetime(2026, 1, 4, 1, 0, tzinfo=UTC)
SITES = {sim.site: sim for sim in CITY}
HENGTONG = Placement(
    "gw-0001", "site-hengtong-east", "ent-hengtong-al", "xinfa-materials", "chiping"
)
QINGYUAN = Placement(
    "gw-0002", "site-qingyuan-stack", "ent-qingyuan-cu", "xiangguang-eco", "yanggu"
)
SHUICHENG = Placement("gw-0006", "site-shuicheng-yard", "ent-shuicheng-print", None, "dongchangfu")

# 71 µg/m³ in 2017 (Liaocheng 2018-2022 plan) to 35 in 2030: 46.076923 allowed in 2026.
PM25_RULES = """
version: "2026.1"
rules:
  - {id: pm25-sites, kind: annual_target, metric: pm25, level: site,
     baseline: {year: 2017, value: 71}, target: {year: 2030, value: 35}}
  - {id: pm25-city, kind: annual_target, metric: pm25, level: city,
     baseline: {year: 2017, value: 71}, target: {year: 2030, value: 35}, severity: major}
  - {id: pm25-parks, kind: annual_target, metric: pm25, level: park,
     baseline: {year: 2017, value: 71}, target: {year: 2030, value: 35}}
"""
ENERGY_RULES = """
rules:
  - {id: ei-path, kind: annual_target, metric: energy_intensity, level: enterprise,
     baseline: {year: 2020, value: 2.5}, target: {year: 2025, value: 2.0}}
"""


class CountingInflux(InfluxStore):
    """The real store, counting the statements sent to it."""

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
def evaluator(counting, engine, production):
    return TargetEvaluator(
        counting, RuleResults(engine), Registry(engine), production, clock=lambda: NOW
    )


def rules(text):
    return [parse_rule_file(Path("targets.yaml"), text.encode(), parse(text))]


def write_minutes(
    influx,
    placement,
    value,
    *,
    days=3,
    first=JAN1,
    hours=24,
    minutes=60,
    skip=0,
    metric="pm25",
    device="pm-1",
    quality=Quality.NORMAL,
    valid=True,
):
    """One minute aggregate for ``minutes`` minutes of ``hours`` hours of ``days`` days."""
    readings = [
        Reading(
            device=device,
            metric=metric,
            value=value,
            ts=day_bounds(first + timedelta(days=d)).start_ms + (h * 60 + skip + m) * 60_000,
            quality=quality,
            count=1,
            valid=valid,
            interval_s=60,
        )
        for d in range(days)
        for h in range(hours)
        for m in range(minutes)
    ]
    influx.write(reading_points(placement, readings))


def by_key(recorded):
    return {(r.result.rule, r.result.subject): r for r in recorded}


@pytest.fixture
def three_sites(influx):
    write_minutes(influx, HENGTONG, 40.0)
    write_minutes(influx, QINGYUAN, 70.0)
    write_minutes(influx, SHUICHENG, 46.0)


def test_sites_and_the_city_are_on_track_or_projected_to_miss(evaluator, counting, three_sites):
    recorded = by_key(evaluator.run(rules(PM25_RULES), date(2026, 1, 3)))

    outcomes = {key: (r.result.outcome, r.result.value) for key, r in recorded.items()}
    assert outcomes == {
        ("pm25-sites", "site:site-hengtong-east"): (ON_TRACK, 40.0),
        ("pm25-sites", "site:site-qingyuan-stack"): (PROJECTED_MISS, 70.0),
        ("pm25-sites", "site:site-shuicheng-yard"): (ON_TRACK, 46.0),
        ("pm25-city", "city"): (PROJECTED_MISS, 52.0),  # the mean of the sites' daily values
        ("pm25-parks", "park:xinfa-materials"): (ON_TRACK, 40.0),
        ("pm25-parks", "park:xiangguang-eco"): (PROJECTED_MISS, 70.0),
    }
    assert len(counting.queries) == 1  # daily means of every site, read once for three rules
    city = recorded["pm25-city", "city"].result
    assert city.limit == 46.076923
    assert city.severity == "major"
    assert city.window_start == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert city.evidence["days_counted"] == 3
    assert city.evidence["sites"] == [
        "site-hengtong-east",
        "site-qingyuan-stack",
        "site-shuicheng-yard",
    ]
    assert city.evidence["projection"]["projected"] == 52.0


def test_a_scope_and_a_margin_change_the_city_verdict(evaluator, three_sites):
    text = """
rules:
  - {id: pm25-chiping, kind: annual_target, metric: pm25, level: city, scope: {county: chiping},
     baseline: {year: 2017, value: 71}, target: {year: 2030, value: 35}}
  - {id: pm25-lenient, kind: annual_target, metric: pm25, level: city, margin: 6,
     baseline: {year: 2017, value: 71}, target: {year: 2030, value: 35}}
"""
    recorded = by_key(evaluator.run(rules(text), date(2026, 1, 3)))

    assert recorded["pm25-chiping", "city"].result.value == 40.0
    assert recorded["pm25-chiping", "city"].result.outcome == ON_TRACK
    assert recorded["pm25-lenient", "city"].result.outcome == ON_TRACK  # 52 is 5.92 over


def test_too_few_days_for_the_date_is_insufficient(evaluator, three_sites):
    recorded = by_key(evaluator.run(rules(PM25_RULES), date(2026, 1, 5)))

    city = recorded["pm25-city", "city"].result
    assert (city.outcome, city.value) == ("insufficient_data", None)
    assert city.evidence["reason"] == (
        "3 daily values, 5 required by 2026-01-05 (GB 3095-2012 Table 4)"
    )


def test_each_year_has_one_row_per_subject_revised_as_days_pass(evaluator, influx, three_sites):
    first = by_key(evaluator.run(rules(PM25_RULES), date(2026, 1, 3)))
    again = by_key(evaluator.run(rules(PM25_RULES), date(2026, 1, 3)))
    write_minutes(influx, HENGTONG, 40.0, first=date(2026, 1, 4), days=1)
    write_minutes(influx, QINGYUAN, 70.0, first=date(2026, 1, 4), days=1)
    write_minutes(influx, SHUICHENG, 46.0, first=date(2026, 1, 4), days=1)
    next_day = by_key(evaluator.run(rules(PM25_RULES), date(2026, 1, 4)))

    city = ("pm25-city", "city")
    assert not any(r.changed for r in again.values())
    assert next_day[city].changed
    assert next_day[city].result.revision == first[city].result.revision + 1
    assert next_day[city].result.window_start == first[city].result.window_start
    assert next_day[city].result.evidence["days_counted"] == 4


# --- daily values from minute aggregates ----------------------------------------------------


def site(name):
    return Placement(f"gw-{name}", f"site-{name}", "ent-x", None, "chiping")


def test_daily_values_follow_the_hourly_and_daily_validity_rules(counting):
    day = date(2026, 1, 1)
    write_minutes(counting, site("full"), 40.0, days=1)
    write_minutes(counting, site("h45"), 41.0, days=1, minutes=45, hours=20)
    write_minutes(counting, site("h44"), 42.0, days=1, minutes=44)  # no hour has 45 minutes
    write_minutes(counting, site("d19"), 43.0, days=1, hours=19)  # 20 hours are required
    write_minutes(counting, site("maint"), 44.0, days=1, minutes=30)
    write_minutes(
        counting, site("maint"), 999.0, days=1, minutes=30, skip=30, quality=Quality.MAINTENANCE
    )
    write_minutes(counting, site("over"), 50.0, days=1, minutes=30)
    write_minutes(
        counting, site("over"), 80.0, days=1, minutes=30, skip=30, quality=Quality.OVER_RANGE
    )
    write_minutes(counting, site("invalid"), 45.0, days=1, minutes=30)
    write_minutes(counting, site("invalid"), 45.0, days=1, minutes=30, skip=30, valid=False)
    write_minutes(counting, site("pair"), 40.0, days=1)
    write_minutes(counting, site("pair"), 60.0, days=1, device="pm-2")

    daily = read_site_days(counting, "pm25", day, day + timedelta(days=1))

    assert daily == {
        "site-full": {day: 40.0},
        "site-h45": {day: 41.0},
        "site-over": {day: 65.0},  # T is included: the mean is a lower bound
        "site-pair": {day: 50.0},  # the mean of the devices' daily values
    }


def test_days_are_local_calendar_days(counting):
    # Twelve hours on each side of 2026-01-02 00:00 Asia/Shanghai.
    write_minutes(counting, site("a"), 30.0, first=date(2026, 1, 1), days=1, hours=12, skip=720)
    write_minutes(counting, site("a"), 30.0, first=date(2026, 1, 2), days=1, hours=12)

    assert read_site_days(counting, "pm25", date(2026, 1, 1), date(2026, 1, 3)) == {}


def test_a_long_range_is_read_in_runs_of_days(counting):
    write_minutes(counting, site("a"), 30.0, days=10, hours=20, minutes=45)

    daily = read_site_days(counting, "pm25", JAN1, JAN1 + timedelta(days=10), days_per_query=4)

    assert len(counting.queries) == 3
    assert daily == {"site-a": {JAN1 + timedelta(days=n): 30.0 for n in range(10)}}


# --- energy intensity over the year ---------------------------------------------------------


def test_an_enterprises_energy_intensity_is_projected_against_its_path(
    evaluator, counting, production
):
    write_minutes(counting, HENGTONG, 5.0, metric="energy_import_delta", device="meter-1")
    write_minutes(counting, QINGYUAN, 2.0, metric="energy_import_delta", device="meter-1")
    write_minutes(counting, QINGYUAN, 2.0, metric="energy_import_delta", device="meter-2")
    # Qingyuan's third day: a fourth meter read for 16 hours only, so the day is left out.
    write_minutes(counting, QINGYUAN, 2.0, metric="energy_import_delta", device="meter-3")
    write_minutes(
        counting,
        QINGYUAN,
        2.0,
        metric="energy_import_delta",
        device="meter-4",
        first=date(2026, 1, 3),
        days=1,
        hours=16,
        minutes=60,
    )
    for n in range(3):
        day = JAN1 + timedelta(days=n)
        production.submit(
            "ent-hengtong-al", ProductionPeriod.DAY, day, 400.0, "t", submitted_at=NOW
        )
        production.submit(
            "ent-qingyuan-cu", ProductionPeriod.DAY, day, 1200.0, "t", submitted_at=NOW
        )

    recorded = by_key(evaluator.run(rules(ENERGY_RULES), date(2026, 1, 3)))

    hengtong = recorded["ei-path", "enterprise:ent-hengtong-al"].result
    qingyuan = recorded["ei-path", "enterprise:ent-qingyuan-cu"].result
    shuicheng = recorded["ei-path", "enterprise:ent-shuicheng-print"].result
    # 7200 kWh a day at 0.1229 kgce/kWh over 400 t: 2.2122 against 2.0 allowed from 2025 on.
    assert (hengtong.outcome, hengtong.value, hengtong.limit) == (PROJECTED_MISS, 2.2122, 2.0)
    assert hengtong.standard == "GB/T 2589-2020"
    assert hengtong.evidence["days_counted"] == 3
    assert hengtong.evidence["output"] == {"quantity": 1200.0, "unit": "t"}
    # Days 1 and 2: 3 meters x 2880 kWh = 8640 kWh = 1061.856 kgce a day, over 1200 t a day.
    assert (qingyuan.outcome, qingyuan.value) == (ON_TRACK, 0.88488)
    assert qingyuan.evidence["periods_left_out"] == 1
    assert qingyuan.evidence["days_counted"] == 2
    assert (shuicheng.outcome, shuicheng.evidence["reason"]) == (
        "insufficient_data",
        "no output reported",
    )
