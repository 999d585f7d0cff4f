"""Modbus TCP buses against a simulated meter gateway on a real socket on 127.0.0.1."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.config.modbus import ModbusTcpConfig
from edge.devices.base import DeviceState
from edge.devices.modbus import ModbusTcpBus
from edge.protocols.eastron import PROFILES
from firmware_sim.devices.modbus_slave import FaultPlan, ModbusSlave
from firmware_sim.devices.modbus_tcp import ModbusTcpSimulator
from firmware_sim.eastron import MODELS
from firmware_sim.meters import SimulatedMeter
from firmware_sim.recorder import Recorder

INTERVAL = 0.1
VOLTAGE_ONLY = [{"metric": "voltage", "type": "input", "address": 0, "data_type": "float32"}]


@dataclass
class Gateway:
    """A simulated Modbus TCP server, the meters behind it and what they answered."""

    simulator: ModbusTcpSimulator
    slaves: dict[int, ModbusSlave]
    record: Path
    host: str
    port: int

    def records(self, unit):
        lines = self.record.read_text().splitlines()
        return [r for r in map(json.loads, lines) if r["unit"] == unit]


@pytest.fixture
def gateway(tmp_path):
    """``gateway(slave, ..., port=0)``: a simulated server on 127.0.0.1, stopped at teardown."""
    started = []
    recorder = Recorder(tmp_path / "tcp.jsonl")

    def start(*slaves: ModbusSlave, port: int = 0) -> Gateway:
        simulator = ModbusTcpSimulator(slaves, port=port, recorder=recorder)
        started.append(simulator)
        simulator.start()
        host, bound = simulator.address
        return Gateway(simulator, {s.unit: s for s in slaves}, recorder.path, host, bound)

    yield start
    for simulator in started:
        simulator.stop()
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


def config(gw, *slaves):
    return ModbusTcpConfig.model_validate(
        {
            "type": "modbus_tcp",
            "id": "tcp-1",
            "host": gw.host,
            "port": gw.port,
            "timeout": 0.5,
            "retries": 0,
            "slaves": list(slaves),
        }
    )


def slave(device_id, unit, profile=None, registers=None):
    entry = {"id": device_id, "unit": unit, "interval": INTERVAL}
    return entry | ({"profile": profile} if profile else {"registers": registers})


def test_values_equal_what_the_meters_answered(gateway, running, collector, wait_until):
    gw = gateway(meter(1, "sdm630"), meter(2, "sdm120"))
    cfg = config(gw, slave("meter-1", 1, "sdm630"), slave("meter-2", 2, "sdm120"))
    bus = running(ModbusTcpBus(cfg, collector))
    assert wait_until(lambda: all(c.polls >= 5 for c in bus.counters().values()))
    bus.stop()

    plans = {t.id: t.plan for t in bus.slaves}
    assert [len(plans["meter-1"]), len(plans["meter-2"])] == [7, 8]
    for device_id, unit, profile in (("meter-1", 1, "sdm630"), ("meter-2", 2, "sdm120")):
        c = bus.counters()[device_id]
        assert (c.state, c.frames, c.consecutive_failures) == (DeviceState.OK, c.polls, 0)
        polls = [p for p in collector.snapshot() if p[0].device == device_id]
        assert len(polls) == c.polls
        replies = gw.records(unit)
        assert len(replies) == c.polls * len(plans[device_id])
        last = replies[-len(plans[device_id]) :]
        # the replies of the last poll are the plan's reads, in order
        assert [(r["function"], r["address"], len(r["registers"])) for r in last] == [
            (q.function_code, q.address, q.count) for q in plans[device_id]
        ]
        answered = {v["name"]: v["value"] for r in last for v in r["values"]}
        published = {r.metric: r.value for r in polls[-1]}
        assert list(published) == [p.metric for p in PROFILES[profile].points()]
        for p in PROFILES[profile].points():
            # the simulator records its float32 registers in W where the catalog keeps kW
            assert published[p.metric] == pytest.approx(answered[p.metric] * p.scale, rel=1e-6)


def test_a_busy_slave_is_a_device_fault_and_recovers(gateway, running, collector, wait_until):
    gw = gateway(meter(1, "sdm630"), meter(2, "sdm120", busy_every=3))
    cfg = config(gw, slave("meter-1", 1, "sdm630"), slave("meter-2", 2, registers=VOLTAGE_ONLY))
    bus = running(ModbusTcpBus(cfg, collector, max_backoff_s=1.0))
    assert wait_until(lambda: bus.counters()["meter-2"].device_faults >= 3, timeout=20)
    bus.stop()

    busy = bus.counters()["meter-2"]
    # every third request is answered 06 SLAVE DEVICE BUSY; the two after it are read
    assert busy.device_faults == gw.slaves[2].counters.busy
    assert busy.frames == gw.slaves[2].counters.answers >= 2 * busy.device_faults - 1
    assert busy.polls == busy.frames + busy.device_faults
    assert busy.last_error == "unit 2: FC04 input 0x0000+2: server device busy (code 6)"
    assert (busy.read_timeouts, busy.bad_frames, busy.disconnects) == (0, 0, 0)
    healthy = bus.counters()["meter-1"]
    assert (healthy.state, healthy.device_faults) == (DeviceState.OK, 0)
    assert healthy.polls > busy.polls  # the busy slave's backoff is its own


def test_a_dropped_connection_is_reopened_at_once(gateway, running, collector, wait_until):
    gw = gateway(meter(1, "sdm120", disconnect_every=4))
    cfg = config(gw, slave("meter-1", 1, registers=VOLTAGE_ONLY))
    bus = running(ModbusTcpBus(cfg, collector))
    assert wait_until(lambda: bus.counters()["meter-1"].disconnects >= 2, timeout=20)
    assert wait_until(lambda: bus.counters()["meter-1"].state is DeviceState.OK)
    bus.stop()
    c = bus.counters()["meter-1"]
    assert c.open_failures == 0
    assert c.frames >= 6
    # each connection the server dropped instead of answering is one disconnect, and no more
    assert gw.simulator.counters.disconnects == c.disconnects


def test_a_restarted_server_is_reconnected(gateway, running, collector, wait_until):
    gw = gateway(meter(1, "sdm630"), meter(2, "sdm120"))
    cfg = config(gw, slave("meter-1", 1, "sdm630"), slave("meter-2", 2, "sdm120"))
    bus = running(ModbusTcpBus(cfg, collector, max_backoff_s=0.5))
    assert wait_until(lambda: all(c.frames >= 3 for c in bus.counters().values()))

    gw.simulator.stop()
    assert wait_until(lambda: sum(c.disconnects for c in bus.counters().values()) == 1)
    assert wait_until(lambda: all(c.open_failures >= 1 for c in bus.counters().values()))
    down = bus.counters()
    assert all(c.state is DeviceState.DISCONNECTED for c in down.values())
    assert all(not c.connected for c in down.values())
    assert all(c.last_error == f"cannot open tcp://{gw.host}:{gw.port}" for c in down.values())

    restarted = gateway(*gw.slaves.values(), port=gw.port)
    assert wait_until(
        lambda: all(c.frames >= down[d].frames + 3 for d, c in bus.counters().items()),
        timeout=20,
    )
    bus.stop()
    up = bus.counters()
    assert all(c.state is DeviceState.OK for c in up.values())
    assert sum(c.disconnects for c in up.values()) == 1
    assert restarted.simulator.counters.connections == 1
    assert sum(c.read_timeouts + c.bad_frames + c.device_faults for c in up.values()) == 0
