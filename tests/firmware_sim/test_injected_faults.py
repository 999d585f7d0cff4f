"""Faults switched on and off while a simulator runs: what a host sees on the wire."""

import json
import time
from datetime import UTC, datetime

import pytest
import serial

from firmware_sim import dlt645
from firmware_sim.devices.dlt645 import Dlt645Simulator, MeterSpec
from firmware_sim.devices.modbus_rtu import ModbusRtuSimulator
from firmware_sim.devices.modbus_slave import ModbusSlave
from firmware_sim.devices.modbus_tcp import ModbusTcpSimulator
from firmware_sim.devices.pms5003 import Pms5003Simulator
from firmware_sim.devices.sds011 import Mode as SdsMode
from firmware_sim.devices.sds011 import Sds011Simulator
from firmware_sim.eastron import SDM120, SDM630, decode_float
from firmware_sim.faults import Fault, FaultSet, UnsupportedFaultError
from firmware_sim.meters import SimulatedMeter
from firmware_sim.modbus import FunctionCode, parse_read_response, read_request
from firmware_sim.pms5003 import Command, checksum, encode_command
from firmware_sim.recorder import Recorder
from firmware_sim.sds011 import Kind
from firmware_sim.sds011 import encode_command as sds_command
from firmware_sim.serial_link import PtyLink

H = bytes.fromhex
READ_IMPORT = read_request(FunctionCode.READ_INPUT_REGISTERS, 0x0048, 2)
READ_POWER = read_request(FunctionCode.READ_INPUT_REGISTERS, 0x000C, 2)
A, B = "123456789012", "000000004521"
ENERGY, POWER = 0x00010000, 0x02030000


def pms_frames(wire: bytes) -> list[bytes]:
    """The whole 32-byte frames of a wire without garbage, read from the middle of a stream."""
    start = wire.find(H("42 4D 00 1C"))
    frames = [wire[i : i + 32] for i in range(start, len(wire) - 31, 32)]
    assert frames
    assert all(f.startswith(H("42 4D 00 1C")) for f in frames)
    return frames


def pms_ok(frame: bytes) -> bool:
    return checksum(frame[:30]) == int.from_bytes(frame[30:32], "big")


# --- the fault set ----------------------------------------------------------------------------


def test_a_fault_set_refuses_what_the_device_cannot_have_and_damages_every_second_garbled_frame():
    faults = FaultSet("pms5003", frozenset({Fault.GARBAGE, Fault.BAD_CHECKSUM}))
    with pytest.raises(UnsupportedFaultError, match="pms5003 cannot have the fault busy"):
        faults.add(Fault.BUSY)
    assert [faults.damage_next() for _ in range(2)] == [False, False]
    faults.add(Fault.GARBAGE)
    assert [faults.damage_next() for _ in range(4)] == [False, True, False, True]
    faults.add(Fault.BAD_CHECKSUM)
    assert [faults.damage_next() for _ in range(2)] == [True, True]
    faults.discard(Fault.BAD_CHECKSUM)
    faults.discard(Fault.GARBAGE)
    assert faults.active == frozenset()
    assert faults.damage_next() is False


# --- PMS5003 ---------------------------------------------------------------------------------


def test_pms5003_silence_streams_nothing_and_drops_commands_until_cleared(sim_rig):
    rig = sim_rig(period=0.02)
    rig.simulator.inject(Fault.SILENCE)
    rig.read_for(0.1)  # a frame may have been on its way
    rig.port.write(encode_command(Command.PASSIVE_MODE))
    assert rig.read_for(0.3) == b""
    assert rig.simulator.counters.silenced_commands == 1
    rig.simulator.clear(Fault.SILENCE)
    assert len(rig.read_for(0.3)) >= 3 * 32  # still active: the command was never obeyed


def test_pms5003_garbage_sends_noise_before_every_frame_and_damages_every_second(sim_rig):
    rig = sim_rig(period=0.02)
    rig.simulator.inject(Fault.GARBAGE)
    before = rig.simulator.counters.frames_written  # give or take one on its way
    wire = rig.read_for(0.5)
    rig.simulator.stop()
    wire += rig.read_for(0.1)
    c = rig.simulator.counters
    assert c.corrupt_frames >= 5
    # under the fault good and damaged frames alternate, each after a few random bytes
    good = c.frames_written - before
    assert abs(good - c.corrupt_frames) <= 2  # one on its way at the switch, one at the end
    assert c.garbage_bytes >= good - 1 + c.corrupt_frames
    assert len(wire) == 32 * (c.frames_written + c.corrupt_frames) + c.garbage_bytes
    assert len(rig.recorded()) == c.frames_written  # damaged frames are never recorded


