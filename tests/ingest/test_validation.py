"""Readings checked against the catalog, refused one by one into dead letters, through real servers.

Each test publishes through a real Mosquitto to an in-process ingest writing to a real InfluxDB,
and reads the dead letters back from the SQL store: a refused reading costs that reading only,
is kept with its reason and position, and its batch still counts as delivered.
"""

import json
import time

import pytest

from devstack.city import CITY
from devstack.processes import wait_until
from store.sql import DeliveryLedger, create_engine_for
from telemetry import Reading, TelemetryBatch, encode, topics
from telemetry.payload import MIN_TS_MS

pytestmark = pytest.mark.integration

GW = CITY[0].gateway  # registered by the `city` fixture


def now_ms() -> int:
    return int(time.time() * 1000)


def count(service, name: str, **labels: str) -> float:
    value = service.counters.registry.get_sample_value(f"lantian_ingest_{name}_total", labels)
    return value or 0.0


def pm25(influx) -> list[tuple[int, float]]:
    return [
        (row["time"], row["value"])
        for series in influx.query('SELECT "value" FROM "pm25"')
        for row in series.rows()
    ]


def publish(gw, readings: list[dict[str, object]], *, seq: int) -> bytes:
    payload = json.dumps({"schema": 1, "gateway": GW, "seq": seq, "readings": readings}).encode()
    gw.telemetry(GW, payload)
    return payload


def reading(ts: int, value: object = 35.0, **extra: object) -> dict[str, object]:
    return {"device": "pm-1", "metric": "pm25", "value": value, "ts": ts, **extra}


def test_each_refused_reading_is_a_dead_letter_and_the_rest_of_its_batch_is_written(
    mosquitto, influx, ingest, gateway, dead_letters, city_url
):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    t = now_ms()
    seq = 1
    readings = [
        reading(t, 35.0),  # 0: good
        reading(t + 1, "35.0"),  # 1: schema: strict decoding, no string-to-float coercion
        {**reading(t + 2), "metric": "pm3"},  # 2: unknown_metric
        reading(t + 3, unit="mg/m³"),  # 3: unit_mismatch (the catalog says µg/m³)
        reading(t + 4, 1500.0),  # 4: out_of_range: PM2.5 is valid 0..1000
        reading(t + 5, 30.0, min=10.0, max=2000.0, count=60, interval_s=60),  # 5: max out of range
        reading(t + 3_600_000),  # 6: future_timestamp: an hour ahead, tolerance 5 min
        reading(t + 7, 36.0, unit="µg/m³"),  # 7: good, with the catalog's unit
    ]
    publish(gw, readings, seq=seq)

    assert wait_until(lambda: count(service, "readings_written") == 2, timeout_s=10)
    assert pm25(influx) == [(t, 35.0), (t + 7, 36.0)]
    letters = {letter.reading_index: letter for letter in dead_letters.letters()}
    assert {index: letter.reason for index, letter in letters.items()} == {
        1: "schema",
        2: "unknown_metric",
        3: "unit_mismatch",
        4: "out_of_range",
        5: "out_of_range",
        6: "future_timestamp",
    }
    for index, letter in letters.items():
        assert (letter.gateway, letter.seq, letter.topic) == (GW, seq, topics.telemetry(GW))
        assert json.loads(letter.payload) == readings[index]  # the reading as it was sent
        assert letter.detail
    assert "1500" in letters[4].detail
    assert "max" in letters[5].detail
    for reason, refused in {"schema": 1, "out_of_range": 2, "future_timestamp": 1}.items():
        assert count(service, "readings_rejected", reason=reason) == refused
    assert count(service, "dead_letters") == 6
    assert service.counters.rejected_total() == 0  # no message was refused as a whole
    engine = create_engine_for(city_url)
    try:  # the batch counts as delivered: its gateway may drop it from its spool
        assert wait_until(lambda: DeliveryLedger(engine).watermark(GW) >= seq, timeout_s=5)
    finally:
        engine.dispose()


def test_a_batch_whose_every_reading_is_refused_still_moves_the_watermark(
    mosquitto, influx, ingest, gateway, dead_letters, city_url
):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    seq = 1
    publish(gw, [reading(now_ms(), -5.0), reading(now_ms(), 99999.0)], seq=seq)

    assert wait_until(lambda: count(service, "dead_letters") == 2, timeout_s=10)
    assert {letter.reason for letter in dead_letters.letters()} == {"out_of_range"}
    assert pm25(influx) == []
    engine = create_engine_for(city_url)
    try:
        assert wait_until(lambda: DeliveryLedger(engine).watermark(GW) >= seq, timeout_s=5)
    finally:
        engine.dispose()


def test_late_readings_are_written_and_counted_as_late(mosquitto, influx, ingest, gateway):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    t = now_ms()
    old = t - 3 * 3600_000  # a replayed backlog: three hours old, late threshold ten minutes
    publish(gw, [reading(old, 20.0), reading(old + 1, 21.0), reading(t, 22.0)], seq=1)

    assert wait_until(lambda: count(service, "readings_written") == 3, timeout_s=10)
    assert count(service, "late_readings") == 2
    assert pm25(influx) == [(old, 20.0), (old + 1, 21.0), (t, 22.0)]


def test_lines_influxdb_refuses_are_narrowed_down_and_the_good_ones_written(
    mosquitto, influx, ingest, gateway, dead_letters
):
    service = ingest.start(mosquitto, influx, batch_max_delay_s=0.5)
    gw = gateway(mosquitto)
    t = now_ms()
    # "count" of pm10 written as a float first: ingest's integer count now conflicts with it.
    influx.write_lines([f"pm10,site=elsewhere count=1.5 {t}"])
    good = encode(
        TelemetryBatch(
            gateway=GW,
            seq=1,
            readings=[
                Reading(device="pm-1", metric="pm25", value=float(i), ts=t + i) for i in range(5)
            ],
        )
    )
    gw.telemetry(GW, good)
    readings = [
        reading(t + 10, 10.0),
        {**reading(t + 11, 50.0, min=40.0, max=60.0, count=60, interval_s=60), "metric": "pm10"},
        reading(MIN_TS_MS, 12.0),  # 2000-01-01: valid on the wire, beyond the raw retention
        reading(t + 13, 13.0),
    ]
    seq = 2
    publish(gw, readings, seq=seq)

    assert wait_until(lambda: count(service, "readings_written") == 7, timeout_s=15)
    assert pm25(influx) == [(t + i, float(i)) for i in range(5)] + [(t + 10, 10.0), (t + 13, 13.0)]
    letters = sorted(dead_letters.letters(reason="influx_rejected"), key=lambda x: x.reading_index)
    assert [(letter.seq, letter.reading_index) for letter in letters] == [(seq, 1), (seq, 2)]
    assert "conflict" in letters[0].detail
    assert json.loads(letters[0].payload)["metric"] == "pm10"
    assert count(service, "readings_rejected", reason="influx_rejected") == 2


def test_a_redelivered_message_is_not_kept_twice_as_a_dead_letter(
    mosquitto, influx, ingest, gateway, dead_letters
):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    broken = b'{"schema": 1, "gateway": "gw-0001", "seq": '
    gw.telemetry(GW, broken)
    gw.telemetry(GW, broken)  # the same bytes again, as a redelivery after a crash brings them

    assert wait_until(lambda: count(service, "messages_received") == 2, timeout_s=10)
    assert wait_until(
        lambda: count(service, "messages_rejected", reason="invalid_json") == 2, timeout_s=10
    )
    assert [letter.payload for letter in dead_letters.letters()] == [broken]
