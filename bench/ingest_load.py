"""The load of the ingest benchmark: a city's gateways, their telemetry batches, their publishers.

Every gateway is registered in the SQL store at one of the simulated city's sites
(:data:`devstack.city.CITY`): the first ones are the city's own gateways, more stand beside them
at the same sites. A gateway's batches carry seq 1, 2, 3, ... and readings of its particulate
sensors (``DEVICES`` sensors, ``METRICS`` each); one batch holds readings of distinct series at
one source time, and each batch of a gateway has a source time of its own, so every reading is a
point of its own in InfluxDB and a ``count`` there says exactly how many arrived.

Source times are recent, as a city's live telemetry is: a backlog's span the last two minutes
before it is encoded, so ingest neither refuses them (too far ahead of its clock) nor takes
them for a replayed backlog (late readings, which make it roll up their windows again).

Payloads are encoded before anything is measured (:func:`backlog`), so the publisher's Python
is not what the benchmark times; :class:`Publishers` sends them at QoS 1, one MQTT connection
per gateway, as a city's gateways do.
"""

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devstack.city import CITY, register
from store.lineprotocol import encode_point
from store.readings import reading_point
from store.sql import Placement, Registry, create_engine_for, migrate
from telemetry import Reading, TelemetryBatch, encode, topics

METRICS = ("pm1", "pm25", "pm10")
DEVICES = 40
SERIES = [(f"pm-{device:02d}", metric) for device in range(DEVICES) for metric in METRICS]
MAX_PER_MESSAGE = len(SERIES)
RECENT_SPAN_MS = 120_000  # the source times of a backlog: the last two minutes
PROBE_DEVICE = "probe"  # the latency probe's series, one per gateway (see bench.ingest_latency)
PROBE_METRIC = "pm25"


@dataclass(frozen=True, slots=True)
class Message:
    """One telemetry batch, encoded, ready to publish."""

    gateway: str
    topic: str
    payload: bytes
    readings: int


def gateway_ids(count: int) -> list[tuple[str, str]]:
    """``count`` gateways as (gateway, site): the city's own, then more at the same sites."""
    found = [(site.gateway, site.site) for site in CITY[:count]]
    for n in range(len(CITY), count):
        site = CITY[n % len(CITY)]
        found.append((f"{site.gateway}-{n // len(CITY) + 1}", site.site))
    return found


def prepare_registry(sql_url: str, gateways: Sequence[tuple[str, str]]) -> dict[str, Placement]:
    """Create the SQL store's schema, register the city and ``gateways``; their placements."""
    migrate(sql_url)
    engine = create_engine_for(sql_url)
    try:
        registry = Registry(engine)
        register(registry, CITY)
        city_gateways = {site.gateway for site in CITY}
        for gateway, site in gateways:
            if gateway not in city_gateways:
                registry.add_gateway(gateway, site_id=site)
        placements = registry.placements()
    finally:
        engine.dispose()
    return {gateway: placements[gateway] for gateway, _ in gateways}


def _value(index: int) -> float:
    return float(index % 997) / 10  # a plausible particulate concentration, µg/m³


def batch_readings(k: int, per_message: int, ts: int) -> list[Reading]:
    """The readings of a gateway's batch ``k`` (from 0): distinct series, all at ``ts``.

    The series rotate from batch to batch, so small batches still cover every series.
    """
    first = k * per_message
    return [
        Reading(
            device=SERIES[(first + j) % len(SERIES)][0],
            metric=SERIES[(first + j) % len(SERIES)][1],
            value=_value(first + j),
            ts=ts,
        )
        for j in range(per_message)
    ]


def _plan(gateways: Sequence[str], messages: int) -> Iterator[tuple[str, int]]:
    """(gateway, k) of every message, the gateways taking turns."""
    for index in range(messages):
        yield gateways[index % len(gateways)], index // len(gateways)


def source_times(gateways: int, messages: int, end_ms: int) -> tuple[int, int]:
    """(first time, step) of a gateway's batches: ``messages`` spread over the recent span.

    A step of at least 1 ms keeps every batch of a gateway at a time of its own.
    """
    per_gateway = -(-messages // gateways)
    step = max(1, min(1000, RECENT_SPAN_MS // per_gateway))
    return end_ms - step * per_gateway, step


def backlog(gateways: Sequence[str], messages: int, per_message: int, end_ms: int) -> list[Message]:
    """``messages`` batches of ``per_message`` readings, the gateways taking turns.

    Their source times end at ``end_ms``.
    """
    if not 1 <= per_message <= MAX_PER_MESSAGE:
        raise ValueError(f"1 to {MAX_PER_MESSAGE} readings per message, not {per_message}")
    first, step = source_times(len(gateways), messages, end_ms)
    return [
        Message(
            gateway,
            topics.telemetry(gateway),
            encode(
                TelemetryBatch(
                    gateway=gateway,
                    seq=k + 1,
                    readings=batch_readings(k, per_message, first + k * step),
                )
            ),
            per_message,
        )
        for gateway, k in _plan(gateways, messages)
    ]


def backlog_lines(
    placements: dict[str, Placement], messages: int, per_message: int, end_ms: int
) -> list[str]:
    """The readings of :func:`backlog` as line protocol, the points ingest writes for them."""
    gateways = list(placements)
    first, step = source_times(len(gateways), messages, end_ms)
    return [
        encode_point(reading_point(placements[gateway], reading))
        for gateway, k in _plan(gateways, messages)
        for reading in batch_readings(k, per_message, first + k * step)
    ]


class Publishers:
    """One MQTT connection per gateway, publishing at QoS 1 and counting the broker's PUBACKs."""

    def __init__(self, host: str, port: int, gateways: Sequence[str]) -> None:
        self._lock = threading.Lock()
        self._acked = 0
        self._clients: dict[str, mqtt.Client] = {}
        for gateway in gateways:
            client = mqtt.Client(
                callback_api_version=CallbackAPIVersion.VERSION2,
                client_id=f"bench-{gateway}",
                protocol=MQTTProtocolVersion.MQTTv311,
            )
            client.max_inflight_messages_set(1000)  # a backlog goes out at the broker's pace
            client.on_publish = self._on_publish
            client.connect(host, port)
            client.loop_start()
            self._clients[gateway] = client

    @property
    def acked(self) -> int:
        """Messages the broker has acknowledged (and so holds) so far."""
        with self._lock:
            return self._acked

    def publish(self, message: Message) -> None:
        """Queue ``message`` on its gateway's connection."""
        info = self._clients[message.gateway].publish(message.topic, message.payload, qos=1)
        if info.rc not in {mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN}:
            raise RuntimeError(f"paho could not queue a message: {mqtt.error_string(info.rc)}")

    def wait_acked(self, count: int, timeout_s: float) -> bool:
        """Wait until the broker has acknowledged ``count`` messages; say whether it did."""
        deadline = time.monotonic() + timeout_s
        while self.acked < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        """Disconnect every connection."""
        for client in self._clients.values():
            client.disconnect()
            client.loop_stop()

    def _on_publish(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _mid: int,
        _reason_code: ReasonCode,
        _properties: Properties,
    ) -> None:
        with self._lock:
            self._acked += 1
