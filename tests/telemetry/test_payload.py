import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry import (
    Ack,
    GatewayState,
    GatewayStatus,
    PayloadError,
    Quality,
    Reading,
    TelemetryBatch,
    decode_ack,
    decode_batch,
    decode_batch_partial,
    decode_status,
    encode,
)
from telemetry.payload import MAX_PAYLOAD_BYTES

TS = 1_764_140_000_000


def _batch_json(**overrides: object) -> bytes:
    reading: dict[str, object] = {
        "device": "pm-1",
        "metric": "pm25",
        "value": 35.0,
        "ts": TS,
        "quality": "N",
    }
    reading.update(overrides.pop("reading", {}))  # type: ignore[call-overload]
    message: dict[str, object] = {"schema": 1, "gateway": "gw-1", "seq": 7, "readings": [reading]}
    message.update(overrides)
    return json.dumps(message).encode()


def test_encodes_the_documented_wire_format():
    batch = TelemetryBatch(
        gateway="gw-0001",
        seq=42,
        readings=[Reading(device="pm-1", metric="pm25", value=35.0, ts=TS)],
    )
    assert encode(batch) == (
        b'{"schema":1,"gateway":"gw-0001","seq":42,"readings":'
        b'[{"device":"pm-1","metric":"pm25","value":35.0,"ts":1764140000000,"quality":"N"}]}'
    )


def test_aggregate_fields_round_trip():
    reading = Reading(
        device="pm-1",
        metric="pm10",
        value=80.5,
        ts=TS,
        quality=Quality.MAINTENANCE,
        min=60.0,
        max=99.0,
        count=60,
    )
    batch = TelemetryBatch(gateway="gw-1", seq=0, readings=[reading])
    decoded = decode_batch(encode(batch))
    assert decoded == batch
    assert decoded.readings[0].quality is Quality.MAINTENANCE


def test_integer_value_on_the_wire_is_accepted_as_a_float():
    decoded = decode_batch(_batch_json(reading={"value": 35}))
    assert decoded.readings[0].value == 35.0


