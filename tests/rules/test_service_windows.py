"""The rules service's window thread on a real Mosquitto, InfluxDB and SQLite store: closed hours
evaluated and recorded, a late minute over MQTT evaluates its hour again, failures retried."""

import time
import uuid

import httpx
import pytest
from tests.rules.conftest import HENGTONG, wait_for

from rules.windows import RegulatoryWindow
from rules.windows.periods import utc
from store.connection import InfluxConnection
from store.influx import InfluxStore
from store.readings import reading_point
from store.sql import RuleResults
from telemetry import Reading

pytestmark = pytest.mark.integration

MINUTE_MS = 60_000
RULES = """
version: "2026.1"
rules:
  - {id: pm25-hourly, kind: window_mean, metric: pm25, window: hour, limit: 75}
  - {id: aqi-hourly, kind: aqi, window: hour, alert_from: lightly_polluted}
  - {id: pm25-spike, kind: threshold, metric: pm25, above: 500}
"""
SITE = "site:site-hengtong-east"
# Fast rounds, a second of settling, and a lookback of three hours instead of two days.
FAST = {"window_interval_s": 0.2, "window_settle_s": 1.0, "window_lookback_h": 3.0}


def minute(ts: int, value: float, metric: str = "pm25") -> Reading:
    """A gateway's one-minute aggregate of sensor pm-1 for the minute from ``ts``."""
    return Reading(
        device="pm-1", metric=metric, value=value, ts=ts, interval_s=60, count=60, valid=True
    )


def connection(influx: InfluxStore) -> InfluxConnection:
    return InfluxConnection(url=influx.url, database=influx.database)


def result_at(city_sql, rule: str, window: RegulatoryWindow, subject: str = SITE):
    found = RuleResults(city_sql).results(rule=rule, subject=subject, since=utc(window.start_ms))
    return next((r for r in found if r.window_start == utc(window.start_ms)), None)


def test_a_closed_hour_is_recorded_and_a_late_minute_over_mqtt_evaluates_it_again(
    tmp_path, influx, rules_service, publisher, city_sql
):
    hour = RegulatoryWindow.hour(int(time.time() * 1000) - 2 * 3_600_000)
    influx.write(
        reading_point(HENGTONG, minute(hour.start_ms + n * MINUTE_MS, value, metric))
        for n in range(50)  # 50 of 60 minutes: valid (45 needed), one more changes the mean
        for metric, value in (("pm25", 80.0), ("pm10", 120.0))
    )
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(RULES)
    service = rules_service.start([rule_file], influx=connection(influx), **FAST)

    first = wait_for(lambda: result_at(city_sql, "pm25-hourly", hour))
    assert (first.outcome, first.value, first.limit, first.revision) == ("exceeding", 80.0, 75.0, 1)
    assert (first.evidence["count"], first.evidence["missing"]) == (50, 10)
    aqi = wait_for(lambda: result_at(city_sql, "aqi-hourly", hour))
    # HJ 633-2012 Table 1: PM2.5 80 µg/m³ is IAQI 106.25 (75-115 → 100-150), rounded up.
    assert (aqi.outcome, aqi.value, aqi.evidence["category"]["key"]) == (
        "exceeding",
        107.0,
        "lightly_polluted",
    )
    # A registered site that sent nothing has insufficient data, never silence.
    quiet = wait_for(lambda: result_at(city_sql, "pm25-hourly", hour, "site:site-qingyuan-stack"))
    assert quiet.outcome == "insufficient_data"

    # The gateway's spool replays a minute of that hour: ingest stores it, the stream sees it.
    late = minute(hour.start_ms + 55 * MINUTE_MS, 200.0)
    influx.write([reading_point(HENGTONG, late)])
    publisher.readings("gw-0001", [late])

    wait_for(lambda: (r := result_at(city_sql, "pm25-hourly", hour)) and r.revision == 2)
    second = result_at(city_sql, "pm25-hourly", hour)
    assert second.evidence["count"] == 51
    assert second.value == pytest.approx((50 * 80 + 200) / 51)
    assert wait_for(lambda: (r := result_at(city_sql, "aqi-hourly", hour)) and r.revision == 2)
    unchanged = result_at(city_sql, "pm25-hourly", hour, "site:site-qingyuan-stack")
    assert unchanged.revision == 1  # another site's data did not change: nothing recorded anew

    metrics = httpx.get(f"http://127.0.0.1:{service.metrics_port}/metrics").text
    assert "lantian_rules_late_readings_total 1.0" in metrics
    assert 'lantian_rules_window_failures_total{evaluator="windows"}' not in metrics
    changed = 'lantian_rules_window_results_changed_total{evaluator="windows",outcome="exceeding"}'
    assert changed in metrics


def test_a_failing_window_run_is_counted_and_retried_while_stream_rules_go_on(
    tmp_path, influx_server, rules_service, publisher, city_sql
):
    missing = InfluxStore(influx_server.url, f"test_{uuid.uuid4().hex[:12]}")  # not created yet
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(RULES)
    service = rules_service.start([rule_file], influx=connection(missing), **FAST)
    failures = service.counters.window_failures.labels("windows")
    wait_for(lambda: failures._value.get() >= 2)  # every round fails, and is tried again

    now = int(time.time() * 1000)
    publisher.readings("gw-0001", [minute(now - MINUTE_MS, 600.0)])
    [spike] = wait_for(lambda: RuleResults(city_sql).results(rule="pm25-spike"))
    assert spike.outcome == "firing"  # the stream thread is not held up by the window thread

    missing.create_database()
    try:
        runs = service.counters.window_runs.labels("windows")
        wait_for(lambda: runs._value.get() >= 1)
        hour = RegulatoryWindow.hour(now - 2 * 3_600_000)
        assert wait_for(lambda: result_at(city_sql, "pm25-hourly", hour)).outcome == (
            "insufficient_data"
        )
    finally:
        missing.drop_database()
        missing.close()


def test_energy_intensity_and_annual_targets_run_at_start_and_are_counted(
    tmp_path, influx, rules_service, city_sql
):
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(
        """
rules:
  - {id: ei-daily, kind: energy_intensity, window: day, target: 2.0,
     scope: {enterprise: ent-hengtong-al}}
  - {id: pm25-city, kind: annual_target, metric: pm25, level: city,
     baseline: {year: 2017, value: 71}, target: {year: 2030, value: 35}}
"""
    )
    service = rules_service.start([rule_file], influx=connection(influx), **FAST)
    runs = service.counters.window_runs
    wait_for(lambda: runs.labels("energy")._value.get() >= 1)
    wait_for(lambda: runs.labels("targets")._value.get() >= 1)

    results = RuleResults(city_sql)
    daily = results.results(rule="ei-daily")
    assert len(daily) == 35  # every local day closed in the lookback, none yet reported
    assert {r.outcome for r in daily} == {"insufficient_data"}
    [city] = results.results(rule="pm25-city")
    assert (city.subject, city.outcome) == ("city", "insufficient_data")
    time.sleep(1.0)  # rounds go on; targets wait for the next day, unchanged energy records nothing
    assert runs.labels("targets")._value.get() == 1
    assert len(results.results(rule="ei-daily")) == 35
