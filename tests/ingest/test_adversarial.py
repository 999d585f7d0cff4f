"""Malformed and adversarial telemetry: ingest never crashes, and every refusal has a reason.

The properties run :func:`ingest.messages.decode_delivery` (the per-message half of the hot
path, no I/O) on generated input; the last test sends a set of nasty payloads through a real
Mosquitto into a running ingest and checks that each one is accounted for.
"""

import json
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.processes import wait_until
from ingest.broker import Delivery
from ingest.messages import Message, decode_delivery
from ingest.validation import ReadingChecks
from store.lineprotocol import encode_point
from store.readings import ReadingLines, reading_point
from store.sql import Placement, UnknownGatewayError
from telemetry import CATALOG, topics

GW = "gw-0001"  # registered by the `city` fixture for the test with real servers
PLACEMENT = Placement(GW, "site-1", "ent-1", "park-1", "county-1")
TS = 1_780_000_000_000
NOW_MS = TS + 3_600_000

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def placement_of(gateway: str) -> Placement:
    if gateway != GW:
        raise UnknownGatewayError(gateway)
    return PLACEMENT


def decode(payload: bytes, topic: str = topics.telemetry(GW)) -> Message:
    return decode_delivery(
        Delivery(topic, payload, mid=1, qos=1, connection=1, received_at=0.0),
        placement_of=placement_of,
        checks=ReadingChecks(clock_skew_s=300, late_after_s=600),
        lines=ReadingLines(),
    )


def assert_accounted(message: Message, sent_readings: int | None) -> None:
    """Either the whole message is one dead letter, or every reading is a line or a letter."""
    for letter in message.letters:
        assert letter.reason
        assert letter.detail
        assert letter.topic == message.delivery.topic
    if message.refused_reason is not None:
        assert message.seq is None
        assert message.lines == []
        [letter] = message.letters
        assert letter.payload == message.delivery.payload
        assert letter.reading_index is None
        return
    assert message.seq is not None
    assert len(message.lines) == len(message.readings) == len(message.positions)
    positions = message.positions + [letter.reading_index for letter in message.letters]
    if sent_readings is not None:
        assert sorted(positions) == list(range(sent_readings))  # type: ignore[type-var]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.binary(max_size=300))
def test_arbitrary_bytes_are_refused_whole_with_a_reason(payload):
    message = decode(payload)
    assert message.refused_reason is not None
    assert_accounted(message, None)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(document=json_values)
def test_arbitrary_json_is_accounted_for(document):
    message = decode(json.dumps(document).encode())
    assert_accounted(message, None)


def good_reading(i: int) -> dict[str, object]:
    return {"device": "pm-1", "metric": "pm25", "value": 35.0, "ts": TS + i, "quality": "N"}


READING_FIELDS = [
    "device",
    "metric",
    "value",
    "ts",
    "quality",
    "min",
    "max",
    "count",
    "valid",
    "interval_s",
    "time_unsynced",
    "unit",
    "extra",
]


@st.composite
def damaged_batches(draw: st.DrawFn) -> dict[str, object]:
    """A valid batch of 1 to 6 readings, some of whose fields were replaced by anything."""
    readings: list[object] = [good_reading(i) for i in range(draw(st.integers(1, 6)))]
    for _ in range(draw(st.integers(0, 6))):
        index = draw(st.integers(0, len(readings) - 1))
        if draw(st.booleans()):
            readings[index] = draw(json_values)  # not even an object, perhaps
        else:
            reading = readings[index]
            if isinstance(reading, dict):
                reading[draw(st.sampled_from(READING_FIELDS))] = draw(
                    json_values
                    | st.sampled_from(sorted(CATALOG))
                    | st.floats(allow_nan=False, allow_infinity=False)
                    | st.integers(TS - 10**9, TS + 10**10)
                )
    return {"schema": 1, "gateway": GW, "seq": 7, "readings": readings}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(batch=damaged_batches())
