"""Acknowledged delivery through a real Mosquitto, InfluxDB and SQL store: dedup, gaps, acks."""

import threading
import time
import uuid
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from devstack.city import CITY
from devstack.processes import wait_until
from store.sql import DeliveryLedger, create_engine_for
from telemetry import Reading, TelemetryBatch, decode_ack, encode, topics

pytestmark = pytest.mark.integration

GW = CITY[0].gateway  # registered by the `city` fixture


def numbered(seq: int, *, gateway: str = GW) -> bytes:
    """Batch ``seq`` of ``gateway``: one pm25 reading whose value and time tell the seq."""
    ts = int(time.time() * 1000) // 1000 * 1000 + seq
    reading = Reading(device="pm-1", metric="pm25", value=float(seq), ts=ts)
    return encode(TelemetryBatch(gateway=gateway, seq=seq, readings=[reading]))


def count(service, name: str) -> float:
    return service.counters.registry.get_sample_value(f"lantian_ingest_{name}_total") or 0.0


def retained_ack(broker, gateway: str = GW) -> int | None:
    """The watermark a gateway connecting now would learn: the retained ack, or None."""
    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"test-ack-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )

    def on_message(_c, _u, message) -> None:
        got.append(bytes(message.payload))
        done.set()

    client.on_message = on_message
    client.on_subscribe = lambda *_: threading.Timer(0.5, done.set).start()
    client.connect(broker.host, broker.port)
    client.subscribe(topics.ack(gateway), qos=1)
    client.loop_start()
    try:
        done.wait(10)
    finally:
        client.disconnect()
        client.loop_stop()
    if not got:
        return None
    ack = decode_ack(got[0])
    assert ack.gateway == gateway
    return ack.seq


@pytest.fixture
def ledger(city_url) -> Iterator[DeliveryLedger]:
    """The delivery state ingest keeps in the SQL store, read by the test."""
    engine = create_engine_for(city_url)
    yield DeliveryLedger(engine)
    engine.dispose()


def pm25_values(influx) -> list[float]:
    return sorted(
        row["value"] for series in influx.query('SELECT * FROM "pm25"') for row in series.rows()
    )


def test_contiguous_batches_raise_the_watermark_which_is_published_retained(
    mosquitto, influx, ingest, gateway, ledger
):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    for seq in (1, 2, 3):
        gw.telemetry(GW, numbered(seq))

    assert wait_until(lambda: ledger.watermark(GW) == 3, timeout_s=10)
    assert wait_until(lambda: retained_ack(mosquitto) == 3, timeout_s=10)
    assert count(service, "acks_published") >= 1
    assert pm25_values(influx) == [1.0, 2.0, 3.0]


def test_out_of_order_batches_raise_the_watermark_only_once_the_ones_below_are_stored(
    mosquitto, influx, ingest, gateway, ledger
):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    gw.telemetry(GW, numbered(3))
    assert wait_until(lambda: ledger.pending(GW) == [3], timeout_s=10)
    gw.telemetry(GW, numbered(1))
    assert wait_until(lambda: ledger.watermark(GW) == 1, timeout_s=10)
    assert ledger.pending(GW) == [3]

    gw.telemetry(GW, numbered(2))

    assert wait_until(lambda: ledger.watermark(GW) == 3, timeout_s=10)
    assert wait_until(lambda: retained_ack(mosquitto) == 3, timeout_s=10)
    assert count(service, "gaps") == 0


def test_duplicates_are_counted_and_not_written_again(mosquitto, influx, ingest, gateway, ledger):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    gw.telemetry(GW, numbered(1))
    gw.telemetry(GW, numbered(3))
    assert wait_until(lambda: count(service, "readings_written") == 2, timeout_s=10)

    gw.telemetry(GW, numbered(1))  # ≤ W
    gw.telemetry(GW, numbered(3))  # stored, above W

    assert wait_until(lambda: count(service, "duplicates") == 2, timeout_s=10)
    assert count(service, "readings_written") == 2
    assert ledger.watermark(GW) == 1