def test_pms5003_bad_checksum_damages_every_frame(sim_rig):
    rig = sim_rig(period=0.02)
    rig.read_for(0.1)
    rig.simulator.inject(Fault.BAD_CHECKSUM)
    rig.read_for(0.05)  # what was written before the switch
    written = rig.simulator.counters.frames_written
    frames = pms_frames(rig.read_for(0.3))
    assert len(frames) >= 5
    assert not any(pms_ok(f) for f in frames)
    assert rig.simulator.counters.frames_written == written
    rig.simulator.clear(Fault.BAD_CHECKSUM)
    rig.read_for(0.05)
    assert all(pms_ok(f) for f in pms_frames(rig.read_for(0.2)))


def test_pms5003_stuck_repeats_the_last_measurement(sim_rig):
    rig = sim_rig(period=0.02, seed=4)
    rig.read_for(0.1)
    rig.simulator.inject(Fault.STUCK)
    rig.read_for(0.05)
    stuck = pms_frames(rig.read_for(0.3))
    assert len(stuck) >= 5
    assert len(set(stuck)) == 1
    rig.simulator.clear(Fault.STUCK)
    rig.read_for(0.05)
    assert len(set(pms_frames(rig.read_for(0.5)))) > 1


@pytest.mark.parametrize("fault", [Fault.BUSY, Fault.COUNTER_RESET])
def test_a_particulate_sensor_has_no_busy_or_counter_reset(tmp_path, fault):
    with PtyLink(tmp_path / "pm") as link:
        for kind in (Pms5003Simulator, Sds011Simulator):
            with pytest.raises(UnsupportedFaultError):
                kind(link).inject(fault)


# --- SDS011 ----------------------------------------------------------------------------------


@pytest.fixture
def sds(tmp_path):
    link = PtyLink(tmp_path / "sds")
    recorder = Recorder(tmp_path / "sds.jsonl")
    port = serial.Serial(str(link.path), 9600, timeout=0.05)
    simulator = Sds011Simulator(link, recorder=recorder, mode=SdsMode.QUERY, seed=5)
    simulator.start()
    yield simulator, port
    simulator.stop()
    port.close()
    link.close()
    recorder.close()


def ask(port, command, seconds=0.2):
    port.write(command)
    data = bytearray()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data += port.read(port.in_waiting or 1)
    return bytes(data)


QUERY = sds_command(Kind.QUERY_DATA)


def sds_ok(frame: bytes) -> bool:
    return sum(frame[2:8]) % 256 == frame[8]


def test_sds011_faults_act_on_the_answers_to_queries(sds):
    simulator, port = sds
    assert sds_ok(ask(port, QUERY))
    simulator.inject(Fault.SILENCE)
    assert ask(port, QUERY) == b""
    assert simulator.counters.muted_commands == 1
    simulator.clear(Fault.SILENCE)
    simulator.inject(Fault.BAD_CHECKSUM)
    damaged = ask(port, QUERY)
    assert len(damaged) == 10
    assert not sds_ok(damaged)
    simulator.clear(Fault.BAD_CHECKSUM)
    simulator.inject(Fault.GARBAGE)
    first, second = ask(port, QUERY), ask(port, QUERY)
    assert len(first) > 10  # noise, then a good frame
    assert sds_ok(first[-10:])
    assert len(second) > 10
    assert not sds_ok(second[-10:])  # every second one damaged
    simulator.clear(Fault.GARBAGE)
    simulator.inject(Fault.STUCK)
    assert len({ask(port, QUERY) for _ in range(4)}) == 1
    simulator.clear(Fault.STUCK)
    assert simulator.faults == frozenset()


# --- Modbus ----------------------------------------------------------------------------------


class Clock:
    def __init__(self):
        self.now = datetime(2024, 3, 5, 2, tzinfo=UTC).timestamp()

    def __call__(self):
        return self.now


def make_slave(register_map=SDM630, unit=1):
    clock = Clock()
    meter = SimulatedMeter(register_map, seed=unit, refresh_s=0.0, clock=clock, rated=300)
    return ModbusSlave(unit, meter, clock=clock), clock


def test_a_busy_slave_answers_exception_06_until_cleared():
    slave, _ = make_slave()
    slave.inject(Fault.BUSY)
    assert slave.answer(READ_IMPORT).pdu == H("84 06")
    slave.clear(Fault.BUSY)
    assert slave.answer(READ_IMPORT).pdu[:2] == H("04 04")
    assert slave.counters.busy == 1


def test_a_silent_slave_does_not_answer():
    slave, _ = make_slave()
    slave.inject(Fault.SILENCE)
    assert slave.answer(READ_IMPORT) is None
    slave.clear(Fault.SILENCE)
    assert slave.answer(READ_IMPORT) is not None
    assert slave.counters.silenced == 1


def test_garbage_and_bad_checksum_shape_the_reply_frames():
    slave, _ = make_slave()
    slave.inject(Fault.GARBAGE)
    answers = [slave.answer(READ_IMPORT) for _ in range(4)]
    assert all(a is not None and a.garbage for a in answers)
    assert [a.bad_crc for a in answers if a is not None] == [False, True, False, True]
    slave.clear(Fault.GARBAGE)
    slave.inject(Fault.BAD_CHECKSUM)
    answer = slave.answer(READ_IMPORT)
    assert answer is not None
    assert answer.bad_crc
    assert not answer.garbage
    assert slave.counters.damaged == 3


