"""Rule results and gateway status copied to a real InfluxDB: queued without waiting, written
by the thread, kept and written again after InfluxDB was unavailable."""

import time
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry
from tests.rules.conftest import HENGTONG, wait_for

from rules.influx_export import InfluxExport, SiteLocations
from store.influx import InfluxStore
from store.sql import Registry, RuleResult
from telemetry import GatewayState, GatewayStatus, SpoolHealth

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def aqi_result(value: int) -> RuleResult:
    return RuleResult(
        rule="aqi-hourly",
        rule_version="2026.1",
        kind="aqi",
        subject="site:site-hengtong-east",
        window_start=HOUR,
        outcome="exceeding" if value > 100 else "compliant",
        severity="warning",
        value=float(value),
        limit=100.0,
        site=HENGTONG.site,
        county=HENGTONG.county,
        evidence={"window": "hour", "aqi": value, "category": {"level": 3, "key": "x"}},
    )


def rows(influx: InfluxStore, influxql: str) -> list[dict[str, object]]:
    return [row for series in influx.query(influxql) for row in series.rows()]


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


def test_results_and_status_are_written_and_a_new_revision_overwrites(influx: InfluxStore):
    registry = CollectorRegistry()
    export = InfluxExport(influx, registry, flush_interval_s=0.05, locate=lambda _: (36.4, 116.2))
    export.start()
    try:
        export.results([aqi_result(107)])
        status = GatewayStatus(
            gateway="gw-0001",
            state=GatewayState.ONLINE,
            ts=1772413200000,
            spool=SpoolHealth(batches=2, readings=10),
        )
        export.status(HENGTONG, status, 1772413200000)
        found = wait_for(lambda: rows(influx, 'SELECT "aqi", "latitude" FROM "aqi"'))
        assert [(r["aqi"], r["latitude"]) for r in found] == [(107, 36.4)]
        export.results([aqi_result(120)])  # the window evaluated again
        wait_for(lambda: [r["aqi"] for r in rows(influx, 'SELECT "aqi" FROM "aqi"')] == [120])
        health = rows(influx, 'SELECT "spool_batches", "online" FROM "gateway_health"')
        assert [(r["spool_batches"], r["online"]) for r in health] == [(2, 1)]
    finally:
        export.stop()
    assert sample(registry, "lantian_rules_influx_points_total") >= 5


def test_points_wait_while_influxdb_is_unavailable_and_are_written_later(influx: InfluxStore):
    registry = CollectorRegistry()
    down = InfluxStore("http://127.0.0.1:9", influx.database, timeout=0.5)  # nothing listens
    export = InfluxExport(down, registry, flush_interval_s=0.05)
    started = time.monotonic()
    export.results([aqi_result(107)])
    assert time.monotonic() - started < 0.5  # handing over never waits for InfluxDB
    assert export.pending == 1  # one result, not yet encoded
    assert export.flush() is False
    assert export.pending == 2  # its two points
    assert sample(registry, "lantian_rules_influx_write_errors_total") == 1
    export._influx = influx
    assert export.flush() is True
    assert export.pending == 0
    assert [r["aqi"] for r in rows(influx, 'SELECT "aqi" FROM "aqi"')] == [107]


def test_a_full_queue_drops_the_oldest_and_counts_them(influx: InfluxStore):
    registry = CollectorRegistry()
    down = InfluxStore("http://127.0.0.1:9", influx.database, timeout=0.5)
    export = InfluxExport(down, registry, max_lines=3)
    export.results([aqi_result(107), aqi_result(50), aqi_result(60), aqi_result(70)])
    assert export.pending == 3
    assert sample(registry, "lantian_rules_influx_dropped_total", reason="overflow") == 1
    assert export.flush() is False  # three results, six points: the oldest three go
    assert export.pending == 3
    assert sample(registry, "lantian_rules_influx_dropped_total", reason="overflow") == 4
    export._influx = influx  # InfluxDB is back
    assert export.flush() is True
    assert [r["aqi"] for r in rows(influx, 'SELECT "aqi" FROM "aqi"')] == [70]


def test_site_locations_come_from_the_registry_and_are_read_again_when_due(city_sql):
    registry = Registry(city_sql)
    now = [0.0]
    locate = SiteLocations(registry, refresh_s=60.0, clock=lambda: now[0])
    assert locate("site-hengtong-east") == (36.583, 116.255)
    assert locate("site-unknown") is None
    registry.add_site(
        "site-new", name="New site", enterprise_id="ent-hengtong-al", latitude=36.5, longitude=116.0
    )
    assert locate("site-new") is None  # not due yet
    now[0] = 61.0
    assert locate("site-new") == (36.5, 116.0)