def test_copies_arriving_back_to_back_are_written_once_whichever_stage_catches_them(
    mosquitto, influx, ingest, gateway, ledger
):
    # One message a batch: a copy is looked up while the first may still be on its way through
    # writing and recording, so it is caught either before it is written or when its seq is
    # recorded; the counts come out the same either way.
    service = ingest.start(mosquitto, influx, batch_max_readings=1)
    gw = gateway(mosquitto)
    for _ in range(5):
        gw.telemetry(GW, numbered(1))
    gw.telemetry(GW, numbered(2))

    assert wait_until(lambda: ledger.watermark(GW) == 2, timeout_s=10)
    assert wait_until(lambda: count(service, "duplicates") == 4, timeout_s=10)
    assert count(service, "readings_written") == 2
    assert count(service, "readings_received") == 2
    assert pm25_values(influx) == [1.0, 2.0]


def test_a_gap_past_the_timeout_is_recorded_and_a_late_batch_still_fills_it(
    mosquitto, influx, ingest, gateway, ledger
):
    service = ingest.start(mosquitto, influx, gap_timeout_s=0.5)
    gw = gateway(mosquitto)
    for seq in (1, 2, 5):
        gw.telemetry(GW, numbered(seq))

    assert wait_until(lambda: count(service, "gaps") == 1, timeout_s=10)
    assert ledger.watermark(GW) == 5
    assert wait_until(lambda: retained_ack(mosquitto) == 5, timeout_s=10)
    (gap,) = ledger.gaps(GW)
    assert (gap.first_seq, gap.last_seq, gap.filled_at) == (3, 4, None)

    gw.telemetry(GW, numbered(3))
    gw.telemetry(GW, numbered(4))

    assert wait_until(lambda: ledger.gaps(GW)[0].filled_at is not None, timeout_s=10)
    assert pm25_values(influx) == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert count(service, "duplicates") == 0


def test_the_watermark_survives_a_restart_of_ingest(mosquitto, influx, ingest, gateway, ledger):
    first = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    gw.telemetry(GW, numbered(1))
    gw.telemetry(GW, numbered(2))
    assert wait_until(lambda: ledger.watermark(GW) == 2, timeout_s=10)
    ingest.stop(first)

    second = ingest.start(mosquitto, influx)
    gw.telemetry(GW, numbered(2))  # the gateway replays a batch it had no ack for
    gw.telemetry(GW, numbered(3))

    assert wait_until(lambda: ledger.watermark(GW) == 3, timeout_s=10)
    assert wait_until(lambda: count(second, "duplicates") == 1, timeout_s=10)
    assert count(second, "readings_written") == 1
    assert wait_until(lambda: retained_ack(mosquitto) == 3, timeout_s=10)


def test_two_workers_on_a_shared_subscription_compute_one_watermark(
    mosquitto, influx, ingest, gateway, ledger
):
    workers = [ingest.start(mosquitto, influx, shared_group="ingest") for _ in range(2)]
    gw = gateway(mosquitto)
    batches = 30
    for seq in range(1, batches + 1):
        gw.telemetry(GW, numbered(seq))

    assert wait_until(lambda: ledger.watermark(GW) == batches, timeout_s=15)
    assert wait_until(lambda: retained_ack(mosquitto) == batches, timeout_s=10)
    assert sum(count(w, "readings_written") for w in workers) == batches
    assert all(count(w, "readings_written") > 0 for w in workers)  # both took part
    assert ledger.pending(GW) == []


def test_the_watermark_does_not_move_while_influxdb_is_down(
    mosquitto, own_influx, ingest, gateway, ledger
):
    server, store = own_influx
    service = ingest.start(mosquitto, store)
    gw = gateway(mosquitto)
    gw.telemetry(GW, numbered(1))
    assert wait_until(lambda: ledger.watermark(GW) == 1, timeout_s=10)
    server.stop()

    gw.telemetry(GW, numbered(2))
    assert wait_until(lambda: count(service, "write_retries") >= 1, timeout_s=10)
    assert ledger.watermark(GW) == 1
    assert ledger.pending(GW) == []
    assert retained_ack(mosquitto) == 1

    server.start()
    assert wait_until(lambda: ledger.watermark(GW) == 2, timeout_s=20)
    assert wait_until(lambda: retained_ack(mosquitto) == 2, timeout_s=10)
