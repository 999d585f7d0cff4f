import itertools
import threading
import time
from typing import Any

import pytest

from edge.config import Pms5003Config
from edge.devices import build_device
from edge.devices.pms5003 import FRAME_METRICS, Pms5003Device
from firmware_sim.devices.pms5003 import Mode
from firmware_sim.serial_link import PtyLink
from telemetry import CATALOG, Quality

ALL_METRICS = ("pm1", "pm25", "pm10", "pc_0_3", "pc_0_5", "pc_1_0", "pc_2_5", "pc_5_0", "pc_10")


def recorded_value(metric: str, record: dict[str, Any]) -> float:
    """The value a recorded frame should yield for ``metric`` (atmospheric PM, or a count)."""
    if metric in {"pm1", "pm25", "pm10"}:
        return float(record[f"{metric}_atm"])
    return float(record["counts"][ALL_METRICS.index(metric) - 3])


def config(port, **overrides):
    values = {
        "type": "pms5003",
        "id": "pm-1",
        "port": str(port),
        "timeout": 1.0,
        "warmup": 0,
    } | overrides
    return Pms5003Config.model_validate(values)


@pytest.fixture
def devices():
    started = []

    def start(cfg, sink, **options):
        device = Pms5003Device(cfg, sink, **options)
        started.append(device)
        device.start()
        return device

    yield start
    for device in started:
        device.stop()


def assert_polls_match_records(polls, records, metrics):
    """Each poll is one recorded frame, in order, with no frame skipped in between.

    Frames the simulator sent before the device opened the port are not expected; the first
    poll is matched to its record by value and by time (received within a second of sending).
    """
    assert polls
    values = [{r.metric: r.value for r in poll} for poll in polls]
    wanted = [{m: recorded_value(m, rec) for m in metrics} for rec in records]
    first_ts = polls[0][0].ts
    starts = [
        i
        for i, rec in enumerate(records)
        if wanted[i] == values[0] and 0 <= first_ts - rec["ts"] < 1000
    ]
    assert len(starts) == 1
    start = starts[0]
    assert values == wanted[start : start + len(values)]
    for poll, record in zip(polls, records[start:], strict=False):
        assert [r.metric for r in poll] == list(metrics)
        assert {r.device for r in poll} == {"pm-1"}
        assert {r.quality for r in poll} == {Quality.NORMAL}
        assert all(0 <= r.ts - record["ts"] < 1000 for r in poll)  # stamped at reception


def test_every_metric_of_the_table_is_in_the_catalog_and_the_config():
    assert tuple(FRAME_METRICS) == ALL_METRICS
    assert all(m in CATALOG for m in FRAME_METRICS)


def test_active_mode_readings_equal_what_the_simulator_sent(
    pms_sim, collector, devices, wait_until
):
    sensor = pms_sim(period=0.05, seed=11)
    device = devices(config(sensor.path, metrics=list(ALL_METRICS)), collector)
    assert wait_until(lambda: len(collector.snapshot()) >= 10)
    device.stop()
    assert_polls_match_records(collector.snapshot(), sensor.records(), ALL_METRICS)
    counters = device.counters()[device.id]
    assert counters.frames >= 10
    assert (counters.checksum_errors, counters.open_failures, counters.disconnects) == (0, 0, 0)


def test_passive_mode_asks_every_read_interval(pms_sim, collector, devices, wait_until):
    sensor = pms_sim(mode=Mode.PASSIVE, period=0.02)
    cfg = config(sensor.path, mode="passive", read_interval=0.1)
    started = time.monotonic()
    device = devices(cfg, collector)
    assert wait_until(lambda: len(collector.snapshot()) >= 5)
    elapsed = time.monotonic() - started
    device.stop()
    polls = collector.snapshot()
    assert elapsed >= 0.35  # five reads at 0.1 s intervals, not a stream every 0.02 s
    assert sensor.simulator.counters.commands >= len(polls)
    assert_polls_match_records(polls, sensor.records(), ("pm1", "pm25", "pm10"))
    assert device.counters()[device.id].read_timeouts == 0


def test_garbage_and_damaged_frames_are_skipped_and_counted(
    pms_sim, collector, devices, wait_until
):
    sensor = pms_sim(period=0.03, garbage_every=2, seed=4)
    device = devices(config(sensor.path), collector)
    assert wait_until(lambda: device.counters()[device.id].checksum_errors >= 3)
    device.stop()
    counters = device.counters()[device.id]
    assert counters.garbage_bytes >= 3 * 32
    assert_polls_match_records(collector.snapshot(), sensor.records(), ("pm1", "pm25", "pm10"))


def test_a_port_that_appears_later_is_opened_then(
    tmp_path, pms_sim, collector, devices, wait_until
):
    path = tmp_path / "later"
    device = devices(config(path), collector, retry_delay=0.1)
    assert wait_until(lambda: device.counters()[device.id].open_failures >= 2)
    assert str(path) in (device.counters()[device.id].last_error or "")
    assert not device.counters()[device.id].connected
    pms_sim(path=path, period=0.05)
    assert wait_until(lambda: len(collector.snapshot()) >= 3)
    assert device.counters()[device.id].connected


