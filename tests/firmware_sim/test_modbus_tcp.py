import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymodbus.client import ModbusTcpClient
from pymodbus.exceptions import ModbusIOException

from firmware_sim.devices.modbus_slave import FaultPlan, ModbusSlave
from firmware_sim.devices.modbus_tcp import ModbusTcpSimulator
from firmware_sim.eastron import MODELS, decode_float
from firmware_sim.meters import SimulatedMeter
from firmware_sim.recorder import Recorder

H = bytes.fromhex
SILENCE_S = 0.3  # how long a test waits before it concludes that no reply is coming
REPLY_S = 3.0  # how long a test waits for a reply that must come (it returns as soon as it does)
SLAVE_ID_REPLY = "0000 0007 01 03 04 3F80 0000"  # after the transaction id: slave id 1.0


def read_slave_id(transaction, unit=1):
    return transaction.to_bytes(2) + H(f"0000 0006 {unit:02X} 03 0014 0002")


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


@dataclass
class Server:
    simulator: ModbusTcpSimulator
    record: Path

    def slave(self, unit):
        return self.simulator.slaves[unit]

    def connect(self):
        sock = socket.create_connection(self.simulator.address, timeout=REPLY_S)
        self._sockets.append(sock)
        return sock

    def recorded(self, count):
        """The record, once it has at least ``count`` lines: it is written just after a reply."""
        wait_until(lambda: len(self.record.read_text().splitlines()) >= count)
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    _sockets: list[socket.socket]


