"""The agent against a real Mosquitto, in-process and as the ``lantian-edge run`` process."""

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from edge.agent import Agent
from edge.config import load_config
from telemetry import GatewayState, Reading, decode_batch, decode_status, topics

pytestmark = pytest.mark.integration

GATEWAY = "gw-test-1"


def write_config(tmp_path, mosquitto, sensor_path, *, interval=0.3, max_readings=1000):
    path = tmp_path / "site.yaml"
    path.write_text(
        f"""\
gateway: {GATEWAY}
mqtt: {{host: {mosquitto.host}, port: {mosquitto.port}}}
publish: {{interval: {interval}, max_readings: {max_readings}}}
state_dir: state
devices:
  - {{type: pms5003, id: pm-1, port: {sensor_path}, raw: true, warmup: 0}}
"""
    )
    return path


def batches(watcher):
    return [decode_batch(m.payload) for m in watcher.messages("/telemetry")]


def statuses(watcher):
    return [decode_status(m.payload) for m in watcher.messages("/status")]


def start_agent_process(config_path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "run", str(config_path), "--stats-interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_agent_publishes_consecutive_batches_and_flushes_on_stop(
    tmp_path, mosquitto, pms_sim, mqtt_watch, wait_until
):
    sensor = pms_sim(period=0.05, seed=21)
    watcher = mqtt_watch(f"{topics.ROOT}/gw/{GATEWAY}/#")
    config = load_config(write_config(tmp_path, mosquitto, sensor.path, max_readings=12))
    agent = Agent(config, stats_interval=0.5)
    assert agent.publisher.counters().connects == 0  # the constructor connected nothing
    runner = threading.Thread(target=agent.run)
    runner.start()
    try:
        assert wait_until(lambda: len(batches(watcher)) >= 6)
    finally:  # a thread left running would keep pytest from exiting
        agent.stop()
        runner.join(15)
    assert not runner.is_alive()
    assert wait_until(lambda: statuses(watcher)[-1].state is GatewayState.OFFLINE)

    received = batches(watcher)
    assert [b.seq for b in received] == list(range(1, len(received) + 1))
    assert all(b.gateway == GATEWAY for b in received)
    assert all(len(b.readings) <= 12 for b in received)
    assert max(len(b.readings) for b in received) == 12  # size-triggered batches happened
    counters = agent.publisher.counters()
    assert counters.batches_sent == counters.batches_delivered == len(received)
    assert counters.undelivered == 0
    # every reading the device produced was published: nothing is left behind at shutdown
    published = [r for b in received for r in b.readings if r.count is None]  # raw samples
    (device_counters,) = agent.devices[0].counters().values()
    assert len(published) == 3 * device_counters.frames
    records = {(r["ts"], r["pm25_atm"]) for r in sensor.records()}
    pm25 = [r for r in published if r.metric == "pm25"]
    assert all(any(ts <= r.ts < ts + 1000 and v == r.value for ts, v in records) for r in pm25)
    states = [s.state for s in statuses(watcher)]
    assert states == [GatewayState.ONLINE, GatewayState.OFFLINE]
    assert all(s.ts is not None and s.agent_version for s in statuses(watcher))


def test_birth_is_retained_and_the_will_says_offline_after_sigkill(
    tmp_path, mosquitto, pms_sim, mqtt_watch, wait_until
):
    sensor = pms_sim(period=0.1)
    watcher = mqtt_watch(f"{topics.ROOT}/gw/{GATEWAY}/#")
    process = start_agent_process(write_config(tmp_path, mosquitto, sensor.path))
    try:
        assert wait_until(lambda: len(batches(watcher)) >= 2, timeout=20)
        late = mqtt_watch(topics.status(GATEWAY))  # subscribes after the birth was published
        assert wait_until(late.messages)
        birth = late.messages()[0]
        assert birth.retain
        assert decode_status(birth.payload).state is GatewayState.ONLINE
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        process.kill()
        process.communicate()
    assert wait_until(lambda: statuses(watcher)[-1].state is GatewayState.OFFLINE)
    will = statuses(watcher)[-1]
    assert will.ts is None  # the will is written at connect time and carries no time
    assert will.gateway == GATEWAY
    after = mqtt_watch(topics.status(GATEWAY))
    assert wait_until(after.messages)
    assert after.messages()[0].retain
    assert decode_status(after.messages()[0].payload).state is GatewayState.OFFLINE


def test_sequence_numbers_continue_across_restarts_and_are_never_reused(
    tmp_path, mosquitto, pms_sim, mqtt_watch, wait_until
):
    sensor = pms_sim(period=0.05)
    watcher = mqtt_watch(topics.telemetry(GATEWAY))
    config_path = write_config(tmp_path, mosquitto, sensor.path, interval=0.2)
    seen: dict[int, list[Reading]] = {}  # seq -> its readings
    for stop_signal in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT):
        process = start_agent_process(config_path)
        try:
            wanted = len(seen) + 3
            assert wait_until(
                lambda n=wanted: len({b.seq for b in batches(watcher)}) >= n, timeout=20
            )
            process.send_signal(stop_signal)
            _, stderr = process.communicate(timeout=15)
        finally:
            process.kill()
        if stop_signal is not signal.SIGKILL:
            assert process.returncode == 0, stderr
            assert "published seq=" in stderr
        # nothing acknowledges here, so a restart replays the spool: a seq seen again must
        # carry the same readings (a resend), never others (a reused number)
        for batch in batches(watcher):
            assert seen.setdefault(batch.seq, batch.readings) == batch.readings
    assert sorted(seen) == list(range(1, len(seen) + 1))  # from 1, contiguous across restarts