def test_a_port_that_disappears_is_retried_and_reading_resumes(
    tmp_path, pms_sim, collector, devices, wait_until
):
    path = tmp_path / "pm"
    first = pms_sim(path=path, period=0.05, seed=1)
    device = devices(config(path), collector, retry_delay=0.1)
    assert wait_until(lambda: len(collector.snapshot()) >= 3)
    first.close()  # the USB adapter is pulled
    assert wait_until(lambda: device.counters()[device.id].disconnects == 1)
    before = len(collector.snapshot())
    second = pms_sim(path=path, period=0.05, seed=2)
    assert wait_until(lambda: len(collector.snapshot()) >= before + 3)
    device.stop()
    polls = collector.snapshot()[before:]
    assert_polls_match_records(polls, second.records(), ("pm1", "pm25", "pm10"))


def test_silence_counts_read_timeouts(tmp_path, collector, devices, wait_until):
    with PtyLink(tmp_path / "silent") as link:
        device = devices(config(link.path, timeout=0.2), collector)
        assert wait_until(lambda: device.counters()[device.id].read_timeouts >= 3)
        device.stop()
        commands = link.read(0.5)
    assert commands.startswith(bytes.fromhex("424de40001 0174 424de10001 0171".replace(" ", "")))
    assert collector.snapshot() == []


def test_frames_are_dropped_and_counted_while_the_clock_is_unset(
    pms_sim, collector, devices, wait_until
):
    sensor = pms_sim(period=0.05)
    device = devices(config(sensor.path), collector, clock=lambda: 0)
    assert wait_until(lambda: device.counters()[device.id].clock_unset >= 3)
    assert collector.snapshot() == []


def test_build_device_makes_the_owner_without_starting_it(tmp_path):
    before = threading.active_count()
    device = build_device(config(tmp_path / "nothing"), lambda _: None)
    assert isinstance(device, Pms5003Device)
    assert device.id == "pm-1"
    assert threading.active_count() == before
    assert device.counters()[device.id].open_failures == 0


def assert_each_poll_was_sent(polls, records):
    """Every poll's PM2.5 is that of a frame the simulator sent shortly before it was read."""
    for poll in polls:
        (pm25,) = [r for r in poll if r.metric == "pm25"]
        assert any(
            rec["pm25_atm"] == pm25.value and 0 <= pm25.ts - rec["ts"] < 300 for rec in records
        )


def test_frames_of_the_warm_up_after_a_wake_are_discarded_and_counted(
    pms_sim, collector, devices, wait_until
):
    sensor = pms_sim(period=0.05, seed=5)
    started_ms = time.time_ns() // 1_000_000
    device = devices(config(sensor.path, warmup=0.6), collector)
    assert wait_until(lambda: len(collector.snapshot()) >= 5)
    device.stop()
    counters = device.counters()[device.id]
    assert counters.warmup_frames >= 6  # 0.6 s of frames every 0.05 s, less the port's start
    first = collector.snapshot()[0][0]
    assert first.ts - started_ms >= 600
    assert_each_poll_was_sent(collector.snapshot(), sensor.records())


def test_a_duty_cycled_sensor_sleeps_between_its_readings(pms_sim, collector, devices, wait_until):
    sensor = pms_sim(period=0.05, seed=6)
    cfg = config(sensor.path, warmup=0.2, duty_cycle={"awake": 0.6, "period": 1.5})
    device = devices(cfg, collector)
    asleep_seen = threading.Event()
    done = threading.Event()

    def watch_sleep():
        while not done.is_set():
            if sensor.simulator.asleep:
                asleep_seen.set()
            time.sleep(0.01)

    watcher = threading.Thread(target=watch_sleep, daemon=True)
    watcher.start()

    def long_gaps():
        # Within a cycle frames come every 0.05 s; between cycles the sensor slept about 0.9 s
        # and warmed up 0.2 s, so the longest gaps are about 1.1 s, one per cycle.
        stamps = [poll[0].ts for poll in collector.snapshot()]
        return [b - a for a, b in itertools.pairwise(stamps) if b - a > 700]

    assert wait_until(lambda: len(long_gaps()) >= 2, 15)
    device.stop()
    done.set()
    assert asleep_seen.is_set()  # the agent really put the sensor to sleep
    assert all(g < 1600 for g in long_gaps())
    assert device.counters()[device.id].warmup_frames >= 2 * 3  # every wake warms up again
    assert device.counters()[device.id].read_timeouts == 0  # asleep is not silent
    assert_polls_match_records(collector.snapshot()[:5], sensor.records(), ("pm1", "pm25", "pm10"))


def test_a_duty_cycle_must_leave_time_to_read_after_the_warm_up(tmp_path):
    with pytest.raises(ValueError, match=r"warmup must be shorter than duty_cycle\.awake"):
        config(tmp_path / "tty", warmup=30, duty_cycle={"awake": 20, "period": 300})
    with pytest.raises(ValueError, match="awake must be shorter than period"):
        config(tmp_path / "tty", duty_cycle={"awake": 300, "period": 300})
