"""Every panel's query and every variable's, run on a real InfluxDB filled by the services.

A gateway publishes a day of one-minute PM2.5, PM10 and energy readings and a health report
over a real Mosquitto; ingest stores the readings and its own figures (one message refused,
so there is a dead letter); the rules service evaluates its windows, energy and targets over
them and copies its results and the gateway's status to InfluxDB. Then each query runs with
Grafana's macros and the variables replaced as Grafana would, and must return values.
"""

import re
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from tests.ingest.conftest import IngestRunner
from tests.rules.conftest import Publisher, RulesRunner, wait_for

from dashboards.boards import DASHBOARDS
from dashboards.model import Dashboard
from devstack.servers import MosquittoServer
from store.connection import InfluxConnection
from store.influx import InfluxStore
from telemetry import (
    ClockSync,
    DeviceHealth,
    GatewayState,
    GatewayStatus,
    Reading,
    SpoolHealth,
    TelemetryBatch,
    encode,
    topics,
)

pytestmark = pytest.mark.integration

MINUTE_MS = 60_000
HOURS = 26
GATEWAY = "gw-0001"  # site-hengtong-east of ent-hengtong-al, xinfa-materials park, chiping
CHOSEN = {
    "county": "chiping",
    "park": "xinfa-materials",
    "enterprise": "ent-hengtong-al",
    "site": "site-hengtong-east",
}
# The range and interval Grafana would use for each dashboard's default time range.
RANGES = {
    "lantian-city": ("time > now() - 2d", "5m"),
    "lantian-site": ("time > now() - 2d", "5m"),
    "lantian-energy": ("time > now() - 40d", "1h"),
    "lantian-fleet": ("time > now() - 15m", "1s"),
}
RULES = """
version: "2026.1"
rules:
  - {id: pm25-hourly, kind: window_mean, metric: pm25, window: hour, limit: 75}
  - {id: pm10-hourly, kind: window_mean, metric: pm10, window: hour, limit: 150}
  - {id: pm25-daily, kind: window_mean, metric: pm25, window: day}
  - {id: pm10-daily, kind: window_mean, metric: pm10, window: day}
  - {id: aqi-hourly, kind: aqi, window: hour, alert_from: lightly_polluted}
  - {id: ei-daily, kind: energy_intensity, window: day, target: 2.0,
     scope: {enterprise: ent-hengtong-al}}
  - {id: ei-2030, kind: annual_target, metric: energy_intensity, level: enterprise,
     baseline: {year: 2020, value: 3.0}, target: {year: 2030, value: 2.0}}
"""


def readings(start_ms: int) -> Iterator[list[Reading]]:
    """An hour of one-minute aggregates at a time: PM2.5 90 µg/m³, PM10 130, 1.5 kWh a minute."""
    for hour in range(HOURS):
        batch = []
        for minute in range(60):
            ts = start_ms + (hour * 60 + minute) * MINUTE_MS
            for device, metric, value in (
                ("pm-1", "pm25", 90.0),
                ("pm-1", "pm10", 130.0),
                ("meter-1", "energy_import_delta", 1.5),
            ):
                batch.append(
                    Reading(device=device, metric=metric, value=value, ts=ts, interval_s=60)
                )
        yield batch


def health(now_ms: int) -> GatewayStatus:
    """A health report as the edge agent publishes it (edge.health)."""
    return GatewayStatus(
        gateway=GATEWAY,
        state=GatewayState.ONLINE,
        ts=now_ms,
        agent_version="0.1.0",
        uptime_s=3600.0,
        spool=SpoolHealth(batches=4, readings=720, oldest_unacked_s=42.0, dropped_raw=3),
        devices={"pm-1": DeviceHealth(state="ok"), "meter-1": DeviceHealth(state="ok")},
        clock=ClockSync.SYNCED,
    )


def substitute(query: str, dashboard: Dashboard) -> str:
    """The query as Grafana sends it: macros and the chosen variable values filled in."""
    time_filter, interval = RANGES[dashboard.uid]
    query = query.replace("$timeFilter", time_filter).replace("$__interval", interval)
    for name, value in CHOSEN.items():
        query = query.replace(f"/^${name}$/", f"/^{re.escape(value)}$/")
        query = query.replace(f"'${name}'", f"'{value}'")
    assert not re.search(r"\$\w", query), f"unsubstituted: {query}"
    return query


def values(influx: InfluxStore, query: str) -> list[Any]:
    return [
        value
        for series in influx.query(query)
        for row in series.rows()
        for key, value in row.items()
        if key != "time" and value is not None
    ]


@pytest.fixture
def filled(
    tmp_path: Path,
    mosquitto: MosquittoServer,
    influx: InfluxStore,
    ingest: IngestRunner,
    rules_service: RulesRunner,
    publisher: Publisher,
) -> InfluxStore:
    ingesting = ingest.start(mosquitto, influx)
    now_ms = int(time.time() * 1000)
    start_ms = (now_ms // 3_600_000 - HOURS) * 3_600_000
    for seq, batch in enumerate(readings(start_ms), start=1):
        publisher.publish(
            topics.telemetry(GATEWAY),
            encode(TelemetryBatch(gateway=GATEWAY, seq=seq, readings=batch)),
        )
    publisher.publish(topics.telemetry(GATEWAY), b"not json")  # refused: a dead letter
    written = ingesting.counters.readings_written
    wait_for(lambda: written._value.get() >= HOURS * 60 * 3, timeout=60)
    wait_for(lambda: ingesting.counters.rejected_total() >= 1)  # both snapshots have a reason
    ingesting.self_report.report()

    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(RULES)
    connection = InfluxConnection(url=influx.url, database=influx.database)
    rules = rules_service.start(
        [rule_file],
        influx=connection,
        window_interval_s=0.2,
        window_settle_s=1.0,
        window_lookback_h=HOURS + 2,
    )
    publisher.publish(topics.status(GATEWAY), encode(health(now_ms)), retain=True)
    for measurement in ("aqi", "window_mean", "energy", "target_path", "device_health"):
        select = f'SELECT * FROM "{measurement}"'  # noqa: S608 - a fixed name
        wait_for(partial(values, influx, select), timeout=60)
    rules.export.flush()
    time.sleep(1.5)  # a second snapshot in the next one-second interval
    ingesting.self_report.report()
    return influx


def test_every_panel_and_variable_query_returns_values(filled: InfluxStore):
    empty = []
    ran = 0
    for dashboard in DASHBOARDS:
        queries = [(f"variable {v.name}", v.query) for v in dashboard.variables]
        queries += [(f"panel {p.title!r}", p.query) for p in dashboard.panels]
        for what, query in queries:
            sent = substitute(query, dashboard)
            ran += 1
            if not values(filled, sent):
                empty.append(f"{dashboard.uid} {what}: {sent}")
    assert ran == sum(len(d.variables) + len(d.panels) for d in DASHBOARDS)
    assert not empty, "queries without values:\n" + "\n".join(empty)