def test_damaged_readings_cost_themselves_only(batch):
    message = decode(json.dumps(batch).encode())
    assert message.refused_reason is None  # the envelope is intact
    assert message.seq == (GW, 7)
    assert_accounted(message, len(batch["readings"]))
    for letter in message.letters:
        assert (letter.gateway, letter.seq) == (GW, 7)
        sent = batch["readings"][letter.reading_index]
        assert json.loads(letter.payload) == sent or _has_nan(sent)
    for line, reading in zip(message.lines, message.readings, strict=True):
        assert line.startswith(f"{reading.metric},")
        assert CATALOG[reading.metric].in_range(reading.value)


def test_a_clean_batch_becomes_the_full_encoders_lines_in_order():
    batch = {"schema": 1, "gateway": GW, "seq": 3, "readings": [good_reading(i) for i in range(5)]}
    message = decode(json.dumps(batch).encode())
    assert message.letters == []
    assert message.positions == [0, 1, 2, 3, 4]
    assert [r.ts for r in message.readings] == [TS + i for i in range(5)]
    assert message.lines == [encode_point(reading_point(PLACEMENT, r)) for r in message.readings]


def test_readings_whose_series_cannot_be_written_are_each_a_dead_letter():
    unwritable = Placement(GW, "site\n1", "ent-1", None, "county-1")
    batch = {"schema": 1, "gateway": GW, "seq": 4, "readings": [good_reading(i) for i in range(3)]}
    message = decode_delivery(
        Delivery(topics.telemetry(GW), json.dumps(batch).encode(), 1, 1, 1, 0.0),
        placement_of=lambda _gateway: unwritable,
        checks=ReadingChecks(clock_skew_s=300, late_after_s=600),
        lines=ReadingLines(),
    )
    assert message.lines == []
    assert [(letter.reason, letter.reading_index) for letter in message.letters] == [
        ("unwritable", 0),
        ("unwritable", 1),
        ("unwritable", 2),
    ]
    assert all("line break" in letter.detail for letter in message.letters)


def _has_nan(value: object) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nan(v) for v in value)
    return False


NASTY = [
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"{}",
    b"\xff\xfe\x00garbage",
    b'{"schema": 1, "gateway": "gw-0001", "seq": 1, "readings": []}',
    b'{"schema": 2, "gateway": "gw-0001", "seq": 1, "readings": [{}]}',
    b'{"schema": 1, "gateway": "gw-0001", "seq": -1, "readings": [{}]}',
    b'{"schema": 1, "gateway": "gw-0001", "seq": 1e400, "readings": [{}]}',
    b'{"schema": 1, "gateway": "../etc", "seq": 1, "readings": [{}]}',
    b'{"schema": 1, "gateway": "gw-0001", "seq": 99999999999999999999999, "readings": [1]}',
    b"[" * 5000 + b"]" * 5000,
    b'{"schema": 1, "gateway": "gw-0001", "seq": 1, "readings": ['
    + b'{"a":' * 500
    + b"1"
    + b"}" * 500
    + b"]}",
    json.dumps(
        {"schema": 1, "gateway": GW, "seq": 1, "readings": [good_reading(0)], "x": 1}
    ).encode(),
]


@pytest.mark.integration
def test_nasty_payloads_through_a_running_ingest_are_each_kept_and_counted(
    mosquitto, influx, ingest, gateway, dead_letters
):
    service = ingest.start(mosquitto, influx)
    gw = gateway(mosquitto)
    for payload in NASTY:
        gw.telemetry(GW, payload)
    good = {"schema": 1, "gateway": GW, "seq": 1, "readings": [good_reading(0)]}
    good["readings"][0]["ts"] = int(time.time() * 1000)  # type: ignore[index]
    gw.telemetry(GW, json.dumps(good).encode())

    assert wait_until(lambda: count(service, "messages_received") == len(NASTY) + 1, timeout_s=15)
    assert wait_until(lambda: count(service, "readings_written") == 1, timeout_s=10)
    assert service.counters.rejected_total() == len(NASTY)
    assert {letter.payload for letter in dead_letters.letters(limit=1000)} == set(NASTY)


def count(service, name: str) -> float:
    value = service.counters.registry.get_sample_value(f"lantian_ingest_{name}_total")
    return value or 0.0