def receive(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def floats32(client, registers) -> list[float]:
    """Registers decoded as float32 by pymodbus itself, as the edge decodes them."""
    value = client.convert_from_registers(registers, client.DATATYPE.FLOAT32)
    return [float(v) for v in (value if isinstance(value, list) else [value])]


@pytest.fixture
def server(tmp_path):
    started: list[tuple[Any, Recorder]] = []

    def start(*meters, faults=None):
        recorder = Recorder(tmp_path / f"tcp-{len(started)}.jsonl")
        slaves = [
            ModbusSlave(
                unit,
                SimulatedMeter(MODELS[model], seed=unit, refresh_s=0.0),
                faults=(faults or {}).get(unit),
            )
            for unit, model in meters
        ]
        simulator = ModbusTcpSimulator(slaves, recorder=recorder)
        simulator.start()
        rig = Server(simulator, recorder.path, [])
        started.append((rig, recorder))
        return rig

    yield start
    for rig, recorder in started:
        for sock in rig._sockets:
            sock.close()
        rig.simulator.stop()
        recorder.close()


def test_reply_echoes_the_transaction_id_byte_for_byte(server):
    rig = server((1, "sdm630"))
    sock = rig.connect()
    sock.sendall(read_slave_id(0x1234))
    assert receive(sock, 13) == H("1234" + SLAVE_ID_REPLY)
    sock.sendall(read_slave_id(0xFFFF))
    assert receive(sock, 13) == H("FFFF" + SLAVE_ID_REPLY)
    assert [r["transaction"] for r in rig.recorded(2)] == [0x1234, 0xFFFF]


def test_pipelined_requests_are_answered_in_order(server):
    rig = server((1, "sdm630"))
    sock = rig.connect()
    sock.sendall(read_slave_id(1) + H("0002 0000 0006 01 04 0002 0002") + read_slave_id(3))
    replies = receive(sock, 13 * 3)
    assert replies[:13] == H("0001" + SLAVE_ID_REPLY)
    assert replies[13:22] == H("0002 0000 0007 01 04 04")
    assert 220 < decode_float(int.from_bytes(replies[22:24]), int.from_bytes(replies[24:26])) < 240
    assert replies[26:] == H("0003" + SLAVE_ID_REPLY)


def test_several_clients_at_once_each_get_their_own_replies(server):
    rig = server((1, "sdm630"), (2, "sdm120"))
    clients = [rig.connect() for _ in range(6)]
    for i, sock in enumerate(clients):  # every request is sent before any reply is read
        sock.sendall(read_slave_id(100 + i, unit=1 + i % 2))
    for i, sock in enumerate(clients):
        unit = 1 + i % 2
        value = "3F80" if unit == 1 else "4000"
        expected = (100 + i).to_bytes(2) + H(f"0000 0007 {unit:02X} 03 04 {value} 0000")
        assert receive(sock, 13) == expected
    assert rig.simulator.counters.connections == 6


@pytest.mark.parametrize(
    ("pdu", "reply"),
    [
        ("01 04 0002 0002", "0000 0003 01 84 02"),  # unmapped address
        ("01 05 0001 FF00", "0000 0003 01 85 01"),  # write single coil
        ("09 04 0000 0002", "0000 0003 09 84 0B"),  # no meter at unit 9
    ],
)
def test_exceptions_byte_for_byte(server, pdu, reply):
    rig = server((1, "sdm120"))
    sock = rig.connect()
    body = H(pdu)
    sock.sendall(H("0042 0000") + len(body).to_bytes(2) + body)
    assert receive(sock, 9) == H("0042" + reply)
    assert rig.recorded(1)[0]["exception"] == H(reply)[-1]


def test_busy_every_2_answers_every_second_request_with_exception_06(server):
    rig = server((1, "sdm630"), faults={1: FaultPlan(busy_every=2)})
    sock = rig.connect()
    sock.sendall(read_slave_id(1))
    assert receive(sock, 13) == H("0001" + SLAVE_ID_REPLY)
    sock.sendall(read_slave_id(2))
    assert receive(sock, 9) == H("0002 0000 0003 01 83 06")


def test_a_silent_unit_leaves_the_client_waiting_while_others_answer(server):
    rig = server((1, "sdm630"), (2, "sdm120"))
    rig.slave(1).silence()
    sock = rig.connect()
    sock.sendall(read_slave_id(1, unit=1))
    sock.settimeout(SILENCE_S)
    with pytest.raises(TimeoutError):
        sock.recv(64)
    sock.settimeout(REPLY_S)
    sock.sendall(read_slave_id(2, unit=2))
    assert receive(sock, 13)[:9] == H("0002 0000 0007 02 03 04")


def test_disconnect_every_2_closes_the_connection_instead_of_the_second_reply(server):
    rig = server((1, "sdm630"), faults={1: FaultPlan(disconnect_every=2)})
    sock = rig.connect()
    sock.sendall(read_slave_id(1))
    assert receive(sock, 13) == H("0001" + SLAVE_ID_REPLY)
    sock.sendall(read_slave_id(2))
    assert sock.recv(64) == b""  # the server closed the connection
    fresh = rig.connect()
    fresh.sendall(read_slave_id(3))
    assert receive(fresh, 13) == H("0003" + SLAVE_ID_REPLY)
    assert rig.simulator.counters.disconnects == 1


@pytest.mark.parametrize("header", ["0001 0001 0006 01", "0001 0000 0000 01"])
def test_a_header_no_modbus_peer_sends_closes_the_connection(server, header):
    rig = server((1, "sdm630"))
    sock = rig.connect()
    sock.sendall(H(header) + H("03 0014 0002"))
    assert sock.recv(64) == b""
    assert rig.simulator.counters.bad_headers == 1


def test_pymodbus_reads_the_server_as_the_edge_will(server):
    rig = server((1, "sdm630"), (2, "sdm120"))
    rig.slave(2).meter.frozen = True
    host, port = rig.simulator.address
    client = ModbusTcpClient(host, port=port, timeout=1.0, retries=0)
    assert client.connect()
    try:
        totals = client.read_input_registers(0x0034, count=12, device_id=1)  # W, VA, VAr, PF
        floats = floats32(client, totals.registers)
        watts, _, volt_amps, _, _, power_factor = floats
        assert 0.85 <= power_factor <= 0.98
        assert watts == pytest.approx(volt_amps * power_factor, rel=1e-5)
        first = client.read_input_registers(0x0000, count=2, device_id=2)
        second = client.read_input_registers(0x0000, count=2, device_id=2)
        assert first.registers == second.registers  # a stuck meter
        assert client.read_input_registers(0x0000, count=2, device_id=7).exception_code == 0x0B
        rig.slave(2).silence()
        with pytest.raises(ModbusIOException):
            client.read_input_registers(0x0000, count=2, device_id=2)
    finally:
        client.close()
    recorded = rig.recorded(4)
    assert [v["name"] for v in recorded[0]["values"]] == [
        "active_power",
        "apparent_power",
        "reactive_power",
        "power_factor",
    ]
    assert [v["value"] for v in recorded[0]["values"]] == [
        watts,
        volt_amps,
        floats[4],
        power_factor,
    ]
    assert len({r["transaction"] for r in recorded}) == len(recorded)


def test_cli_prints_the_port_serves_units_and_exits_0_on_sigterm(tmp_path):
    record = tmp_path / "replies.jsonl"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "firmware_sim.cli", "modbus-tcp", "--unit", "1:sdm630"),
            *("--unit", "5:sdm120", "--disconnect-every", "5:1", "--record", str(record)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(read_slave_id(7))
            assert receive(sock, 13) == H("0007" + SLAVE_ID_REPLY)
            sock.sendall(read_slave_id(8, unit=5))
            assert sock.recv(64) == b""
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert stdout == ""  # the port was the only line
    [line] = [json.loads(line) for line in record.read_text().splitlines()]
    assert (line["unit"], line["transaction"], line["values"][0]["value"]) == (1, 7, 1.0)
