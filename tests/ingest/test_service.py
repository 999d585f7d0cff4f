"""IngestService in-process between a real Mosquitto and a real InfluxDB, counting every reading."""

import itertools
import json
import time
from collections.abc import Sequence

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devstack.city import CITY, register
from devstack.processes import wait_until
from ingest.service import IngestService
from store.influx import InfluxStore
from telemetry import GatewayState, GatewayStatus, Quality, Reading, TelemetryBatch, encode, topics
from telemetry.payload import MAX_PAYLOAD_BYTES

pytestmark = pytest.mark.integration

HENGTONG, QINGYUAN = CITY[0], CITY[1]  # gw-0001 in a park, gw-0002; both registered by `city`
_seq = itertools.count(1)


def now_ms() -> int:
    """A recent time: ingest's raw retention policy (400 d) refuses older points."""
    return int(time.time() * 1000)


def batch(gateway: str, values: Sequence[float], *, ts: int, device: str = "pm-1") -> bytes:
    """A pm25 batch with one reading per value, one millisecond apart from ``ts``."""
    readings = [
        Reading(device=device, metric="pm25", value=value, ts=ts + i)
        for i, value in enumerate(values)
    ]
    return encode(TelemetryBatch(gateway=gateway, seq=next(_seq), readings=readings))


def stored(influx: InfluxStore, metric: str = "pm25") -> list[dict[str, object]]:
    """Every point of ``metric``, oldest first, with its tags and fields."""
    return [
        row
        for series in influx.query(f'SELECT * FROM "{metric}"')  # noqa: S608 - a test literal
        for row in series.rows()
    ]


def values(influx: InfluxStore) -> list[tuple[object, ...]]:
    return [(row["gateway"], row["time"], row["value"]) for row in stored(influx)]


def count(service: IngestService, name: str, **labels: str) -> float:
    """One of the service's counters, 0 before it has a sample."""
    value = service.counters.registry.get_sample_value(f"lantian_ingest_{name}_total", labels)
    return value or 0.0


