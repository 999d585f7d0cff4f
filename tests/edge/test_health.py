"""The health report (edge.health): what it contains, its file, and how it is judged."""

import json

import pytest

from edge.devices.base import DeviceCounters, DeviceState
from edge.health import (
    HEALTH_FILE,
    assess,
    build_health,
    cpu_temperature_c,
    read_health,
    write_health,
)
from edge.publisher import PublisherCounters
from edge.spool import SpoolCounters
from telemetry import ClockSync, GatewayState, GatewayStatus, PayloadError, decode_status

T = 1_764_140_000_000
GATEWAY = "gw-health-1"


def publisher_counters(**changes):
    fields = dict[str, object](dict.fromkeys(PublisherCounters.__dataclass_fields__, 0))
    fields.update(connected=True, oldest_unacked_s=None, watermark=None)
    fields.update(changes)
    return PublisherCounters(**fields)  # type: ignore[arg-type]


def report(*, now_ms=T, devices=None, clock=ClockSync.SYNCED, temp=None):
    return build_health(
        GATEWAY,
        now_ms=now_ms,
        agent_version="9.9.9",
        uptime_s=12.5,
        spool=SpoolCounters(
            depth=3,
            readings=40,
            used_bytes=999,
            oldest_created_ms=T - 7000,
            last_seq=9,
            dropped_raw=5,
            dropped_aggregate=1,
            dropped_batches=0,
        ),
        publisher=publisher_counters(oldest_unacked_s=7.0, in_flight=2),
        devices=devices if devices is not None else {"pm-1": DeviceCounters(state=DeviceState.OK)},
        clock=clock,
        cpu_temp_c=temp,
    )


def test_the_report_carries_spool_devices_clock_and_version():
    failing = DeviceCounters(
        state=DeviceState.TIMEOUT,
        consecutive_failures=4,
        read_timeouts=6,
        bad_frames=1,
        checksum_errors=2,
        device_faults=0,
        last_error="no answer in 1.0 s",
    )
    status = report(devices={"m-2": failing, "m-1": DeviceCounters(state=DeviceState.OK)})
    wire = json.loads(status.model_dump_json(by_alias=True, exclude_none=True))
    assert wire["state"] == "online"
    assert wire["ts"] == T
    assert wire["agent_version"] == "9.9.9"
    assert wire["uptime_s"] == 12.5
    assert wire["clock"] == "synced"
    assert wire["spool"] == {
        "batches": 3,
        "readings": 40,
        "oldest_unacked_s": 7.0,
        "in_flight": 2,
        "dropped_raw": 5,
        "dropped_aggregate": 1,
        "dropped_batches": 0,
    }
    assert list(wire["devices"]) == ["m-1", "m-2"]
    assert wire["devices"]["m-2"] == {
        "state": "timeout",
        "consecutive_failures": 4,
        "read_timeouts": 6,
        "bad_frames": 3,  # damaged frames of streaming sensors count as bad frames
        "device_faults": 0,
        "last_error": "no answer in 1.0 s",
    }
    assert "cpu_temp_c" not in wire  # no thermal zone: omitted, not zero


def test_an_unset_clock_leaves_the_time_out_of_the_report():
    assert report(now_ms=1000, clock=ClockSync.UNSYNCED).ts is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [("48312\n", 48.312), ("-5000", -5.0), ("garbage", None), (None, None)],
    ids=["pi", "below-zero", "unparsable", "absent"],
)
def test_cpu_temperature_is_read_in_millidegrees(tmp_path, content, expected):
    path = tmp_path / "temp"
    if content is not None:
        path.write_text(content)
    assert cpu_temperature_c(path) == expected


def test_the_file_round_trips_and_is_replaced_whole(tmp_path):
    first = report(temp=51.0)
    write_health(tmp_path, first)
    second = report(now_ms=T + 60_000)
    write_health(tmp_path, second)
    assert read_health(tmp_path) == second
    assert [p.name for p in tmp_path.iterdir()] == [HEALTH_FILE]  # no temporary left behind
    assert decode_status((tmp_path / HEALTH_FILE).read_bytes()).ts == T + 60_000


def test_a_missing_or_broken_file_is_told_apart(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_health(tmp_path)
    (tmp_path / HEALTH_FILE).write_text("{not json")
    with pytest.raises(PayloadError):
        read_health(tmp_path)


OK = {"pm-1": DeviceCounters(state=DeviceState.OK)}


@pytest.mark.parametrize(
    ("age_s", "devices", "state", "healthy", "stale"),
    [
        (10, OK, GatewayState.ONLINE, True, False),
        (180, OK, GatewayState.ONLINE, True, False),  # exactly three intervals: still fresh
        (181, OK, GatewayState.ONLINE, False, True),
        (
            10,
            {"pm-1": DeviceCounters(state=DeviceState.TIMEOUT)},
            GatewayState.ONLINE,
            False,
            False,
        ),
        (
            10,
            {"pm-1": DeviceCounters(state=DeviceState.STARTING)},
            GatewayState.ONLINE,
            False,
            False,
        ),
        (10, OK, GatewayState.OFFLINE, False, False),
    ],
    ids=["fresh", "three-intervals", "stale", "timeout", "starting", "offline"],
)
def test_assessment(age_s, devices, state, healthy, stale):
    status = report(devices=devices).model_copy(update={"state": state})
    verdict = assess(status, now_ms=T + age_s * 1000, health_interval_s=60)
    assert (verdict.healthy, verdict.stale, verdict.age_s) == (healthy, stale, age_s)
    assert verdict.failing == tuple(k for k, v in devices.items() if v.state != DeviceState.OK)


def test_a_report_without_time_is_stale():
    verdict = assess(report(now_ms=1000), now_ms=T, health_interval_s=60)
    assert verdict.stale
    assert not verdict.healthy


def test_a_status_message_of_the_old_shape_still_decodes():
    old = b'{"schema":1,"gateway":"gw-1","state":"offline","agent_version":"0.1.0"}'
    status = decode_status(old)
    assert status == GatewayStatus(
        gateway="gw-1", state=GatewayState.OFFLINE, agent_version="0.1.0"
    )
    assert status.devices is None
