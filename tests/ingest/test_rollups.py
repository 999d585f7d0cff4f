import logging
import threading
import time

import pytest

from devstack.city import CITY
from devstack.processes import wait_until
from ingest.counters import IngestCounters
from ingest.rollups import LateRollups, Window
from store.influx import Point
from store.rollups import (
    HOUR_FROM_MINUTES,
    LATE_AFTER_MS,
    MINUTE_FROM_AGGREGATES,
    MINUTE_FROM_SAMPLES,
    Retention,
    backfill,
    continuous_query,
    prepare_retention,
)
from telemetry import Reading, TelemetryBatch, encode

pytestmark = pytest.mark.integration

MINUTE = 60_000
HOUR = 3_600_000
NOW = 1_764_140_400_000 + 17 * MINUTE + 12_345  # a fixed "now" where no server is involved
TAGS = {"site": "site-a", "gateway": "gw-0001", "device": "pm-1", "quality": "N"}


def hours_ago(hours):
    """The start of an hour that long ago: old enough to be late, young enough for `raw`."""
    return (int(time.time() * 1000) - hours * HOUR) // HOUR * HOUR


def sample(value, ts, measurement="pm25"):
    return Point(measurement, {**TAGS, "interval": "raw"}, {"value": value}, ts)


def aggregate(value, ts, *, low, high, count):
    fields = {"value": value, "min": low, "max": high, "count": count, "valid": True}
    return Point("pm25", {**TAGS, "interval": "60s"}, fields, ts)


def rollup(influx, policy, measurement="pm25"):
    """(time, interval) -> fields of every point in a rollup policy."""
    query = f'SELECT * FROM "{influx.database}"."{policy}"."{measurement}"'  # noqa: S608
    return {
        (row["time"], row["interval"]): {k: row[k] for k in ("value", "min", "max", "count")}
        for series in influx.query(query)
        for row in series.rows()
    }


def counted(counters, name, **labels):
    value = counters.registry.get_sample_value(f"lantian_ingest_{name}_total", labels)
    return value or 0.0


def roll_up_as_the_cqs_did(influx, start, end):
    for each in (MINUTE_FROM_SAMPLES, MINUTE_FROM_AGGREGATES, HOUR_FROM_MINUTES):
        backfill(influx, each, start_ms=start, end_ms=end)


@pytest.fixture
def counters():
    return IngestCounters()


@pytest.fixture
def prepared(influx):
    prepare_retention(influx, Retention())
    return influx


# --- which ranges are noted -----------------------------------------------------------------


def test_ranges_the_continuous_queries_still_recompute_are_ignored(influx, counters):
    late = LateRollups(influx, counters=counters, clock_ms=lambda: NOW)

    late.note("pm25", NOW - LATE_AFTER_MS, NOW)
    late.note("pm25", NOW - MINUTE, NOW + 5 * MINUTE)  # a clock a little ahead

    assert late.pending() == []


