"""Window rules against a real InfluxDB and SQLite: evaluate, record, re-evaluate, late data."""

from datetime import date
from typing import Any

import pytest
from tests.rules.conftest import HENGTONG, QINGYUAN, SHUICHENG, rule_set

from devstack.city import CITY, register
from rules.windows import RegulatoryWindow, WindowEvaluator, WindowJob, WindowScheduler
from rules.windows.periods import utc
from store.errors import InfluxUnavailableError
from store.influx import InfluxStore
from store.readings import reading_point
from store.sql import Placement, Registry, RuleResult, RuleResults, create_engine_for
from telemetry import Quality, Reading

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 26)
WINDOW_DAY = RegulatoryWindow.day(DAY)
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
HOUR_8 = RegulatoryWindow.hour(WINDOW_DAY.start_ms + 8 * HOUR_MS)  # 08:00 local
AFTER_DAY = WINDOW_DAY.end_ms + 10 * MINUTE_MS  # the day closed and settled

RULES = """
version: "2026.1"
rules:
  - {id: pm25-hourly, kind: window_mean, metric: pm25, window: hour, limit: 75}
  - {id: pm25-daily, kind: window_mean, metric: pm25, window: day, severity: major}
  - {id: aqi-daily, kind: aqi, window: day}
  - {id: chiping-daily, kind: window_mean, metric: pm25, window: day,
     scope: {county: chiping}}
"""
A, B, C = "site-hengtong-east", "site-qingyuan-stack", "site-shuicheng-yard"


@pytest.fixture
def stores(sqlite_url):
    engine = create_engine_for(sqlite_url)
    registry = Registry(engine)
    register(registry, [s for s in CITY if s.gateway in {"gw-0001", "gw-0002", "gw-0006"}])
    yield registry, RuleResults(engine)
    engine.dispose()


def minute_point(placement: Placement, ts: int, value: float, **fields: Any):
    fields.setdefault("quality", Quality.NORMAL)
    fields.setdefault("valid", True)
    reading = Reading(
        device=fields.pop("device", "pm-1"),
        metric=fields.pop("metric", "pm25"),
        value=value,
        ts=ts,
        interval_s=60,
        count=60,
        **fields,
    )
    return reading_point(placement, reading)


def hour_of(placement: Placement, hour: int, value: float, minutes=range(60), **fields: Any):
    start = WINDOW_DAY.start_ms + hour * HOUR_MS
    return [minute_point(placement, start + n * MINUTE_MS, value, **fields) for n in minutes]


def write_day(influx: InfluxStore) -> None:
    """A: every hour PM2.5 80, PM10 120. B: hours 0-18 PM2.5 50, but hour 8 has 44 normal
    minutes, 6 in maintenance and 10 missing. C: hours 0-19 PM2.5 30, one minute of hour 8
    stamped with an unsynchronised clock."""
    points = []
    for hour in range(24):
        points += hour_of(HENGTONG, hour, 80.0)
        points += hour_of(HENGTONG, hour, 120.0, metric="pm10")
    for hour in range(19):
        if hour != 8:
            points += hour_of(QINGYUAN, hour, 50.0)
    points += hour_of(QINGYUAN, 8, 50.0, range(44))
    points += hour_of(QINGYUAN, 8, 999.0, range(44, 50), quality=Quality.MAINTENANCE)
    for hour in range(20):
        points += hour_of(SHUICHENG, hour, 30.0, range(59) if hour == 8 else range(60))
    points += hour_of(SHUICHENG, 8, 30.0, range(59, 60), time_unsynced=True)
    influx.write(points)


def by_site(results: list[RuleResult], rule: str) -> dict[str, RuleResult]:
    return {r.site or "": r for r in results if r.rule == rule}


