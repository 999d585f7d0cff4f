import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import serial
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ModbusIOException

from firmware_sim.devices.modbus_rtu import ModbusRtuSimulator
from firmware_sim.devices.modbus_slave import FaultPlan, ModbusSlave
from firmware_sim.eastron import MODELS, decode_float
from firmware_sim.meters import SimulatedMeter
from firmware_sim.modbus import crc16
from firmware_sim.recorder import Recorder
from firmware_sim.serial_link import PtyLink

H = bytes.fromhex
READ_VOLTAGE = H("01 04 00 00 00 02 71 CB")  # the protocol reference's example frames
READ_IMPORT = H("01 04 00 48 00 02 F1 DD")
READ_SLAVE_ID = H("01 03 00 14 00 02 84 0F")
SILENCE_S = 0.3  # how long a test waits before it concludes that no reply is coming
REPLY_S = 3.0  # how long a test waits for a reply that must come (it returns as soon as it does)


def crc_ok(frame):
    return crc16(frame[:-2]) == int.from_bytes(frame[-2:], "little")


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def assert_silent(port):
    port.timeout = SILENCE_S
    try:
        assert port.read(1) == b""
    finally:
        port.timeout = REPLY_S


@dataclass
class Bus:
    simulator: ModbusRtuSimulator
    port: serial.Serial
    record: Path
    link: PtyLink

    def slave(self, unit):
        return self.simulator.slaves[unit]

    def ask(self, frame, reply_size=9):
        self.port.write(frame)
        return self.port.read(reply_size)

    def assert_silent(self):
        assert_silent(self.port)

    def recorded(self, count):
        """The record, once it has at least ``count`` lines: it is written just after a reply."""
        wait_until(lambda: len(self.record.read_text().splitlines()) >= count)
        return [json.loads(line) for line in self.record.read_text().splitlines()]


def floats32(client, registers) -> list[float]:
    """Registers decoded as float32 by pymodbus itself, as the edge decodes them."""
    value = client.convert_from_registers(registers, client.DATATYPE.FLOAT32)
    return [float(v) for v in (value if isinstance(value, list) else [value])]


@pytest.fixture
def bus(tmp_path):
    started: list[tuple[Any, Recorder]] = []

    def start(*meters, faults=None):
        n = len(started)
        link = PtyLink(tmp_path / f"rs485-{n}")
        recorder = Recorder(tmp_path / f"rs485-{n}.jsonl")
        port = serial.Serial(str(link.path), 9600, timeout=REPLY_S)
        slaves = [
            ModbusSlave(
                unit,
                SimulatedMeter(MODELS[model], seed=unit, refresh_s=0.0),
                faults=(faults or {}).get(unit),
            )
            for unit, model in meters
        ]
        simulator = ModbusRtuSimulator(link, slaves, recorder=recorder)
        simulator.start()
        rig = Bus(simulator, port, recorder.path, link)
        started.append((rig, recorder))
        return rig

    yield start
    for rig, recorder in started:
        rig.simulator.stop()
        rig.port.close()
        rig.link.close()
        recorder.close()


def test_reference_frame_reads_the_sdm120_voltage_and_the_reply_is_recorded(bus):
    rig = bus((1, "sdm120"))
    reply = rig.ask(READ_VOLTAGE)
    assert reply[:3] == H("01 04 04")
    assert crc_ok(reply)
    volts = decode_float(int.from_bytes(reply[3:5]), int.from_bytes(reply[5:7]))
    assert 220 < volts < 240
    [line] = rig.recorded(1)
    assert line["registers"] == [int.from_bytes(reply[3:5]), int.from_bytes(reply[5:7])]
    assert line["values"] == [{"address": 0, "name": "voltage", "value": volts}]
    assert (line["unit"], line["function"], line["address"]) == (1, 4, 0)


def test_reference_frame_reads_the_import_counter(bus):
    rig = bus((1, "sdm120"))
    reply = rig.ask(READ_IMPORT)
    assert reply[:3] == H("01 04 04")
    assert crc_ok(reply)
    assert 1000 < decode_float(int.from_bytes(reply[3:5]), int.from_bytes(reply[5:7])) < 20001


