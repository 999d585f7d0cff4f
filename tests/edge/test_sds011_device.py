"""The SDS011 owner against the simulated sensor (firmware_sim) over real pseudo-terminals."""

import json
import statistics
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from edge.config import Sds011Config
from edge.devices import build_device
from edge.devices.base import DeviceState
from edge.devices.sds011 import FRAME_METRICS, Sds011Device, trimmed
from edge.protocols import sds011
from firmware_sim.devices.sds011 import Mode, Sds011Simulator
from firmware_sim.recorder import Recorder
from firmware_sim.serial_link import PtyLink
from telemetry import CATALOG, Quality

SAMPLES = 5


@dataclass
class SimulatedSds011:
    link: PtyLink
    simulator: Sds011Simulator
    recorder: Recorder

    @property
    def path(self) -> Path:
        return self.link.path

    def answers(self) -> list[dict[str, Any]]:
        """The recorded data frames sent in answer to a query, in order."""
        lines = self.recorder.path.read_text().splitlines()
        return [r for r in map(json.loads, lines) if r.get("cause") == "query"]

    def close(self) -> None:
        self.simulator.stop()
        self.link.close()
        self.recorder.close()


@pytest.fixture
def sds_sim(tmp_path):
    """Start simulated sensors: ``sds_sim(path=..., mode=Mode.ACTIVE, garbage_every=...)``."""
    started: list[SimulatedSds011] = []

    def start(path: Path | None = None, **options) -> SimulatedSds011:
        n = len(started)
        link = PtyLink(path or tmp_path / f"sds-{n}")
        recorder = Recorder(tmp_path / f"sds-{n}.jsonl")
        simulator = Sds011Simulator(link, recorder=recorder, **options)
        sensor = SimulatedSds011(link, simulator, recorder)
        started.append(sensor)
        simulator.start()
        return sensor

    yield start
    for sensor in started:
        sensor.close()


@pytest.fixture
def devices():
    started: list[Sds011Device] = []

    def start(cfg, sink, **options) -> Sds011Device:
        device = Sds011Device(cfg, sink, **options)
        started.append(device)
        device.start()
        return device

    yield start
    for device in started:
        device.stop()


def config(port, **overrides) -> Sds011Config:
    values = {
        "type": "sds011",
        "id": "pm-2",
        "port": str(port),
        "interval": 0.4,
        "warmup": 0.1,
        "samples": SAMPLES,
        "sample_interval": 0.02,
        "timeout": 0.3,
    } | overrides
    return Sds011Config.model_validate(values)


def counters(device):
    return device.counters()["pm-2"]


def assert_polls_are_trimmed_means_of_the_answers(polls, answers, samples=SAMPLES):
    """Poll n is made of answers n*samples .. (n+1)*samples - 1, lowest and highest dropped."""
    assert polls
    assert len(answers) >= samples * len(polls)
    for n, poll in enumerate(polls):
        cycle = answers[n * samples : (n + 1) * samples]
        assert [r.metric for r in poll] == ["pm25", "pm10"]
        for reading in poll:
            kept = sorted(a[reading.metric] for a in cycle)[1:-1]
            assert reading.value == pytest.approx(statistics.fmean(kept), abs=1e-9)
            assert (reading.min, reading.max, reading.count) == (kept[0], kept[-1], len(kept))
            assert reading.device == "pm-2"
            assert reading.quality is Quality.NORMAL
            assert 0 <= reading.ts - cycle[0]["ts"] < 1000  # stamped at the first sample


@pytest.mark.parametrize(
    ("values", "kept"),
    [
        ([5, 1, 9, 3, 7], [3, 5, 7]),
        ([4, 4, 4], [4]),
        ([2, 8], [2, 8]),
        ([6], [6]),
        ([1, 1, 9], [1]),
    ],
)
def test_trimmed_drops_one_lowest_and_one_highest_from_three_on(values, kept):
    assert trimmed(values) == kept


def test_every_metric_of_the_table_is_in_the_catalog():
    assert tuple(FRAME_METRICS) == ("pm25", "pm10")
    assert all(m in CATALOG for m in FRAME_METRICS)


def test_cycles_wake_warm_up_query_and_sleep_and_average_what_was_sent(
    sds_sim, collector, devices, wait_until
):
    # active mode at power-on: the owner must switch it to query mode and ignore the stream
    sensor = sds_sim(mode=Mode.ACTIVE, period=0.03, seed=11)
    device = devices(config(sensor.path), collector)
    assert wait_until(lambda: len(collector.snapshot()) >= 3)
    device.stop()
    polls = collector.snapshot()
    assert_polls_are_trimmed_means_of_the_answers(polls, sensor.answers())
    sim = sensor.simulator
    assert sim.mode is Mode.QUERY
    # left sleeping between cycles, and at the end (a stop mid-cycle sends sleep as it closes)
    assert wait_until(lambda: sim.asleep)
    assert sim.counters.wakes >= len(polls)
    assert sim.counters.sleeps >= len(polls)
    assert sim.counters.ignored_queries == 0  # never asked while asleep
    c = counters(device)
    assert (c.state, c.checksum_errors, c.read_timeouts, c.bad_frames) == (DeviceState.OK, 0, 0, 0)