@pytest.mark.parametrize(
    ("payload", "reason", "problem"),
    [
        (b"{", "invalid_json", "<root>: Invalid JSON"),
        (b"[]", "schema", "<root>: Input should be an object"),
        (_batch_json(schema=2), "schema", "schema: Input should be 1"),
        (_batch_json(seq="7"), "schema", "seq: Input should be a valid integer"),
        (_batch_json(seq=-1), "schema", "seq: Input should be greater than or equal to 0"),
        (_batch_json(gateway="gw/1"), "schema", "gateway: String should match pattern"),
        (_batch_json(gateway="+"), "schema", "gateway: String should match pattern"),
        (_batch_json(readings=[]), "schema", "readings: List should have at least 1 item"),
        (_batch_json(extra=1), "schema", "extra: Extra inputs are not permitted"),
        (
            _batch_json(reading={"value": "35"}),
            "schema",
            "readings.0.value: Input should be a valid number",
        ),
        (
            _batch_json(reading={"value": True}),
            "schema",
            "readings.0.value: Input should be a valid number",
        ),
        (
            _batch_json(reading={"ts": TS // 1000}),
            "schema",
            "readings.0.ts: Input should be greater than or equal to",
        ),
        (
            _batch_json(reading={"ts": TS * 1000}),
            "schema",
            "readings.0.ts: Input should be less than",
        ),
        (
            _batch_json(reading={"quality": "X"}),
            "schema",
            "readings.0.quality: Input should be 'N'",
        ),
        (
            _batch_json(reading={"metric": "PM2.5"}),
            "schema",
            "readings.0.metric: String should match",
        ),
        (
            _batch_json(reading={"min": 40.0}),
            "schema",
            "readings.0: Value error, min is greater than value",
        ),
        (
            _batch_json(reading={"max": 30.0}),
            "schema",
            "readings.0: Value error, max is less than value",
        ),
        (
            _batch_json(reading={"count": 0}),
            "schema",
            "readings.0.count: Input should be greater than or equal to 1",
        ),
        (
            (
                b'{"schema":1,"gateway":"g","seq":1,"readings":[{"device":"d","metric":"pm25",'
                b'"value":NaN,"ts":1764140000000}]}'
            ),
            "schema",
            "readings.0.value: Input should be a finite number",
        ),
    ],
)
def test_bad_batches_raise_a_payload_error_naming_the_field(payload, reason, problem):
    with pytest.raises(PayloadError) as caught:
        decode_batch(payload)
    assert caught.value.reason == reason
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_oversized_payload_is_refused_before_parsing():
    with pytest.raises(PayloadError) as caught:
        decode_batch(b" " * (MAX_PAYLOAD_BYTES + 1))
    assert caught.value.reason == "too_large"


def test_status_and_ack_round_trip():
    birth = GatewayStatus(gateway="gw-1", state=GatewayState.ONLINE, ts=TS, agent_version="0.1.0")
    will = GatewayStatus(gateway="gw-1", state=GatewayState.OFFLINE)
    ack = Ack(gateway="gw-1", seq=99, ts=TS)
    assert decode_status(encode(birth)) == birth
    assert encode(will) == b'{"schema":1,"gateway":"gw-1","state":"offline"}'
    assert decode_ack(encode(ack)) == ack


@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_escape_as_anything_but_payload_error(data):
    try:
        decode_batch(data)
    except PayloadError as exc:
        outcome = exc.reason
    else:
        outcome = "decoded"
    assert outcome in {"invalid_json", "schema", "decoded"}


# --- decoding reading by reading -------------------------------------------------------------


def test_a_good_batch_decodes_whole_with_nothing_rejected():
    decoded = decode_batch_partial(_batch_json())
    assert (decoded.gateway, decoded.seq, decoded.rejected) == ("gw-1", 7, [])
    assert decoded.readings == list(decode_batch(_batch_json()).readings)


def test_a_broken_reading_is_rejected_alone_with_its_position_and_raw_json():
    good = {"device": "pm-1", "metric": "pm25", "value": 35.0, "ts": TS}
    payload = json.dumps(
        {
            "schema": 1,
            "gateway": "gw-1",
            "seq": 7,
            "readings": [good, {**good, "value": "35"}, 17, {**good, "ts": TS + 1}],
        }
    ).encode()
    decoded = decode_batch_partial(payload)
    assert [r.ts for r in decoded.readings] == [TS, TS + 1]
    assert [(r.index, r.reason) for r in decoded.rejected] == [(1, "schema"), (2, "schema")]
    assert json.loads(decoded.rejected[0].raw) == {**good, "value": "35"}
    assert decoded.rejected[0].problems[0].startswith("value:")
    assert decoded.rejected[1].raw == "17"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{", "invalid_json"),
        (_batch_json(seq="7"), "schema"),
        (_batch_json(readings=[]), "schema"),
        (_batch_json(schema=2), "schema"),
        (_batch_json(gateway="no/slash"), "schema"),
        (b" " * (MAX_PAYLOAD_BYTES + 1), "too_large"),
    ],
)
def test_a_broken_envelope_is_a_payload_error(payload, reason):
    with pytest.raises(PayloadError) as caught:
        decode_batch_partial(payload)
    assert caught.value.reason == reason


def test_a_reading_may_state_its_unit():
    reading = Reading(device="pm-1", metric="pm25", value=1.0, ts=TS, unit="µg/m³")
    assert (
        decode_batch(encode(TelemetryBatch(gateway="g", seq=1, readings=[reading])))
        .readings[0]
        .unit
        == "µg/m³"
    )
    assert b"unit" not in encode(Reading(device="pm-1", metric="pm25", value=1.0, ts=TS))
