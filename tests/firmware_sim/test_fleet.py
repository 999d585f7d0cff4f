"""The fleet of a scenario: every device type in one process, its endpoints, its timeline."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import serial
import yaml

from devstack.processes import wait_until
from firmware_sim import dlt645
from firmware_sim.faults import Fault
from firmware_sim.modbus import FunctionCode, encode_rtu, encode_tcp, read_request

METER = "123456789012"
READ_IMPORT = read_request(FunctionCode.READ_INPUT_REGISTERS, 0x0048, 2)
ALL_TYPES = {
    "site": "site-test",
    "seed": 7,
    "devices": [
        {"type": "pms5003", "id": "pm-1", "period": 0.05},
        {"type": "sds011", "id": "pm-2", "period": 0.05, "episodes": False},
        {
            "type": "modbus_rtu",
            "id": "rs485-1",
            "slaves": [
                {"unit": 1, "model": "sdm630", "rated_kw": 400},
                {"unit": 2, "model": "sdm120", "id": "meter-office"},
            ],
        },
        {"type": "modbus_tcp", "id": "tcp-1", "units": [{"unit": 1, "model": "sdm630"}]},
        {"type": "dlt645", "id": "meters-1", "meters": [{"address": METER, "rated_kw": 800}]},
    ],
}


def read_until(port, done, seconds=3.0):
    data = bytearray()
    deadline = time.monotonic() + seconds
    while not done(data) and time.monotonic() < deadline:
        data += port.read(port.in_waiting or 1)
    return bytes(data)


def ask_serial(path, request, done, **options):
    with serial.Serial(path, 9600, timeout=0.05, **options) as port:
        port.write(request)
        return read_until(port, done)


def sim_threads():
    return [t for t in threading.enumerate() if t.name.endswith("-sim")]


def test_the_fleet_starts_every_device_type_and_tears_down_cleanly(fleet_factory, tmp_path):
    before = len(sim_threads())
    fleet = fleet_factory(ALL_TYPES)
    endpoints = fleet.endpoints()
    assert endpoints["site"] == "site-test"
    devices = {d["id"]: d for d in endpoints["devices"]}
    assert [d["type"] for d in endpoints["devices"]] == [
        "pms5003",
        "sds011",
        "modbus_rtu",
        "modbus_tcp",
        "dlt645",
    ]
    assert devices["pm-1"]["period"] == 0.05
    assert devices["rs485-1"]["members"] == [
        {"id": "rs485-1-1", "unit": 1, "model": "sdm630", "rated_kw": 400.0},
        {"id": "meter-office", "unit": 2, "model": "sdm120", "rated_kw": 7.92},  # 80 % of 45 A
    ]
    assert devices["meters-1"]["members"] == [
        {"id": "meters-1-123456789012", "address": METER, "rated_kw": 800.0, "ct_ratio": 300.0}
    ]
    tcp = devices["tcp-1"]
    assert tcp["host"] == "127.0.0.1"
    assert tcp["members"][0]["rated_kw"] == pytest.approx(52.8)  # 80 % of 3 x 220 V x 100 A
    links = [d["link"] for d in endpoints["devices"] if "link" in d]
    assert len(links) == 4
    assert all(os.path.realpath(link).startswith("/dev/pts/") for link in links)
    assert len(sim_threads()) == before + 5
    assert json.loads(json.dumps(endpoints)) == endpoints  # plain data

    # every device answers as its kind does
    pms = ask_serial(devices["pm-1"]["link"], b"", lambda d: b"BM\x00\x1c" in d)
    assert b"BM\x00\x1c" in pms
    sds = ask_serial(devices["pm-2"]["link"], b"", lambda d: b"\xaa\xc0" in d)
    assert b"\xaa\xc0" in sds
    rtu = ask_serial(devices["rs485-1"]["link"], encode_rtu(2, READ_IMPORT), lambda d: len(d) >= 9)
    assert rtu[:3] == bytes.fromhex("02 04 04")
    with socket.create_connection((tcp["host"], tcp["port"]), timeout=3) as conn:
        conn.sendall(encode_tcp(9, 1, READ_IMPORT))
        assert conn.recv(64)[:9] == bytes.fromhex("0009 0000 0007 01 04 04")
    read_energy = dlt645.frame(
        dlt645.address_field(METER), 0x11, (0x00010000).to_bytes(4, "little")
    )
    dlt = ask_serial(
        devices["meters-1"]["link"],
        read_energy,
        lambda d: d.endswith(b"\x16") and len(d) > 16,
        parity=serial.PARITY_EVEN,
    )
    assert dlt[dlt.index(0x68) + 8] == 0x91
    records = {d["id"]: Path(d["record"]) for d in endpoints["devices"]}
    assert all(path.exists() for path in records.values())
    # a reply is recorded just after it went out: wait for the line rather than race it
    assert wait_until(lambda: bool(records["tcp-1"].read_text().strip()), timeout_s=5)
    assert json.loads(records["tcp-1"].read_text().splitlines()[0])["transaction"] == 9

    fleet.stop()
    assert not any(os.path.lexists(link) for link in links)
    assert len(sim_threads()) == before
    assert fleet.endpoints()["devices"] == []
    with pytest.raises(ConnectionRefusedError):  # the server no longer listens
        socket.create_connection((tcp["host"], tcp["port"]), timeout=1)


def wait_for_steps(fleet, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while len(fleet.applied()) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return fleet.applied()


def test_the_timeline_applies_each_fault_at_its_moment_to_the_member_it_names(fleet_factory):
    scenario = {
        **ALL_TYPES,
        "timeline": [
            {"at": 0.2, "device": "rs485-1", "fault": "silence", "for": 0.6},
            {"at": 0.4, "device": "rs485-1/2", "fault": "silence", "for": 0.8},
            {"at": 0.5, "device": "meters-1/123456789012", "fault": "counter_reset"},
            {"at": 0.5, "device": "pm-1", "fault": "stuck", "for": 0.2},
        ],
    }
    fleet = fleet_factory(scenario)
    bus = fleet.device("rs485-1").simulator
    one, two = bus.slaves[1], bus.slaves[2]
    assert one.injected == two.injected == frozenset()

    applied = wait_for_steps(fleet, 2)
    assert [(a.device, a.fault, a.begins) for a in applied] == [
        ("rs485-1", Fault.SILENCE, True),
        ("rs485-1/2", Fault.SILENCE, True),
    ]
    assert one.injected == two.injected == {Fault.SILENCE}

    applied = wait_for_steps(fleet, 5)
    assert [(a.device, a.fault, a.begins) for a in applied[2:]] == [
        ("meters-1/123456789012", Fault.COUNTER_RESET, True),
        ("pm-1", Fault.STUCK, True),
        ("pm-1", Fault.STUCK, False),
    ]
    assert fleet.device("meters-1").simulator.counters.counter_resets == 1

    applied = wait_for_steps(fleet, 6)
    assert (applied[5].device, applied[5].begins) == ("rs485-1", False)
    # the bus-wide silence is over; unit 2's own silence goes on until it ends too
    assert one.injected == frozenset()
    assert two.injected == {Fault.SILENCE}

    applied = wait_for_steps(fleet, 7)
    assert (applied[6].device, applied[6].begins) == ("rs485-1/2", False)
    assert two.injected == frozenset()
    assert [a.planned_s for a in applied] == pytest.approx([0.2, 0.4, 0.5, 0.5, 0.7, 0.8, 1.2])
    assert all(a.applied_s >= a.planned_s for a in applied)
    assert [a.wall_ms for a in applied] == sorted(a.wall_ms for a in applied)


def test_a_silenced_sensor_records_no_frame_while_the_fault_lasts(fleet_factory):
    scenario = {
        "devices": [{"type": "pms5003", "id": "pm-1", "period": 0.02}],
        "timeline": [{"at": 0.3, "device": "pm-1", "fault": "silence", "for": 0.4}],
    }
    fleet = fleet_factory(scenario)
    [endpoint] = fleet.endpoints()["devices"]
    # the host reads, so the frames are written (and recorded) rather than dropped
    with serial.Serial(endpoint["link"], 9600, timeout=0.05) as port:
        read_until(port, lambda _: len(fleet.applied()) >= 2, seconds=5)
        read_until(port, lambda _: False, seconds=0.3)
    begins, ends = fleet.applied()
    stamps = [json.loads(line)["ts"] for line in Path(endpoint["record"]).read_text().splitlines()]
    # a frame already on its way when the fault began may carry that very millisecond
    assert not [ts for ts in stamps if begins.wall_ms < ts < ends.wall_ms]
    assert any(ts < begins.wall_ms for ts in stamps)
    assert any(ts > ends.wall_ms for ts in stamps)


def test_a_repeating_timeline_comes_back_every_period(fleet_factory):
    scenario = {
        "repeat": 0.3,
        "devices": [{"type": "sds011", "id": "pm-1"}],
        "timeline": [{"at": 0.1, "device": "pm-1", "fault": "garbage", "for": 0.1}],
    }
    fleet = fleet_factory(scenario, record=False)
    applied = wait_for_steps(fleet, 6)[:6]
    assert [a.planned_s for a in applied] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.7, 0.8])
    assert [a.begins for a in applied] == [True, False] * 3


def test_cli_prints_the_endpoints_as_one_json_line_and_exits_0_on_sigterm(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(ALL_TYPES))
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "firmware_sim.cli", "scenario", str(path)),
            *("--workdir", str(tmp_path / "dev"), "--record-dir", str(tmp_path / "records")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        endpoints = json.loads(process.stdout.readline())
        links = [d["link"] for d in endpoints["devices"] if "link" in d]
        assert all(os.path.realpath(link).startswith("/dev/pts/") for link in links)
        assert sorted(p.name for p in (tmp_path / "records").iterdir()) == [
            "meters-1.jsonl",
            "pm-1.jsonl",
            "pm-2.jsonl",
            "rs485-1.jsonl",
            "tcp-1.jsonl",
        ]
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert stdout == ""  # nothing but the one line
    assert not any(os.path.lexists(link) for link in links)


def test_cli_refuses_an_invalid_scenario_naming_each_problem(tmp_path):
    path = tmp_path / "site.yaml"
    bad = {**ALL_TYPES, "timeline": [{"at": 1, "device": "tcp-1", "fault": "garbage"}]}
    path.write_text(yaml.safe_dump(bad))
    result = subprocess.run(
        [sys.executable, "-m", "firmware_sim.cli", "scenario", str(path), "--workdir", "x"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{path}: timeline[0].fault: a modbus_tcp cannot have garbage" in result.stderr