def scrape(service: IngestService) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples the Prometheus endpoint serves, by name and labels."""
    response = httpx.get(f"http://127.0.0.1:{service.metrics_port}/metrics", timeout=5)
    response.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


# --- the happy path -------------------------------------------------------------------------


def test_batches_land_with_placement_tags_fields_and_source_times(
    mosquitto, influx, ingest, gateway
):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    t = now_ms()
    gw.telemetry(
        HENGTONG.gateway,
        encode(
            TelemetryBatch(
                gateway=HENGTONG.gateway,
                seq=1,
                readings=[
                    Reading(device="pm-1", metric="pm25", value=35.5, ts=t),
                    Reading(
                        device="pm-1",
                        metric="pm25",
                        value=30.0,
                        ts=t + 60_000,
                        quality=Quality.CALIBRATION,
                        min=20.0,
                        max=41.5,
                        count=60,
                    ),
                    Reading(device="pm-1", metric="pm10", value=80.0, ts=t),
                ],
            )
        ),
    )
    gw.telemetry(QINGYUAN.gateway, batch(QINGYUAN.gateway, [12.0], ts=t + 1, device="pm-9"))

    assert wait_until(lambda: count(service, "readings_written") == 4, timeout_s=10)

    hengtong_tags = {
        "county": "chiping",
        "park": "xinfa-materials",
        "enterprise": "ent-hengtong-al",
        "site": "site-hengtong-east",
        "gateway": "gw-0001",
    }
    assert stored(influx) == [
        {
            "time": t,
            **hengtong_tags,
            "device": "pm-1",
            "quality": "N",
            "interval": "raw",
            "value": 35.5,
            "min": None,
            "max": None,
            "count": None,
        },
        {
            "time": t + 1,
            "county": "yanggu",
            "park": "xiangguang-eco",
            "enterprise": "ent-qingyuan-cu",
            "site": "site-qingyuan-stack",
            "gateway": "gw-0002",
            "device": "pm-9",
            "quality": "N",
            "interval": "raw",
            "value": 12.0,
            "min": None,
            "max": None,
            "count": None,
        },
        {
            "time": t + 60_000,
            **hengtong_tags,
            "device": "pm-1",
            "quality": "C",
            "interval": "raw",
            "value": 30.0,
            "min": 20.0,
            "max": 41.5,
            "count": 60,
        },
    ]
    assert stored(influx, "pm10") == [
        {
            "time": t,
            **hengtong_tags,
            "device": "pm-1",
            "quality": "N",
            "interval": "raw",
            "value": 80.0,
        }
    ]
    assert count(service, "messages_received") == 2
    assert count(service, "readings_received") == 4
    assert count(service, "readings_written") == 4
    assert service.counters.rejected_total() == 0


def test_the_metrics_endpoint_serves_the_counters(mosquitto, influx, ingest, gateway):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    gw.telemetry(HENGTONG.gateway, batch(HENGTONG.gateway, [1.0, 2.0, 3.0], ts=now_ms()))
    gw.telemetry(HENGTONG.gateway, b"not json")
    assert wait_until(lambda: count(service, "readings_written") == 3, timeout_s=10)
    assert wait_until(lambda: count(service, "messages_received") == 2, timeout_s=10)

    assert service.metrics_port is not None
    assert service.metrics_port > 0  # settings asked for 0: the OS picked a port
    served = scrape(service)

    assert served[("lantian_ingest_messages_received_total", ())] == 2
    assert served[("lantian_ingest_readings_received_total", ())] == 3
    assert served[("lantian_ingest_readings_written_total", ())] == 3
    assert served[("lantian_ingest_write_retries_total", ())] == 0
    assert served[("lantian_ingest_messages_rejected_total", (("reason", "invalid_json"),))] == 1
    assert served[("lantian_ingest_subscribed", ())] == 1
    assert served[("lantian_ingest_batch_seconds_count", ())] >= 1


# --- rejections -----------------------------------------------------------------------------


def _schema_error() -> bytes:
    message = json.loads(batch(HENGTONG.gateway, [1.0], ts=now_ms()))
    message["seq"] = "35"  # strict decoding: no string-to-int coercion, and no seq to record
    return json.dumps(message).encode()


REJECTIONS = {
    "invalid_json": lambda: (topics.telemetry("gw-0001"), b'{"schema": 1, "gateway": "gw-'),
    "schema": lambda: (topics.telemetry("gw-0001"), _schema_error()),
    "too_large": lambda: (topics.telemetry("gw-0001"), b" " * (MAX_PAYLOAD_BYTES + 1)),
    "unknown_gateway": lambda: (
        topics.telemetry("gw-9999"),
        batch("gw-9999", [1.0], ts=now_ms()),
    ),
    "gateway_mismatch": lambda: (
        topics.telemetry(HENGTONG.gateway),
        batch(QINGYUAN.gateway, [1.0], ts=now_ms()),
    ),
    # the subscription's + matches any level, also one that is no valid gateway id
    "topic": lambda: ("lantian/v1/gw/-not-an-id/telemetry", batch("gw-0001", [1.0], ts=now_ms())),
}


@pytest.mark.parametrize("reason", list(REJECTIONS))
def test_a_message_that_can_never_be_written_is_kept_as_a_dead_letter_and_ingest_goes_on(
    mosquitto, influx, ingest, gateway, dead_letters, reason
):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    topic, payload = REJECTIONS[reason]()
    t = now_ms() + 10_000  # apart from anything the rejected message carries

    gw.publish(topic, payload)
    gw.telemetry(HENGTONG.gateway, batch(HENGTONG.gateway, [7.0, 8.0], ts=t))

    # one client, QoS 1: the good batch is delivered, so handled, after the rejected message
    assert wait_until(lambda: count(service, "readings_written") == 2, timeout_s=10)
    assert count(service, "messages_rejected", reason=reason) == 1
    assert service.counters.rejected_total() == 1
    assert count(service, "messages_received") == 2
    assert values(influx) == [("gw-0001", t, 7.0), ("gw-0001", t + 1, 8.0)]
    assert scrape(service)[("lantian_ingest_messages_rejected_total", (("reason", reason),))] == 1
    [letter] = dead_letters.letters()
    assert (letter.reason, letter.topic, letter.payload) == (reason, topic, payload)
    assert letter.reading_index is None
    assert letter.detail
    assert count(service, "dead_letters") == 1


def test_only_telemetry_topics_reach_ingest(mosquitto, influx, ingest, gateway):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    status = GatewayStatus(gateway=HENGTONG.gateway, state=GatewayState.ONLINE, ts=now_ms())
    gw.publish(topics.status(HENGTONG.gateway), encode(status))
    gw.publish(topics.cmd(HENGTONG.gateway), b"{}")
    gw.publish(topics.alerts(HENGTONG.enterprise[0]), b"{}")
    gw.publish(f"{topics.telemetry(HENGTONG.gateway)}/extra", batch("gw-0001", [9.0], ts=now_ms()))
    gw.telemetry(HENGTONG.gateway, batch(HENGTONG.gateway, [1.0], ts=now_ms()))

    assert wait_until(lambda: count(service, "readings_written") == 1, timeout_s=10)
    assert count(service, "messages_received") == 1
    assert service.counters.rejected_total() == 0


# --- the registry ---------------------------------------------------------------------------


def test_a_gateway_registered_after_start_is_accepted(registry, mosquitto, influx, ingest, gateway):
    register(registry, CITY[:2])  # on SQLite, then on PostgreSQL
    service = ingest.start(mosquitto, influx, registry=registry)
    gw = gateway(mosquitto)
    t = now_ms()

    gw.telemetry("gw-late", batch("gw-late", [1.0], ts=t))
    assert wait_until(
        lambda: count(service, "messages_rejected", reason="unknown_gateway") == 1, timeout_s=10
    )
    registry.add_gateway("gw-late", site_id=QINGYUAN.site)
    gw.telemetry("gw-late", batch("gw-late", [2.0], ts=t + 1))

    assert wait_until(lambda: count(service, "readings_written") == 1, timeout_s=10)
    [row] = stored(influx)
    assert row["gateway"] == "gw-late"
    assert row["site"] == QINGYUAN.site
    assert row["enterprise"] == QINGYUAN.enterprise[0]
    assert row["county"] == QINGYUAN.county[0]
    assert (row["time"], row["value"]) == (t + 1, 2.0)
    assert count(service, "messages_rejected", reason="unknown_gateway") == 1


def test_a_gateway_moved_to_another_site_is_tagged_with_it_once_the_registry_changed(
    city, mosquitto, influx, ingest, gateway
):
    service = ingest.start(mosquitto, influx)  # the registry is checked every 0.1 s
    gw = gateway(mosquitto)
    t = now_ms()
    gw.telemetry(HENGTONG.gateway, batch(HENGTONG.gateway, [1.0], ts=t))
    assert wait_until(lambda: count(service, "readings_written") == 1, timeout_s=10)

    city.move_gateway(HENGTONG.gateway, site_id=QINGYUAN.site)
    time.sleep(0.3)  # past the refresh period: the cache sees the new version
    gw.telemetry(HENGTONG.gateway, batch(HENGTONG.gateway, [2.0], ts=t + 1))

    assert wait_until(lambda: count(service, "readings_written") == 2, timeout_s=10)
    sites = [(row["value"], row["site"], row["enterprise"]) for row in stored(influx)]
    assert sites == [
        (1.0, HENGTONG.site, HENGTONG.enterprise[0]),
        (2.0, QINGYUAN.site, QINGYUAN.enterprise[0]),
    ]


# --- idempotence ----------------------------------------------------------------------------


def test_a_replayed_batch_is_a_duplicate_and_not_written_again(mosquitto, influx, ingest, gateway):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    t = now_ms()
    payload = batch(HENGTONG.gateway, [1.0, 2.0, 3.0], ts=t)

    gw.telemetry(HENGTONG.gateway, payload)
    gw.telemetry(HENGTONG.gateway, payload)

    assert wait_until(
        lambda: (count(service, "duplicates"), count(service, "readings_written")) == (1, 3),
        timeout_s=10,
    )
    assert values(influx) == [("gw-0001", t, 1.0), ("gw-0001", t + 1, 2.0), ("gw-0001", t + 2, 3.0)]


# --- faults ---------------------------------------------------------------------------------


def test_readings_published_while_influxdb_is_down_arrive_once_it_is_back(
    mosquitto, own_influx, ingest, gateway
):
    server, store = own_influx
    service = ingest.start(mosquitto, store)
    gw = gateway(mosquitto)
    t = now_ms()
    server.stop()

    gw.telemetry(HENGTONG.gateway, batch(HENGTONG.gateway, [1.0, 2.0, 3.0], ts=t))
    gw.telemetry(QINGYUAN.gateway, batch(QINGYUAN.gateway, [4.0, 5.0], ts=t))
    assert wait_until(lambda: count(service, "write_retries") >= 1, timeout_s=10)
    assert count(service, "readings_written") == 0
    assert scrape(service)[("lantian_ingest_write_retries_total", ())] >= 1

    server.start()

    assert wait_until(lambda: count(service, "readings_written") == 5, timeout_s=20)
    assert sorted(values(store)) == [
        ("gw-0001", t, 1.0),
        ("gw-0001", t + 1, 2.0),
        ("gw-0001", t + 2, 3.0),
        ("gw-0002", t, 4.0),
        ("gw-0002", t + 1, 5.0),
    ]
    assert count(service, "messages_received") == 2
    assert service.counters.rejected_total() == 0


def test_a_message_is_acknowledged_only_once_written_so_the_next_ingest_gets_it(
    mosquitto_factory, own_influx, ingest, gateway
):
    broker = mosquitto_factory(persistence=True)
    server, store = own_influx
    first = ingest.start(broker, store, client_id="ingest-durable")
    gw = gateway(broker)
    t = now_ms()
    server.stop()

    gw.telemetry(HENGTONG.gateway, batch(HENGTONG.gateway, [1.0, 2.0], ts=t))
    assert wait_until(lambda: count(first, "write_retries") >= 1, timeout_s=10)
    ingest.stop(first)  # its writer gives up on the batch without acknowledging it
    assert count(first, "messages_received") == 1
    assert count(first, "readings_written") == 0

    broker.restart()  # the persistent session, with the unacknowledged message, survives it
    server.start()
    second = ingest.start(broker, store, client_id="ingest-durable")

    assert wait_until(lambda: count(second, "readings_written") == 2, timeout_s=10)
    assert values(store) == [("gw-0001", t, 1.0), ("gw-0001", t + 1, 2.0)]
    assert count(second, "messages_received") == 1


def test_an_ack_of_an_earlier_connection_is_not_sent_and_the_resent_copy_is_written_once(
    mosquitto_factory, own_influx, ingest, gateway
):
    broker = mosquitto_factory(persistence=True)
    server, store = own_influx
    service = ingest.start(broker, store, client_id="ingest-reconnects")
    gw = gateway(broker)
    t = now_ms()
    server.stop()
    gw.telemetry(HENGTONG.gateway, batch(HENGTONG.gateway, [1.0, 2.0], ts=t))
    assert wait_until(lambda: count(service, "write_retries") >= 1, timeout_s=10)

    broker.restart()  # ingest reconnects; the broker resends the unacknowledged message
    server.start()

    # The first copy is written; the resent one has a stored seq, so it is only acknowledged.
    assert wait_until(lambda: count(service, "duplicates") == 1, timeout_s=20)
    assert count(service, "readings_written") == 2
    assert values(store) == [("gw-0001", t, 1.0), ("gw-0001", t + 1, 2.0)]
    assert count(service, "messages_received") == 2  # the first copy and the resent one
    # The resent copy was acknowledged: a session resumed after this holds nothing from before.
    ingest.stop(service)
    resumed = ingest.start(broker, store, client_id="ingest-reconnects")
    gw.telemetry(HENGTONG.gateway, batch(HENGTONG.gateway, [3.0], ts=t + 10))
    assert wait_until(lambda: count(resumed, "readings_written") >= 1, timeout_s=10)
    assert count(resumed, "messages_received") == 1


def test_stop_flushes_and_acknowledges_what_has_arrived_without_waiting_for_the_batch_timer(
    mosquitto, influx, ingest, gateway
):
    batch_delay_s = 10.0
    service = ingest.start(
        mosquitto,
        influx,
        client_id="ingest-flush",
        batch_max_delay_s=batch_delay_s,
        batch_max_readings=100_000,
    )
    gw = gateway(mosquitto)
    t = now_ms()
    for i in range(3):
        gw.telemetry(HENGTONG.gateway, batch(HENGTONG.gateway, [float(i)], ts=t + i))
    assert wait_until(lambda: count(service, "messages_received") == 3, timeout_s=10)
    assert count(service, "readings_written") == 0  # held in the open batch
    assert stored(influx) == []

    began = time.monotonic()
    ingest.stop(service)
    stop_took_s = time.monotonic() - began

    assert values(influx) == [("gw-0001", t, 0.0), ("gw-0001", t + 1, 1.0), ("gw-0001", t + 2, 2.0)]
    assert count(service, "readings_written") == 3
    # Acknowledged: the session resumed by the same client id holds nothing from before; the
    # broker would resend it ahead of the marker published now.
    again = ingest.start(mosquitto, influx, client_id="ingest-flush")
    gw.telemetry(HENGTONG.gateway, batch(HENGTONG.gateway, [99.0], ts=t + 10))
    assert wait_until(lambda: len(stored(influx)) == 4, timeout_s=10)
    assert count(again, "messages_received") == 1
    # stop() ends the open batch now rather than after the batch timer
    assert stop_took_s < batch_delay_s / 2


# --- scaling out ----------------------------------------------------------------------------


def test_two_services_in_a_shared_group_each_take_part_of_the_messages(
    mosquitto, influx, ingest, gateway
):
    workers = [ingest.start(mosquitto, influx, shared_group="ingest") for _ in range(2)]
    gw = gateway(mosquitto)
    t = now_ms()
    messages = 20
    for i in range(messages):
        owner = HENGTONG.gateway if i % 2 == 0 else QINGYUAN.gateway
        gw.telemetry(owner, batch(owner, [float(i), float(i) + 0.5], ts=t + 10 * i))

    assert wait_until(
        lambda: sum(count(w, "readings_written") for w in workers) >= 2 * messages, timeout_s=10
    )
    assert len(stored(influx)) == 2 * messages
    received = [count(w, "messages_received") for w in workers]
    assert sum(received) == messages  # each message went to one worker only
    assert all(r > 0 for r in received), received
    assert sum(count(w, "readings_written") for w in workers) == 2 * messages