def test_a_stuck_slave_repeats_its_registers_and_a_reset_brings_its_counter_to_zero():
    slave, clock = make_slave()

    def power():
        answer = slave.answer(READ_POWER)
        assert answer is not None
        return decode_float(*parse_read_response(answer.pdu))

    def energy():
        answer = slave.answer(READ_IMPORT)
        assert answer is not None
        return decode_float(*parse_read_response(answer.pdu))

    slave.inject(Fault.STUCK)
    held = power()
    clock.now += 600
    assert power() == held
    slave.clear(Fault.STUCK)
    clock.now += 600
    assert power() != held
    assert energy() > 1000
    slave.inject(Fault.COUNTER_RESET)
    assert energy() < 0.01
    assert slave.counters.resets == 1


def test_a_tcp_server_has_no_checksums_to_break_and_names_its_units(tmp_path):
    slave, _ = make_slave(SDM120, unit=3)
    server = ModbusTcpSimulator([slave])
    for fault in (Fault.GARBAGE, Fault.BAD_CHECKSUM):
        with pytest.raises(UnsupportedFaultError):
            server.inject(fault, 3)
    with pytest.raises(KeyError, match="no unit 4"):
        server.inject(Fault.BUSY, 4)
    server.inject(Fault.BUSY)  # every unit
    assert slave.injected == {Fault.BUSY}
    with PtyLink(tmp_path / "rtu") as link:
        bus = ModbusRtuSimulator(link, [slave])
        bus.clear(Fault.BUSY, 3)
        bus.inject(Fault.GARBAGE, 3)
        assert slave.injected == {Fault.GARBAGE}


# --- DL/T 645 --------------------------------------------------------------------------------


@pytest.fixture
def dlt(tmp_path):
    link = PtyLink(tmp_path / "dlt")
    recorder = Recorder(tmp_path / "dlt.jsonl")
    port = serial.Serial(str(link.path), 2400, parity=serial.PARITY_EVEN, timeout=0.02)
    meters = [MeterSpec(A, rated_kw=20), MeterSpec(B, rated_kw=20)]
    simulator = Dlt645Simulator(link, meters, recorder=recorder, preamble=False)
    simulator.start()
    yield simulator, port, recorder
    simulator.stop()
    port.close()
    link.close()
    recorder.close()


def read(address, di):
    return dlt645.frame(dlt645.address_field(address), dlt645.Code.READ, di.to_bytes(4, "little"))


def dlt_ok(reply: bytes) -> bool:
    start = reply.index(0x68)
    return sum(reply[start:-2]) % 256 == reply[-2]


def test_dlt645_busy_answers_an_error_reply_other_error(dlt):
    simulator, port, _ = dlt
    simulator.inject(Fault.BUSY, A)
    reply = ask(port, read(A, ENERGY))
    assert reply == H("68 12 90 78 56 34 12 68 D1 01 34 8C 16")  # error byte 01 (+33: 34)
    assert dlt_ok(reply)
    assert ask(port, read(B, ENERGY))[8] == 0x91  # the other meter is not busy
    simulator.clear(Fault.BUSY, A)
    assert ask(port, read(A, ENERGY))[8] == 0x91


def test_dlt645_damage_and_silence_reach_only_the_meter_named(dlt):
    simulator, port, _ = dlt
    simulator.inject(Fault.BAD_CHECKSUM, A)
    assert not dlt_ok(ask(port, read(A, ENERGY)))
    assert dlt_ok(ask(port, read(B, ENERGY)))
    simulator.clear(Fault.BAD_CHECKSUM, A)
    simulator.inject(Fault.GARBAGE, A)
    first, second = ask(port, read(A, ENERGY)), ask(port, read(A, ENERGY))
    assert dlt_ok(first[first.index(0x68) :])  # noise, then the good reply
    assert not dlt_ok(second[second.index(0x68) :])
    simulator.clear(Fault.GARBAGE, A)
    simulator.inject(Fault.SILENCE)  # every meter
    assert ask(port, read(A, ENERGY)) == ask(port, read(B, ENERGY)) == b""
    simulator.clear(Fault.SILENCE)
    assert simulator.faults(A) == simulator.faults(B) == frozenset()


def test_dlt645_stuck_holds_every_item_and_a_reset_still_shows(dlt):
    simulator, port, recorder = dlt

    def values():
        ask(port, read(A, POWER))
        ask(port, read(A, ENERGY))
        records = [json.loads(line) for line in recorder.path.read_text().splitlines()]
        return records[-2]["value"], records[-1]["value"]

    simulator.inject(Fault.STUCK, A)
    held = values()
    time.sleep(0.05)
    assert values() == held
    simulator.inject(Fault.COUNTER_RESET, A)
    power, energy = values()
    assert energy < 0.01  # a reset shows even on a stuck meter
    assert power == held[0]
    simulator.clear(Fault.STUCK, A)
    assert simulator.counters.counter_resets == 1
