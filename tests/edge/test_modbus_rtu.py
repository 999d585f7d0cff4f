"""Modbus RTU buses against simulated Eastron meters on a real pseudo-terminal."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.config.modbus import ModbusRtuConfig, ModbusTcpConfig
from edge.devices import build_device
from edge.devices.base import DeviceState
from edge.devices.modbus import ModbusRtuBus, ModbusTcpBus
from edge.protocols.eastron import PROFILES
from firmware_sim.devices.modbus_rtu import ModbusRtuSimulator
from firmware_sim.devices.modbus_slave import FaultPlan, ModbusSlave, Window
from firmware_sim.eastron import MODELS
from firmware_sim.meters import SimulatedMeter
from firmware_sim.recorder import Recorder
from firmware_sim.serial_link import PtyLink

INTERVAL = 0.2
VOLTAGE_ONLY = [{"metric": "voltage", "type": "input", "address": 0, "data_type": "float32"}]


@dataclass
class Line:
    """A simulated RS-485 line: the pty, the slaves on it and what they answered."""

    path: Path
    slaves: dict[int, ModbusSlave]
    record: Path

    def records(self, unit):
        lines = self.record.read_text().splitlines()
        return [r for r in map(json.loads, lines) if r["unit"] == unit]


@pytest.fixture
def rs485(tmp_path):
    """``rs485(slave, ...)``: a simulated bus with these slaves on a pty, stopped at teardown."""
    started = []

    def start(*slaves: ModbusSlave) -> Line:
        link = PtyLink(tmp_path / "rs485")
        recorder = Recorder(tmp_path / "rs485.jsonl")
        simulator = ModbusRtuSimulator(link, slaves, recorder=recorder)
        started.append((simulator, link, recorder))
        simulator.start()
        return Line(link.path, {s.unit: s for s in slaves}, recorder.path)

    yield start
    for simulator, link, recorder in started:
        simulator.stop()
        link.close()
        recorder.close()


@pytest.fixture
def running():
    """``running(bus)``: start a bus; it is stopped at teardown if the test did not."""
    buses = []

    def start(bus):
        buses.append(bus)
        bus.start()
        return bus

    yield start
    for bus in buses:
        bus.stop()


def meter(unit, model, **faults):
    return ModbusSlave(unit, SimulatedMeter(MODELS[model], seed=unit), faults=FaultPlan(**faults))


def config(port, *slaves, **options):
    return ModbusRtuConfig.model_validate(
        {
            "type": "modbus_rtu",
            "id": "rs485-1",
            "port": str(port),
            "timeout": 0.2,
            "retries": 0,
            "slaves": list(slaves),
            **options,
        }
    )


def slave(device_id, unit, profile=None, registers=None, **options):
    entry = {"id": device_id, "unit": unit, "interval": INTERVAL, **options}
    return entry | ({"profile": profile} if profile else {"registers": registers})


def last_poll(collector, device_id):
    polls = [p for p in collector.snapshot() if p and p[0].device == device_id]
    return {r.metric: r.value for r in polls[-1]}


def simulator_values(line, unit, reads):
    """What the slave's last ``reads`` replies held, by name, in the meter's own units."""
    return {v["name"]: v["value"] for r in line.records(unit)[-reads:] for v in r["values"]}


def test_a_silent_slave_backs_off_while_the_others_keep_reading(
    rs485, running, collector, wait_until
):
    line = rs485(meter(1, "sdm630"), meter(2, "sdm120"), meter(3, "sdm630", silent=(Window(0),)))
    cfg = config(
        line.path,
        slave("meter-1", 1, "sdm630"),
        slave("meter-2", 2, "sdm120"),
        slave("meter-3", 3, "sdm630"),
    )
    bus = running(ModbusRtuBus(cfg, collector, max_backoff_s=2.0))
    live = ("meter-1", "meter-2")
    assert wait_until(lambda: all(bus.counters()[d].polls >= 12 for d in live), timeout=30)
    bus.stop()

    counters = bus.counters()
    silent = counters["meter-3"]
    assert silent.state is DeviceState.TIMEOUT
    assert silent.frames == 0
    assert silent.read_timeouts == silent.polls == silent.consecutive_failures >= 2
    assert silent.backoff_s >= 4 * INTERVAL  # doubled at least twice
    assert silent.last_error == "unit 3: FC04 input 0x0000+18: no answer within 0.2 s"
    # a poll stops at its first unanswered read: one request per poll, not seven
    assert line.slaves[3].counters.silenced == silent.polls
    for device_id in live:
        c = counters[device_id]
        assert (c.state, c.read_timeouts, c.bad_frames, c.consecutive_failures) == (
            DeviceState.OK,
            0,
            0,
            0,
        )
        assert c.frames == c.polls
        # backoff: the silent slave is asked less and less often, the others on their interval
        assert 2 * silent.polls < c.polls

    polls = collector.snapshot()
    assert {p[0].device for p in polls} == set(live)
    for device_id, unit, profile in (("meter-1", 1, "sdm630"), ("meter-2", 2, "sdm120")):
        points = PROFILES[profile].points()
        values = last_poll(collector, device_id)
        assert list(values) == [p.metric for p in points]
        expected = simulator_values(line, unit, reads=len(bus.slaves[unit - 1].plan))
        for p in points:
            # the simulator records what its float32 registers held, in W where we publish kW
            assert values[p.metric] == pytest.approx(expected[p.metric] * p.scale, rel=1e-6)


def test_a_damaged_reply_is_a_bad_frame_and_the_next_one_reads(
    rs485, running, collector, wait_until
):
    line = rs485(meter(1, "sdm120", bad_crc_every=2))
    cfg = config(line.path, slave("meter-1", 1, registers=VOLTAGE_ONLY))
    bus = running(ModbusRtuBus(cfg, collector, max_backoff_s=1.0))
    assert wait_until(lambda: bus.counters()["meter-1"].bad_frames >= 2, timeout=20)
    bus.stop()
    c = bus.counters()["meter-1"]
    assert (c.read_timeouts, c.device_faults, c.disconnects) == (0, 0, 0)
    assert c.frames >= c.bad_frames - 1  # every other reply is good
    # a reply of 2 float registers is 9 bytes: unit, function, byte count, 4 data bytes, CRC
    assert c.last_error == "unit 1: FC04 input 0x0000+2: 9 bytes but no valid answer"
    good = [r["registers"] for r in line.records(1)]
    assert len(good) == c.frames


def test_an_exception_reply_is_a_device_fault_with_its_code(rs485, running, collector, wait_until):
    line = rs485(meter(1, "sdm120"))
    # the SDM120 has no value at 0x0002: the simulator answers 02 ILLEGAL DATA ADDRESS
    registers = [{"metric": "voltage", "type": "input", "address": 2, "data_type": "float32"}]
    cfg = config(line.path, slave("meter-1", 1, registers=registers))
    bus = running(ModbusRtuBus(cfg, collector, max_backoff_s=1.0))
    assert wait_until(lambda: bus.counters()["meter-1"].device_faults >= 1)
    bus.stop()
    c = bus.counters()["meter-1"]
    assert c.state is DeviceState.EXCEPTION
    assert c.last_error == "unit 1: FC04 input 0x0002+2: illegal data address (code 2)"
    assert collector.snapshot() == []


def test_a_port_that_does_not_exist_is_retried(tmp_path, running, collector, wait_until):
    cfg = config(tmp_path / "no-such-port", slave("meter-1", 1, "sdm120"))
    bus = running(ModbusRtuBus(cfg, collector))
    assert wait_until(lambda: bus.counters()["meter-1"].open_failures >= 1)
    c = bus.counters()["meter-1"]
    assert (c.state, c.connected, c.polls) == (DeviceState.DISCONNECTED, False, 0)
    assert c.last_error == f"cannot open {tmp_path / 'no-such-port'}"


def test_disabled_slaves_are_not_polled_and_plans_follow_the_profiles(tmp_path, collector):
    cfg = config(
        tmp_path / "port",
        slave("meter-1", 1, "sdm630"),
        slave("meter-2", 2, "sdm120", enabled=False),
        slave("meter-3", 3, "sdm120", max_gap=124),
    )
    bus = build_device(cfg, collector)
    assert isinstance(bus, ModbusRtuBus)
    assert [(t.id, len(t.plan)) for t in bus.slaves] == [("meter-1", 7), ("meter-3", 2)]
    assert [t.interval_s for t in bus.slaves] == [INTERVAL, INTERVAL]
    assert set(bus.counters()) == {"meter-1", "meter-3"}


def test_build_device_builds_a_tcp_bus(collector):
    cfg = ModbusTcpConfig.model_validate(
        {
            "type": "modbus_tcp",
            "id": "tcp-1",
            "host": "127.0.0.1",
            "slaves": [slave("m", 1, "sdm630")],
        }
    )
    assert isinstance(build_device(cfg, collector), ModbusTcpBus)
