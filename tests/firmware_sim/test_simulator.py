import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import time

import serial

from firmware_sim.devices.pms5003 import Mode, Pms5003Simulator
from firmware_sim.pms5003 import Command, encode_command
from firmware_sim.serial_link import PtyLink


def test_active_mode_streams_one_frame_per_period_and_records_each(sim_rig):
    rig = sim_rig(period=0.1, seed=3)
    wire = rig.read_for(1.0)
    rig.simulator.stop()
    wire += rig.read_for(0.2)
    assert 5 <= len(wire) // 32 <= 13
    assert wire == rig.recorded_wire()  # byte for byte what the recorder says was sent
    stamps = [r["ts"] for r in rig.recorded()]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(gap >= 0 for gap in gaps)
    assert 80 <= statistics.median(gaps) <= 130  # one frame per 0.1 s period


def test_passive_mode_answers_each_read_command_with_one_frame(sim_rig):
    rig = sim_rig(mode=Mode.PASSIVE, period=0.05)
    assert rig.read_for(0.4) == b""
    for _ in range(3):
        rig.port.write(encode_command(Command.READ))
    wire = rig.read_for(0.5)
    assert len(wire) == 3 * 32
    assert wire == rig.recorded_wire()


def test_mode_commands_switch_between_streaming_and_answering(sim_rig):
    rig = sim_rig(period=0.05)
    assert rig.read_for(0.3)
    rig.port.write(encode_command(Command.PASSIVE_MODE))
    rig.read_for(0.2)  # a frame may already be on its way
    assert rig.read_for(0.4) == b""
    assert rig.simulator.mode is Mode.PASSIVE
    rig.port.write(encode_command(Command.ACTIVE_MODE))
    assert len(rig.read_for(0.4)) >= 3 * 32


def test_sleep_silences_even_read_commands_and_wake_resumes(sim_rig):
    rig = sim_rig(period=0.05)
    rig.port.write(encode_command(Command.SLEEP))
    rig.read_for(0.2)
    rig.port.write(encode_command(Command.READ))
    assert rig.read_for(0.4) == b""
    assert rig.simulator.asleep
    rig.port.write(encode_command(Command.WAKE))
    assert len(rig.read_for(0.4)) >= 3 * 32


def test_commands_with_a_bad_checksum_are_ignored_and_counted(sim_rig):
    rig = sim_rig(period=0.05)
    rig.port.write(bytes.fromhex("42 4D E4 00 00 01 00"))  # sleep, but broken
    assert len(rig.read_for(0.4)) >= 3 * 32
    assert rig.simulator.counters.rejected_commands == 1
    assert rig.simulator.counters.commands == 0


def test_garbage_every_n_adds_random_bytes_and_a_corrupt_frame(sim_rig):
    rig = sim_rig(period=0.02, garbage_every=3)
    wire = rig.read_for(0.8)
    rig.simulator.stop()
    wire += rig.read_for(0.2)
    c = rig.simulator.counters
    assert c.frames_written >= 9
    assert c.corrupt_frames == c.frames_written // 3
    assert len(wire) == 32 * (c.frames_written + c.corrupt_frames) + c.garbage_bytes
    assert len(rig.recorded()) == c.frames_written  # corrupt frames are not recorded


def test_frames_nobody_reads_are_dropped_instead_of_blocking(tmp_path):
    with PtyLink(tmp_path / "pms") as link:
        simulator = Pms5003Simulator(link, period=0.0005)
        simulator.start()
        deadline = time.monotonic() + 20
        while simulator.counters.frames_dropped == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        simulator.stop()
    assert simulator.counters.frames_dropped > 0
    assert simulator.counters.frames_written > 10


def test_link_is_a_raw_tty_so_binary_frames_pass_unchanged(tmp_path):
    with PtyLink(tmp_path / "pms") as link:
        port = serial.Serial(str(link.path), 9600, timeout=0.5)
        tricky = bytes(range(256))  # CR, LF, XON/XOFF, ^C, ^D, DEL...
        assert link.write(tricky)
        assert port.read(256) == tricky
        port.write(tricky)
        received = b""
        while len(received) < 256:
            chunk = link.read(0.5)
            assert chunk
            received += chunk
        assert received == tricky
        port.close()


def test_link_symlink_points_at_the_pty_and_is_removed_on_close(tmp_path):
    path = tmp_path / "dev" / "pms"
    link = PtyLink(path)
    assert path.is_symlink()
    assert path.resolve() == link.device.resolve()
    link.close()
    assert not path.exists()
    assert not path.is_symlink()


def test_cli_prints_the_pty_records_frames_and_exits_0_on_sigterm(tmp_path):
    path, record = tmp_path / "pms", tmp_path / "frames.jsonl"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "firmware_sim.cli", "pms5003", "--link", str(path)),
            *("--period", "0.05", "--seed", "5", "--record", str(record)),
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
        assert port.read(64)[:4] == bytes.fromhex("424d001c")
        port.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert not path.is_symlink()
    lines = record.read_text().splitlines()
    assert len(lines) >= 2
    assert set(json.loads(lines[0])) == {
        "ts", "pm1_atm", "pm25_atm", "pm10_atm", "pm1_cf1", "pm25_cf1", "pm10_cf1", "counts"
    }  # fmt: skip