def test_without_duty_cycle_the_sensor_is_woken_once_and_never_put_to_sleep(
    sds_sim, collector, devices, wait_until
):
    sensor = sds_sim(mode=Mode.QUERY, seed=5)
    device = devices(config(sensor.path, duty_cycle=False, samples=3), collector)
    assert wait_until(lambda: len(collector.snapshot()) >= 3)
    device.stop()
    assert_polls_are_trimmed_means_of_the_answers(collector.snapshot(), sensor.answers(), 3)
    assert (sensor.simulator.counters.wakes, sensor.simulator.counters.sleeps) == (1, 0)
    assert not sensor.simulator.asleep


def test_garbage_and_damaged_frames_are_counted_and_skipped(
    sds_sim, collector, devices, wait_until
):
    sensor = sds_sim(mode=Mode.QUERY, garbage_every=2, seed=4)
    device = devices(config(sensor.path), collector)
    assert wait_until(lambda: len(collector.snapshot()) >= 2)
    device.stop()
    c = counters(device)
    damaged = sensor.simulator.counters.corrupt_frames
    assert damaged >= SAMPLES
    assert c.checksum_errors == damaged
    assert c.garbage_bytes >= sensor.simulator.counters.garbage_bytes + 10 * damaged
    assert (c.state, c.bad_frames, c.read_timeouts) == (DeviceState.OK, 0, 0)
    assert_polls_are_trimmed_means_of_the_answers(collector.snapshot(), sensor.answers())


def test_a_silent_sensor_times_out_and_recovers_when_it_speaks_again(
    sds_sim, collector, devices, wait_until
):
    sensor = sds_sim(mode=Mode.QUERY)
    sensor.simulator.mute(3600)
    device = devices(config(sensor.path), collector, max_backoff_s=0.5)
    assert wait_until(lambda: counters(device).read_timeouts >= 2)
    c = counters(device)
    assert c.state is DeviceState.TIMEOUT
    assert "no answer to a query within 0.3 s" in (c.last_error or "")
    assert c.consecutive_failures >= 2
    assert collector.snapshot() == []
    sensor.simulator.unmute()
    assert wait_until(lambda: len(collector.snapshot()) >= 1)
    c = counters(device)
    assert (c.state, c.consecutive_failures) == (DeviceState.OK, 0)
    assert sensor.simulator.counters.muted_commands >= 2


def test_only_damaged_answers_are_a_bad_frame(tmp_path, collector, devices, wait_until):
    # a sensor whose every answer has a wrong checksum: a scripted peer on a real pty
    good = bytes.fromhex("AA C0 D4 04 3A 0A A1 60 1D AB")
    damaged = good[:8] + bytes([good[8] ^ 0x01]) + good[9:]
    done = threading.Event()
    with PtyLink(tmp_path / "bad") as link:

        def answer_queries() -> None:
            heard = b""
            while not done.is_set():
                heard += link.read(0.05)
                while sds011.query() in heard:
                    heard = heard.split(sds011.query(), 1)[1]
                    link.write(damaged)

        peer = threading.Thread(target=answer_queries, daemon=True)
        peer.start()
        device = devices(config(link.path, warmup=0.0), collector, max_backoff_s=0.5)
        try:
            assert wait_until(lambda: counters(device).bad_frames >= 2)
        finally:
            device.stop()
            done.set()
            peer.join(5)
    c = counters(device)
    assert c.state is DeviceState.BAD_FRAME
    assert c.checksum_errors >= 2
    assert "damaged" in (c.last_error or "")
    assert collector.snapshot() == []


def test_a_port_that_disappears_is_reopened_and_the_new_sensor_set_up(
    tmp_path, sds_sim, collector, devices, wait_until
):
    path = tmp_path / "sds"
    first = sds_sim(path=path, mode=Mode.QUERY, seed=1)
    device = devices(config(path, duty_cycle=False), collector, max_backoff_s=0.2)
    assert wait_until(lambda: len(collector.snapshot()) >= 2)
    first.close()  # the USB adapter is pulled
    assert wait_until(lambda: counters(device).disconnects == 1)
    before = len(collector.snapshot())
    # a replugged sensor starts in active mode: the owner must wake it and set query mode again
    second = sds_sim(path=path, mode=Mode.ACTIVE, period=0.03, seed=2)
    assert wait_until(lambda: len(collector.snapshot()) >= before + 2)
    device.stop()
    assert second.simulator.mode is Mode.QUERY
    assert second.simulator.counters.wakes == 1
    assert_polls_are_trimmed_means_of_the_answers(collector.snapshot()[before:], second.answers())
    assert counters(device).state is DeviceState.OK


def test_a_port_that_is_not_there_is_retried_and_counted(tmp_path, collector, devices, wait_until):
    device = devices(config(tmp_path / "absent"), collector)
    assert wait_until(lambda: counters(device).open_failures >= 1)
    c = counters(device)
    assert (c.state, c.connected) == (DeviceState.DISCONNECTED, False)
    assert "absent" in (c.last_error or "")


def test_build_device_makes_the_owner_without_starting_it(tmp_path):
    before = threading.active_count()
    device = build_device(config(tmp_path / "nothing"), lambda _: None)
    assert isinstance(device, Sds011Device)
    assert device.id == "pm-2"
    assert threading.active_count() == before
    assert device.counters()["pm-2"].state is DeviceState.STARTING