def test_late_ranges_are_kept_as_whole_minutes_and_merged(influx, counters):
    late = LateRollups(influx, counters=counters, clock_ms=lambda: NOW)
    base = NOW - 3 * HOUR

    late.note("pm25", base + 1_000, base + 61_000)
    late.note("pm25", base + 3 * MINUTE, base + 3 * MINUTE)  # close enough to go along
    late.note("pm25", base + HOUR, base + HOUR + 5)  # far apart: a window of its own
    late.note("pm10", base - 13_000, base)  # base is 12.345 s into its minute
    late.note("pm10", NOW - HOUR, NOW + HOUR)  # partly in the future: cut at now

    floor = base // MINUTE * MINUTE
    assert late.pending() == [
        Window("minute", "pm10", floor - MINUTE, floor + MINUTE),
        Window("minute", "pm10", (NOW - HOUR) // MINUTE * MINUTE, NOW // MINUTE * MINUTE + MINUTE),
        Window("minute", "pm25", floor, floor + 4 * MINUTE),
        Window("minute", "pm25", floor + HOUR, floor + HOUR + MINUTE),
    ]


def test_ranges_older_than_raw_data_is_kept_are_cut(influx, counters):
    late = LateRollups(influx, counters=counters, clock_ms=lambda: NOW, horizon_ms=2 * HOUR)

    late.note("pm25", NOW - 30 * HOUR, NOW - 20 * HOUR)  # nothing of it can be stored
    late.note("pm25", NOW - 30 * HOUR, NOW - 90 * MINUTE)

    assert late.pending() == [
        Window(
            "minute",
            "pm25",
            (NOW - 2 * HOUR) // MINUTE * MINUTE,
            (NOW - 90 * MINUTE) // MINUTE * MINUTE + MINUTE,
        ),
    ]


def test_many_notes_stay_a_few_windows(influx, counters):
    late = LateRollups(influx, counters=counters, clock_ms=lambda: NOW)
    base = NOW - 10 * HOUR
    for i in range(5_000):
        late.note("pm25", base + i * 1_000, base + i * 1_000 + 999)

    assert len(late._pending["minute"]["pm25"]) < 256  # merged as they came
    floor = base // MINUTE * MINUTE
    assert late.pending() == [Window("minute", "pm25", floor, floor + 84 * MINUTE)]


# --- backfilling them -----------------------------------------------------------------------


def test_late_readings_reach_the_minute_and_hour_rollups(prepared, counters):
    influx = prepared
    base = hours_ago(30)
    # what had arrived in time, and its rollups as the CQs made them back then
    influx.write(
        [
            sample(10.0, base + 5 * MINUTE),
            aggregate(30.0, base + 5 * MINUTE, low=20.0, high=40.0, count=30),
        ]
    )
    roll_up_as_the_cqs_did(influx, base, base + HOUR)
    assert rollup(influx, "hour")[base, "raw"]["value"] == 10.0
    # a replayed backlog: more samples in that minute, another minute, another hour
    late = LateRollups(influx, counters=counters, horizon_ms=400 * 24 * HOUR)
    backlog = [
        sample(20.0, base + 5 * MINUTE + 30_000),
        sample(60.0, base + 6 * MINUTE),
        aggregate(50.0, base + 6 * MINUTE, low=45.0, high=70.0, count=30),
        sample(1.0, base + HOUR + 2 * MINUTE),
    ]
    influx.write(backlog)
    late.note("pm25", base + 5 * MINUTE + 30_000, base + HOUR + 2 * MINUTE)

    assert late.backfill_pending()

    assert late.pending() == []
    minutes = rollup(influx, "minute")
    assert minutes[base + 5 * MINUTE, "raw"] == {
        "value": 15.0,
        "min": 10.0,
        "max": 20.0,
        "count": 2,
    }
    assert minutes[base + 6 * MINUTE, "raw"] == {
        "value": 60.0,
        "min": 60.0,
        "max": 60.0,
        "count": 1,
    }
    assert minutes[base + 6 * MINUTE, "60s"] == {
        "value": 50.0,
        "min": 45.0,
        "max": 70.0,
        "count": 30,
    }
    hours = rollup(influx, "hour")
    assert hours[base, "raw"] == {"value": 37.5, "min": 10.0, "max": 60.0, "count": 3}
    assert hours[base, "60s"] == {"value": 40.0, "min": 20.0, "max": 70.0, "count": 60}
    assert hours[base + HOUR, "raw"] == {"value": 1.0, "min": 1.0, "max": 1.0, "count": 1}
    assert counted(counters, "rollup_backfills", policy="minute") == 1
    assert counted(counters, "rollup_backfills", policy="hour") == 1


def test_only_the_noted_measurement_is_rolled_up_again(prepared, counters):
    influx = prepared
    base = hours_ago(30)
    influx.write([sample(1.0, base, "pm25"), sample(2.0, base, "pm10")])
    late = LateRollups(influx, counters=counters)

    late.note("pm25", base, base)
    assert late.backfill_pending()

    assert set(rollup(influx, "minute")) == {(base, "raw")}
    assert rollup(influx, "minute", "pm10") == {}


def test_an_influxdb_outage_keeps_windows_pending_until_it_is_back(own_influx, counters, caplog):
    server, influx = own_influx
    server_running_base = hours_ago(30)
    influx.create_database()
    prepare_retention(influx, Retention())
    influx.write([sample(7.0, server_running_base)])
    late = LateRollups(influx, counters=counters)
    late.note("pm25", server_running_base, server_running_base)
    server.stop()

    with caplog.at_level(logging.WARNING, logger="ingest.rollups"):
        assert not late.backfill_pending()

    assert late.pending() == [
        Window("minute", "pm25", server_running_base, server_running_base + MINUTE)
    ]
    assert counted(counters, "rollup_backfill_errors") == 1
    assert "retrying later" in caplog.text

    server.start()
    assert late.backfill_pending()
    assert late.pending() == []
    assert rollup(influx, "hour")[server_running_base, "raw"]["value"] == 7.0


def test_an_hour_that_failed_is_retried_without_its_minutes(own_influx, counters):
    server, influx = own_influx
    base = hours_ago(30)
    influx.create_database()
    prepare_retention(influx, Retention())
    influx.write([sample(7.0, base)])
    late = LateRollups(influx, counters=counters)
    late.note("pm25", base, base)
    assert late._backfill_policy("minute")
    server.stop()

    assert not late.backfill_pending()

    assert late.pending() == [Window("hour", "pm25", base, base + HOUR)]
    server.start()
    assert late.backfill_pending()
    assert counted(counters, "rollup_backfills", policy="minute") == 1
    assert counted(counters, "rollup_backfills", policy="hour") == 1


def test_the_thread_backfills_while_running_and_once_more_on_stop(prepared, counters):
    influx = prepared
    base = hours_ago(30)
    late = LateRollups(influx, counters=counters, period_s=0.05)
    thread = threading.Thread(target=late.run)
    thread.start()
    try:
        influx.write([sample(3.0, base)])
        late.note("pm25", base, base)
        assert wait_until(lambda: (base, "raw") in rollup(influx, "hour"), timeout_s=10)
        late._period_s = 3600.0  # nothing more until stop
        time.sleep(0.2)  # the running pause ends, the next one is an hour
        influx.write([sample(5.0, base + 2 * HOUR)])
        late.note("pm25", base + 2 * HOUR, base + 2 * HOUR)
    finally:
        late.stop()
        thread.join(timeout=10)

    assert not thread.is_alive()
    assert rollup(influx, "hour")[base + 2 * HOUR, "raw"]["value"] == 5.0


# --- in the service -------------------------------------------------------------------------


CQ_NAMES = {"rollup_minute_samples", "rollup_minute_aggregates", "rollup_hour"}


def test_start_up_creates_the_policies_and_queries_once(mosquitto, influx, ingest, caplog):
    with caplog.at_level(logging.INFO, logger="ingest.service"):
        first = ingest.start(mosquitto, influx)
    assert "continuous queries created" in caplog.text
    policies = {
        row["name"]: (row["duration"], row["default"])
        for series in influx.query(f'SHOW RETENTION POLICIES ON "{influx.database}"')
        for row in series.rows()
    }
    assert policies["raw"] == ("9600h0m0s", True)
    assert policies["minute"] == ("26280h0m0s", False)
    assert policies["hour"] == ("0s", False)
    assert set(influx.continuous_queries()) == CQ_NAMES
    ingest.stop(first)

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ingest.service"):
        ingest.start(mosquitto, influx)
    assert "continuous queries created" not in caplog.text
    assert prepare_retention(influx, Retention()) == []


def test_start_up_replaces_a_changed_definition(mosquitto, influx, ingest):
    prepare_retention(influx, Retention())
    stale = continuous_query(HOUR_FROM_MINUTES, influx.database).replace("EVERY 10m", "EVERY 5m")
    influx.drop_continuous_query("rollup_hour")
    influx.query(stale)

    ingest.start(mosquitto, influx)

    assert "EVERY 10m" in influx.continuous_queries()["rollup_hour"]


def test_the_service_backfills_what_was_noted_before_it_stops(mosquitto, influx, ingest):
    service = ingest.start(mosquitto, influx)  # backfills every 10 s by default
    base = hours_ago(30)
    influx.write([sample(9.0, base)])

    service.rollups.note("pm25", base, base)
    ingest.stop(service)

    assert rollup(influx, "hour")[base, "raw"]["value"] == 9.0
    assert counted(service.counters, "rollup_backfills", policy="hour") == 1


def test_late_readings_published_by_a_gateway_reach_the_rollups(mosquitto, influx, ingest, gateway):
    service = ingest.start(mosquitto, influx)
    base = hours_ago(30)  # a backlog replayed after an outage: the CQs will not revisit it
    readings = [
        Reading(device="pm-1", metric="pm25", value=v, ts=base + i)
        for i, v in enumerate((4.0, 8.0))
    ]
    gateway(mosquitto).telemetry(
        CITY[0].gateway, encode(TelemetryBatch(gateway=CITY[0].gateway, seq=1, readings=readings))
    )
    assert wait_until(lambda: counted(service.counters, "readings_written") == 2, timeout_s=10)
    ingest.stop(service)  # a last backfill pass of what the writer noted

    minute = rollup(influx, "minute")[base, "raw"]
    assert (minute["value"], minute["min"], minute["max"], minute["count"]) == (6.0, 4.0, 8.0, 2)
    assert rollup(influx, "hour")[base, "raw"]["value"] == 6.0  # base is an hour's start
