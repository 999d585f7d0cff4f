"""The simulated SDS011 on a real pty, driven by a pyserial port as a host would drive it."""

import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import serial

from firmware_sim.devices.sds011 import Mode, Sds011Simulator
from firmware_sim.recorder import Recorder
from firmware_sim.sds011 import Kind, encode_command, encode_data_frame, encode_reply
from firmware_sim.serial_link import PtyLink

QUERY = encode_command(Kind.QUERY_DATA)
QUERY_MODE = encode_command(Kind.REPORTING_MODE, b"\x01\x01")
ACTIVE_MODE = encode_command(Kind.REPORTING_MODE, b"\x01\x00")
SLEEP = encode_command(Kind.SLEEP_WORK, b"\x01\x00")
WAKE = encode_command(Kind.SLEEP_WORK, b"\x01\x01")


@dataclass
class Rig:
    simulator: Sds011Simulator
    port: serial.Serial
    record: Path

    def recorded(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def recorded_wire(self) -> bytes:
        """The bytes the records stand for, each re-encoded from its fields."""
        return b"".join(
            encode_data_frame(round(r["pm25"] * 10), round(r["pm10"] * 10), r["device_id"])
            if r["frame"] == "data"
            else encode_reply(Kind[r["kind"]], tuple(r["data"]), r["device_id"])
            for r in self.recorded()
        )

    def read_for(self, seconds: float) -> bytes:
        data = bytearray()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            data += self.port.read(self.port.in_waiting or 1)
        return bytes(data)

    def ask(self, command: bytes, seconds: float = 0.3) -> bytes:
        self.port.write(command)
        return self.read_for(seconds)


@pytest.fixture
def rig(tmp_path):
    started: list[tuple[Rig, PtyLink, Recorder]] = []

    def start(**options) -> Rig:
        n = len(started)
        link = PtyLink(tmp_path / f"sds-{n}")
        recorder = Recorder(tmp_path / f"sds-{n}.jsonl")
        # the host opens the port first, so every frame the simulator writes reaches it
        port = serial.Serial(str(link.path), 9600, timeout=0.05)
        simulator = Sds011Simulator(link, recorder=recorder, **options)
        made = Rig(simulator, port, recorder.path)
        started.append((made, link, recorder))
        simulator.start()
        return made

    yield start
    for made, link, recorder in started:
        made.simulator.stop()
        made.port.close()
        link.close()
        recorder.close()


def test_query_mode_answers_each_query_with_one_data_frame(rig):
    sim = rig(mode=Mode.QUERY, period=0.05, seed=2)
    assert sim.read_for(0.3) == b""
    for _ in range(3):
        sim.port.write(QUERY)
    wire = sim.read_for(0.5)
    assert len(wire) == 3 * 10
    assert [wire[i : i + 2] for i in range(0, 30, 10)] == [b"\xaa\xc0"] * 3
    assert wire == sim.recorded_wire()
    assert {r["device_id"] for r in sim.recorded()} == {0xA160}


def test_active_mode_streams_and_records_each_frame(rig):
    sim = rig(period=0.05, seed=3)
    wire = sim.read_for(0.6)
    sim.simulator.stop()
    wire += sim.read_for(0.2)
    assert len(wire) // 10 >= 6
    assert wire == sim.recorded_wire()  # byte for byte what the recorder says was sent
    stamps = [r["ts"] for r in sim.recorded()]
    assert 30 <= statistics.median(b - a for a, b in itertools.pairwise(stamps)) <= 100


def test_reporting_mode_commands_are_answered_and_switch_modes(rig):
    sim = rig(period=0.05)
    assert sim.read_for(0.2)
    sim.port.write(QUERY_MODE)
    wire = sim.read_for(0.3)
    assert wire.endswith(bytes.fromhex("AA C5 02 01 01 00 A1 60 05 AB"))
    assert sim.read_for(0.3) == b""
    assert sim.simulator.mode is Mode.QUERY
    assert sim.ask(ACTIVE_MODE)[:10] == bytes.fromhex("AA C5 02 01 00 00 A1 60 04 AB")
    assert len(sim.read_for(0.3)) >= 3 * 10


def test_sleep_stops_data_and_ignores_queries_and_wake_resumes(rig):
    sim = rig(mode=Mode.QUERY, period=0.05)
    assert sim.ask(SLEEP) == bytes.fromhex("AA C5 06 01 00 00 A1 60 08 AB")
    assert sim.simulator.asleep
    assert sim.ask(QUERY) == b""
    assert sim.ask(WAKE) == bytes.fromhex("AA C5 06 01 01 00 A1 60 09 AB")
    assert len(sim.ask(QUERY)) == 10
    c = sim.simulator.counters
    assert (c.sleeps, c.wakes, c.ignored_queries, c.frames_written) == (1, 1, 1, 1)


def test_sleeping_in_active_mode_stops_the_stream(rig):
    sim = rig(period=0.05)
    sim.port.write(SLEEP)
    sim.read_for(0.2)  # a frame may already be on its way
    assert sim.read_for(0.3) == b""
    sim.port.write(WAKE)
    assert len(sim.read_for(0.3)) >= 3 * 10


def test_only_commands_for_this_sensor_or_every_sensor_are_obeyed(rig):
    sim = rig(mode=Mode.QUERY, device_id=0x1234)
    assert sim.ask(encode_command(Kind.QUERY_DATA, device_id=0xA160)) == b""
    answer = sim.ask(encode_command(Kind.QUERY_DATA, device_id=0x1234))
    assert answer[:2] == b"\xaa\xc0"
    assert answer[6:8] == b"\x12\x34"
    assert sim.simulator.counters.not_addressed == 1


def test_device_id_and_firmware_commands_are_answered_as_the_datasheet_shows(rig):
    sim = rig(mode=Mode.QUERY)
    firmware = encode_command(Kind.FIRMWARE_VERSION, device_id=0xA160)
    assert sim.ask(firmware) == bytes.fromhex("AA C5 07 0F 07 0A A1 60 28 AB")
    set_id = bytes.fromhex("AA B4 05 00 00 00 00 00 00 00 00 00 00 A0 01 A1 60 A7 AB")
    assert sim.ask(set_id) == bytes.fromhex("AA C5 05 00 00 00 A0 01 A6 AB")
    assert sim.simulator.device_id == 0xA001
    assert sim.ask(encode_command(Kind.QUERY_DATA, device_id=0xA001))[6:8] == b"\xa0\x01"


def test_commands_with_a_bad_checksum_are_ignored_and_counted(rig):
    sim = rig(mode=Mode.QUERY)
    broken = bytearray(QUERY)
    broken[17] ^= 1
    assert sim.ask(bytes(broken)) == b""
    assert sim.simulator.counters.rejected_commands == 1
    assert sim.simulator.counters.commands == 0


def test_garbage_every_n_adds_random_bytes_and_a_corrupt_frame(rig):
    sim = rig(period=0.02, garbage_every=3, seed=7)
    wire = sim.read_for(0.6)
    sim.simulator.stop()
    wire += sim.read_for(0.2)
    c = sim.simulator.counters
    assert c.frames_written >= 9
    assert c.corrupt_frames == c.frames_written // 3
    assert len(wire) == 10 * (c.frames_written + c.corrupt_frames) + c.garbage_bytes
    assert len(sim.recorded()) == c.frames_written  # corrupt frames are not recorded


def test_a_muted_sensor_says_nothing_then_answers_again(rig):
    sim = rig(mode=Mode.QUERY)
    sim.simulator.mute(60)
    assert sim.simulator.muted
    assert sim.ask(QUERY) == b""
    assert sim.ask(WAKE) == b""
    assert sim.simulator.counters.muted_commands == 2
    sim.simulator.unmute()
    assert len(sim.ask(QUERY)) == 10


def test_cli_prints_the_pty_records_frames_and_exits_0_on_sigterm(tmp_path):
    path, record = tmp_path / "sds", tmp_path / "frames.jsonl"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "firmware_sim.cli", "sds011", "--link", str(path)),
            *("--period", "0.05", "--seed", "5", "--record", str(record), "--mode", "query"),
            *("--device-id", "1234"),
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
        port = serial.Serial(str(path), 9600, timeout=0.5)
        assert port.read(10) == b""  # query mode: nothing unasked
        port.write(QUERY)
        frame = port.read(10)
        assert (frame[:2], frame[6:8], frame[9:]) == (b"\xaa\xc0", b"\x12\x34", b"\xab")
        port.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert not path.is_symlink()
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(lines) == 1
    assert set(lines[0]) == {"ts", "frame", "cause", "pm25", "pm10", "device_id"}
    assert (lines[0]["frame"], lines[0]["cause"]) == ("data", "query")
    assert lines[0]["pm25"] == int.from_bytes(frame[2:4], "little") / 10