@pytest.mark.parametrize(
    ("request_frame", "reply"),
    [
        (READ_SLAVE_ID, "01 03 04 3F 80 00 00 F7 CF"),  # slave id 1.0
        ("01 04 00 02 00 02 D0 0B", "01 84 02 C2 C1"),  # unmapped address: exception 02
        ("01 05 00 01 FF 00 DD FA", "01 85 01 83 50"),  # write single coil: exception 01
    ],
)
def test_replies_byte_for_byte(bus, request_frame, reply):
    rig = bus((1, "sdm120"))
    frame = request_frame if isinstance(request_frame, bytes) else H(request_frame)
    assert rig.ask(frame, len(H(reply))) == H(reply)
    rig.assert_silent()


def test_only_the_addressed_slave_answers_and_unknown_or_broadcast_ids_get_silence(bus):
    rig = bus((1, "sdm630"), (2, "sdm120"))
    reply = rig.ask(H("02 04 00 00 00 02 71 F8"))
    assert reply[:3] == H("02 04 04")
    assert crc_ok(reply)
    rig.assert_silent()  # slave 1 heard it too, and kept quiet
    rig.port.write(H("03 04 00 00 00 02 70 29"))
    rig.assert_silent()
    rig.port.write(H("00 04 00 00 00 02 70 1A"))
    rig.assert_silent()
    assert rig.slave(1).counters.requests == 0
    assert rig.slave(2).counters.requests == 1
    assert rig.simulator.counters.not_addressed == 2


def test_garbage_and_bad_crc_requests_are_ignored_and_the_next_good_one_answered(bus):
    rig = bus((1, "sdm120"))
    rig.port.write(H("FF 00 13") + H("01 04 00 00 00 02 71 CC") + READ_VOLTAGE)
    reply = rig.port.read(9)
    rig.assert_silent()
    assert len(reply) == 9
    assert crc_ok(reply)
    assert rig.simulator.counters.rejected_bytes == 3 + 8


def test_an_incomplete_frame_is_dropped_when_the_line_goes_quiet(bus):
    rig = bus((1, "sdm120"))
    # an FC16 header announcing 240 data bytes that never come: without the t3.5 silence the
    # slave would wait for them and swallow the next request
    rig.port.write(H("01 10 00 14 00 02 F0"))
    rig.port.flush()
    time.sleep(0.2)
    assert rig.ask(READ_SLAVE_ID) == H("01 03 04 3F 80 00 00 F7 CF")
    assert rig.simulator.counters.rejected_bytes == 7


def test_busy_every_2_answers_every_second_request_with_exception_06(bus):
    rig = bus((1, "sdm120"), faults={1: FaultPlan(busy_every=2)})
    assert rig.ask(READ_SLAVE_ID) == H("01 03 04 3F 80 00 00 F7 CF")
    assert rig.ask(READ_SLAVE_ID, 5) == H("01 83 06 C1 32")
    assert rig.ask(READ_SLAVE_ID) == H("01 03 04 3F 80 00 00 F7 CF")
    assert [line.get("exception") for line in rig.recorded(3)] == [None, 6, None]


def test_a_silenced_slave_times_out_while_the_others_answer(bus):
    rig = bus((1, "sdm120"), (2, "sdm120"))
    rig.slave(1).silence()
    rig.port.write(READ_VOLTAGE)
    rig.assert_silent()
    assert rig.ask(H("02 04 00 00 00 02 71 F8"))[:3] == H("02 04 04")
    rig.slave(1).faults = FaultPlan()
    assert rig.ask(READ_VOLTAGE)[:3] == H("01 04 04")


def test_bad_crc_every_2_corrupts_every_second_reply_and_records_only_good_ones(bus):
    rig = bus((1, "sdm120"), faults={1: FaultPlan(bad_crc_every=2)})
    replies = [rig.ask(READ_SLAVE_ID) for _ in range(4)]
    assert [crc_ok(r) for r in replies] == [True, False, True, False]
    assert all(r[:7] == H("01 03 04 3F 80 00 00") for r in replies)
    assert wait_until(lambda: rig.simulator.counters.corrupt_replies == 2)
    assert len(rig.recorded(2)) == 2


