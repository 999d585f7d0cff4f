"""The running agent's health reports (status topic, health.json) and its clock-sync flag."""

import threading

import pytest

from edge.agent import Agent
from edge.cli import main
from edge.config import load_config
from edge.health import read_health
from edge.spool import Spool
from telemetry import ClockSync, GatewayState, Reading, decode_batch, decode_status, topics

pytestmark = pytest.mark.integration

GATEWAY = "gw-health-1"


def write_config(tmp_path, mosquitto, sensor_path):
    path = tmp_path / "site.yaml"
    path.write_text(
        f"""\
gateway: {GATEWAY}
mqtt: {{host: {mosquitto.host}, port: {mosquitto.port}}}
publish: {{interval: 0.2}}
aggregation: {{interval: 1}}
state_dir: state
health_interval: 0.2
devices:
  - {{type: pms5003, id: pm-1, port: {sensor_path}, raw: true, warmup: 0}}
"""
    )
    return path


def run_agent(agent, until, wait_until):
    runner = threading.Thread(target=agent.run)
    runner.start()
    try:
        assert wait_until(until)
    finally:  # a thread left running would keep pytest from exiting
        agent.stop()
        runner.join(15)
    assert not runner.is_alive()


def health_reports(watcher):
    statuses = [decode_status(m.payload) for m in watcher.messages("/status")]
    return [s for s in statuses if s.devices is not None and s.state is GatewayState.ONLINE]


def readings(watcher):
    return [r for m in watcher.messages("/telemetry") for r in decode_batch(m.payload).readings]


def test_the_agent_publishes_and_writes_its_health(
    tmp_path, mosquitto, pms_sim, mqtt_watch, wait_until
):
    sensor = pms_sim(period=0.05, seed=3)
    watcher = mqtt_watch(f"{topics.ROOT}/gw/{GATEWAY}/#")
    config_path = write_config(tmp_path, mosquitto, sensor.path)
    agent = Agent(load_config(config_path), clock_sync_state=lambda _now: ClockSync.SYNCED)

    def reported_ok():
        return any(r.devices["pm-1"].state == "ok" for r in health_reports(watcher))

    run_agent(agent, reported_ok, wait_until)
    report = next(r for r in health_reports(watcher) if r.devices["pm-1"].state == "ok")
    retained = [m for m in watcher.messages("/status") if m.retain]
    assert report.gateway == GATEWAY
    assert report.clock is ClockSync.SYNCED
    assert report.uptime_s is not None
    assert report.spool is not None
    assert report.agent_version
    assert not retained or all(decode_status(m.payload).gateway == GATEWAY for m in retained)
    # after a clean stop the file says offline, and ``status`` says the agent is not healthy
    assert read_health(tmp_path / "state").state is GatewayState.OFFLINE
    assert main(["status", str(config_path)]) == 1
    assert all(r.time_unsynced is None for r in readings(watcher))


def test_readings_taken_while_the_clock_is_unsynchronised_are_flagged(
    tmp_path, mosquitto, pms_sim, mqtt_watch, wait_until
):
    sensor = pms_sim(period=0.05, seed=4)
    watcher = mqtt_watch(f"{topics.ROOT}/gw/{GATEWAY}/#")
    agent = Agent(
        load_config(write_config(tmp_path, mosquitto, sensor.path)),
        clock_sync_state=lambda _now: ClockSync.UNSYNCED,
    )

    def an_aggregate_and_a_health_report_arrived():
        aggregated = any(r.interval_s is not None for r in readings(watcher))
        return aggregated and bool(health_reports(watcher))

    run_agent(agent, an_aggregate_and_a_health_report_arrived, wait_until)
    received = readings(watcher)
    assert {r.interval_s is None for r in received} == {True, False}  # samples and aggregates
    assert all(r.time_unsynced is True for r in received)
    assert health_reports(watcher)[-1].clock is ClockSync.UNSYNCED


@pytest.mark.parametrize(
    "clock_ms",
    [
        [1_764_140_000_000, 1_764_130_000_000, 1_764_150_000_000],  # stepped back, then forward
        [5_000, 5_000, 4_000],  # before 2000, stuck, going back
    ],
    ids=["stepped", "unset"],
)
def test_sequence_numbers_never_depend_on_the_clock(tmp_path, clock_ms):
    spool = Spool(tmp_path / "spool.sqlite3", GATEWAY, quota_bytes=10**8, legacy_state_dir=tmp_path)
    spool.open()
    try:
        reading = Reading(device="pm-1", metric="pm25", value=1.0, ts=1_764_140_000_000)
        assert [spool.put([reading], now) for now in clock_ms] == [1, 2, 3]
    finally:
        spool.close()
