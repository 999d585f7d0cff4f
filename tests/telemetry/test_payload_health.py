"""The clock flag on readings and the health fields of the status message."""

import json

import pytest

from telemetry import (
    ClockSync,
    DeviceHealth,
    GatewayState,
    GatewayStatus,
    PayloadError,
    Reading,
    SpoolHealth,
    TelemetryBatch,
    decode_batch,
    decode_status,
    encode,
)

T = 1_764_140_000_000


def batch_with(reading: dict[str, object]) -> bytes:
    return json.dumps({"schema": 1, "gateway": "gw-1", "seq": 1, "readings": [reading]}).encode()


READING = {"device": "pm-1", "metric": "pm25", "value": 35.0, "ts": T, "quality": "N"}


def test_a_flagged_reading_round_trips_and_an_unflagged_one_has_no_flag_on_the_wire():
    flagged = Reading(device="pm-1", metric="pm25", value=35.0, ts=T, time_unsynced=True)
    batch = TelemetryBatch(gateway="gw-1", seq=1, readings=[flagged])
    assert json.loads(encode(batch))["readings"][0]["time_unsynced"] is True
    assert decode_batch(encode(batch)) == batch
    plain = TelemetryBatch(
        gateway="gw-1", seq=1, readings=[flagged.model_copy(update={"time_unsynced": None})]
    )
    assert "time_unsynced" not in json.loads(encode(plain))["readings"][0]
    assert decode_batch(batch_with(READING)).readings[0].time_unsynced is None  # old gateways


@pytest.mark.parametrize("value", [False, "true", 1])
def test_the_flag_is_only_ever_true(value):
    with pytest.raises(PayloadError) as caught:
        decode_batch(batch_with({**READING, "time_unsynced": value}))
    assert caught.value.problems[0].startswith("readings.0.time_unsynced")


def test_a_health_report_round_trips():
    status = GatewayStatus(
        gateway="gw-1",
        state=GatewayState.ONLINE,
        ts=T,
        agent_version="0.1.0",
        uptime_s=3600.5,
        spool=SpoolHealth(batches=2, readings=30, oldest_unacked_s=12.0, in_flight=1),
        devices={"pm-1": DeviceHealth(state="timeout", read_timeouts=3, last_error="silent")},
        clock=ClockSync.UNKNOWN,
        cpu_temp_c=47.2,
    )
    wire = json.loads(encode(status))
    assert wire["clock"] == "unknown"
    assert wire["spool"]["in_flight"] == 1
    assert wire["devices"]["pm-1"]["state"] == "timeout"
    assert decode_status(encode(status)) == status


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"clock": "maybe"}, "clock"),
        ({"uptime_s": -1.0}, "uptime_s"),
        ({"spool": {"batches": -1, "readings": 0}}, "spool.batches"),
        ({"devices": {"pm-1": {"state": "ok", "colour": "red"}}}, "devices.pm-1.colour"),
    ],
    ids=["clock", "uptime", "spool", "unknown-device-field"],
)
def test_a_bad_health_field_is_refused(extra, problem):
    payload = {"schema": 1, "gateway": "gw-1", "state": "online", "ts": T, **extra}
    with pytest.raises(PayloadError) as caught:
        decode_status(json.dumps(payload).encode())
    assert caught.value.problems[0].startswith(problem)