def test_garbage_every_1_puts_random_bytes_before_each_reply(bus):
    rig = bus((1, "sdm120"), faults={1: FaultPlan(garbage_every=1)})
    rig.port.write(READ_SLAVE_ID)
    wire = b""
    while not wire.endswith(H("01 03 04 3F 80 00 00 F7 CF")) and len(wire) < 64:
        wire += rig.port.read(1)
    garbage = rig.simulator.counters.garbage_bytes
    assert 1 <= garbage <= 8
    assert len(wire) == garbage + 9
    assert wire[garbage:] == H("01 03 04 3F 80 00 00 F7 CF")


def test_a_stuck_meter_repeats_its_registers_and_a_reset_zeroes_the_counter(bus):
    rig = bus((1, "sdm630"))
    rig.slave(1).meter.frozen = True
    first, second = rig.ask(READ_VOLTAGE), rig.ask(READ_VOLTAGE)
    assert first == second
    rig.slave(1).meter.frozen = False
    assert rig.ask(READ_VOLTAGE) != first
    before = rig.ask(READ_IMPORT)
    rig.slave(1).meter.reset_energy()
    after = rig.ask(READ_IMPORT)
    assert decode_float(int.from_bytes(before[3:5]), int.from_bytes(before[5:7])) > 1000
    assert decode_float(int.from_bytes(after[3:5]), int.from_bytes(after[5:7])) < 1


def test_pymodbus_reads_the_bus_as_the_edge_will(bus):
    rig = bus((1, "sdm630"), (2, "sdm120"), faults={2: FaultPlan(busy_every=3)})
    client = ModbusSerialClient(str(rig.link.path), baudrate=9600, timeout=1.0, retries=0)
    assert client.connect()
    try:
        block = client.read_input_registers(0x0000, count=18, device_id=1)  # V, A, W of 3 phases
        assert not block.isError()
        floats = floats32(client, block.registers)
        assert all(220 < v < 240 for v in floats[0:3])
        assert sum(floats[6:9]) > 0
        energy = client.read_input_registers(0x0048, count=2, device_id=2)
        [kwh] = floats32(client, energy.registers)
        assert 1000 < kwh < 20001
        assert client.read_input_registers(0x0002, count=2, device_id=2).exception_code == 2
        assert client.read_input_registers(0x0000, count=2, device_id=2).exception_code == 6
        with pytest.raises(ModbusIOException):
            client.read_input_registers(0x0000, count=2, device_id=3)  # nobody: a timeout
        again = client.read_input_registers(0x0000, count=2, device_id=1)
        assert not again.isError()
    finally:
        client.close()
    recorded = rig.recorded(5)
    assert [(r["unit"], r["address"], r.get("exception")) for r in recorded] == [
        (1, 0x0000, None),
        (2, 0x0048, None),
        (2, 0x0002, 2),
        (2, 0x0000, 6),
        (1, 0x0000, None),
    ]
    assert [v["value"] for v in recorded[0]["values"]] == floats
    assert recorded[1]["values"] == [{"address": 0x48, "name": "energy_import", "value": kwh}]


def test_cli_serves_a_bus_with_faults_records_replies_and_exits_0_on_sigterm(tmp_path):
    path, record = tmp_path / "rs485", tmp_path / "replies.jsonl"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "firmware_sim.cli", "modbus-rtu", "--link", str(path)),
            *("--slave", "1:sdm120", "--slave", "2:sdm630:40", "--busy-every", "2:2"),
            *("--silent-slave", "1:0:3600", "--record", str(record), "--seed", "3"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        device = process.stdout.readline().strip()
        assert device.startswith("/dev/pts/")
        assert os.path.realpath(path) == os.path.realpath(device)
        port = serial.Serial(str(path), 9600, timeout=REPLY_S)
        port.write(READ_VOLTAGE)
        assert_silent(port)  # slave 1 is silent for an hour
        read_2 = H("02 04 00 00 00 02 71 F8")
        port.write(read_2)
        assert port.read(9)[:3] == H("02 04 04")
        port.write(read_2)
        assert port.read(5) == H("02 84 06 33 02")
        port.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert not path.is_symlink()
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert [(r["unit"], r.get("exception")) for r in lines] == [(2, None), (2, 6)]