def test_an_hour_and_a_day_are_evaluated_for_all_sites_and_recorded(influx, stores):
    registry, results = stores
    write_day(influx)
    evaluator = WindowEvaluator(influx, results, registry)
    rules = [rule_set(RULES)]

    recorded = evaluator.evaluate(
        [WindowJob(HOUR_8), WindowJob(WINDOW_DAY)], rules, now_ms=AFTER_DAY
    )

    assert all(r.changed for r in recorded)
    stored = results.results()
    assert sorted((r.rule, r.site) for r in stored) == sorted(
        [(rule, site) for rule in ("pm25-hourly", "pm25-daily", "aqi-daily") for site in (A, B, C)]
        + [("chiping-daily", A)]  # the scope keeps one county
    )
    hourly = by_site(stored, "pm25-hourly")
    assert (hourly[A].outcome, hourly[A].value, hourly[A].limit) == ("exceeding", 80.0, 75.0)
    assert (hourly[B].outcome, hourly[B].value) == ("insufficient_data", None)
    b: Any = hourly[B].evidence
    assert (b["count"], b["excluded"], b["missing"]) == (44, {"M": 6}, 10)
    assert (hourly[C].outcome, hourly[C].value) == ("compliant", 30.0)
    c: Any = hourly[C].evidence
    assert (c["count"], c["unsynced"], c["missing"]) == (59, 1, 1)

    daily = by_site(stored, "pm25-daily")
    assert (daily[A].outcome, daily[A].value, daily[A].limit) == ("exceeding", 80.0, 75.0)
    assert daily[A].standard == "GB 3095-2012 Grade II 24h; validity GB 3095-2012 Table 4"
    assert (daily[A].severity, daily[A].county, daily[A].gateway) == ("major", "chiping", "gw-0001")
    assert daily[B].outcome == "insufficient_data"  # 18 valid hours
    assert (daily[C].outcome, daily[C].value) == ("compliant", 30.0)  # exactly 20 hours
    assert daily[C].window_start == utc(WINDOW_DAY.start_ms)

    aqi = by_site(stored, "aqi-daily")
    assert (aqi[A].value, aqi[A].outcome) == (107.0, "compliant")  # PM2.5 80 → IAQI 107
    assert aqi[A].evidence["primary"] == ["pm25"]
    c_aqi: Any = aqi[C].evidence
    assert (aqi[C].value, c_aqi["category"]["key"]) == (43.0, "excellent")
    assert aqi[B].outcome == "insufficient_data"


def test_all_sites_are_read_with_one_statement_per_metric_and_six_hours(influx, stores):
    registry, results = stores
    write_day(influx)
    evaluator = WindowEvaluator(influx, results, registry)
    evaluator.evaluate([WindowJob(WINDOW_DAY)], [rule_set(RULES)], now_ms=AFTER_DAY)
    # PM2.5 and PM10 over the day and the day before (the AQI's previous category): 2 x 8.
    assert evaluator.source.queries == 16
    assert evaluator.source.rows == 24 * 60 * 2 + 18 * 60 + 44 + 6 + 20 * 60


def test_evaluating_again_changes_nothing(influx, stores):
    registry, results = stores
    write_day(influx)
    evaluator = WindowEvaluator(influx, results, registry)
    jobs = [WindowJob(HOUR_8), WindowJob(WINDOW_DAY)]
    first = evaluator.evaluate(jobs, [rule_set(RULES)], now_ms=AFTER_DAY)
    again = WindowEvaluator(influx, results, registry).evaluate(
        jobs, [rule_set(RULES)], now_ms=AFTER_DAY + HOUR_MS
    )
    assert [r.result for r in again] == [r.result for r in first]
    assert not any(r.changed for r in again)
    assert {r.revision for r in results.results()} == {1}


def test_late_minutes_re_evaluate_a_closed_window_as_a_new_revision(influx, stores):
    registry, results = stores
    write_day(influx)
    scheduler = WindowScheduler(
        influx, results, registry, lambda: [rule_set(RULES)], settle_s=300, lookback_h=24
    )
    first = scheduler.run_once(AFTER_DAY)
    assert len({(r.result.window_start, r.result.window_end) for r in first}) == 25  # 24 h, 1 day
    assert scheduler.run_once(AFTER_DAY + MINUTE_MS) == []

    late = hour_of(QINGYUAN, 8, 50.0, range(50, 60))  # a gateway's spool, replayed
    influx.write(late)
    for point in late:
        scheduler.note_late("pm25", point.time_ms)
    assert [(job.window, job.metrics) for job in scheduler.due(AFTER_DAY + 2 * MINUTE_MS)] == [
        (WINDOW_DAY, frozenset({"pm25"})),
        (HOUR_8, frozenset({"pm25"})),
        (HOUR_8.following(), frozenset({"pm25"})),  # the AQI's previous category may have changed
    ]
    rerun = scheduler.run_once(AFTER_DAY + 2 * MINUTE_MS)

    changed = {(r.result.rule, r.result.site, r.result.window_start) for r in rerun if r.changed}
    assert {(rule, site) for rule, site, _ in changed} == {
        ("pm25-hourly", B),  # now 54 minutes: valid
        ("pm25-daily", B),  # still 19 hours, but its evidence changed
        ("aqi-daily", B),  # its concentration's evidence too
    }
    [hour_b] = results.results(rule="pm25-hourly", site=B, since=utc(HOUR_8.start_ms), limit=1)
    assert (hour_b.revision, hour_b.outcome, hour_b.value) == (2, "compliant", 50.0)
    assert scheduler.due(AFTER_DAY + 3 * MINUTE_MS) == []


def test_late_data_for_a_window_not_evaluated_yet_waits_for_its_first_evaluation(influx, stores):
    registry, results = stores
    scheduler = WindowScheduler(
        influx, results, registry, lambda: [rule_set(RULES)], settle_s=300, lookback_h=1
    )
    scheduler.run_once(HOUR_8.end_ms + 5 * MINUTE_MS)
    scheduler.note_late("pm25", HOUR_8.end_ms + 30 * MINUTE_MS)  # the hour after: still open
    due = scheduler.due(HOUR_8.end_ms + 65 * MINUTE_MS)
    assert [(job.window, job.metrics) for job in due] == [(HOUR_8.following(), None)]


def test_a_worker_evaluates_only_the_sites_it_owns(influx, stores):
    registry, results = stores
    write_day(influx)
    evaluator = WindowEvaluator(influx, results, registry, site_filter=lambda site: site == C)
    recorded = evaluator.evaluate([WindowJob(HOUR_8)], [rule_set(RULES)], now_ms=AFTER_DAY)
    assert [r.result.site for r in recorded] == [C]


def test_a_restarted_scheduler_evaluates_its_lookback_again_and_changes_nothing(influx, stores):
    registry, results = stores
    write_day(influx)
    rules = lambda: [rule_set(RULES)]  # noqa: E731
    WindowScheduler(influx, results, registry, rules, lookback_h=24).run_once(AFTER_DAY)
    restarted = WindowScheduler(influx, results, registry, rules, lookback_h=24)
    again = restarted.run_once(AFTER_DAY)
    assert len(again) == 24 * 3 + 3 + 3 + 1  # hourly x 3 sites; daily, AQI, one county's
    assert not any(r.changed for r in again)


def test_a_sweep_evaluates_the_lookback_again(influx, stores):
    registry, results = stores
    scheduler = WindowScheduler(
        influx, results, registry, list, lookback_h=2, resweep_s=3600, settle_s=0
    )
    now = HOUR_8.end_ms
    assert [job.window for job in scheduler.due(now)] == [HOUR_8.previous(), HOUR_8]
    scheduler.run_once(now)
    assert scheduler.due(now + 59 * MINUTE_MS) == []
    later = now + HOUR_MS
    assert [job.window for job in scheduler.due(later)] == [
        HOUR_8,
        HOUR_8.following(),
    ]


def test_a_failed_run_keeps_what_was_due(stores):
    registry, results = stores
    unreachable = InfluxStore("http://127.0.0.1:1", "lantian", timeout=1)
    scheduler = WindowScheduler(unreachable, results, registry, lambda: [rule_set(RULES)])
    due = scheduler.due(AFTER_DAY)
    with pytest.raises(InfluxUnavailableError):
        scheduler.run_once(AFTER_DAY)
    assert scheduler.due(AFTER_DAY) == due
    assert results.results() == []
