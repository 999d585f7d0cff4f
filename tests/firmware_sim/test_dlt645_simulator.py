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

from firmware_sim import dlt645
from firmware_sim.devices.dlt645 import Dlt645Simulator, MeterSpec
from firmware_sim.dlt645 import ITEM_FORMATS, WILDCARD, Code
from firmware_sim.load_profile import Flavour
from firmware_sim.recorder import Recorder
from firmware_sim.serial_link import PtyLink

H = bytes.fromhex
A, B = "123456789012", "000000004521"
ENERGY, POWER, PF = 0x00010000, 0x02030000, 0x02060000
TWO_METERS = (MeterSpec(A), MeterSpec(B))


def request(address: str | bytes, code: int, data: bytes = b"") -> bytes:
    wire = dlt645.address_field(address) if isinstance(address, str) else address
    return dlt645.frame(wire, code, data)


def read(address: str | bytes, di: int) -> bytes:
    return request(address, Code.READ, di.to_bytes(4, "little"))


@dataclass
class Rig:
    simulator: Dlt645Simulator
    port: serial.Serial
    record: Path

    def recorded(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def ask(self, wire: bytes, expect_replies: int = 1, wait: float = 2.0) -> bytes:
        """Send ``wire``; return what came back once ``expect_replies`` were recorded."""
        before = len(self.recorded())
        self.port.write(wire)
        deadline = time.monotonic() + wait
        while len(self.recorded()) < before + expect_replies and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.listen(0.15)

    def listen(self, seconds: float) -> bytes:
        data = bytearray()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            data += self.port.read(self.port.in_waiting or 1)
        return bytes(data)


@pytest.fixture
def rig(tmp_path):
    started: list[tuple[Rig, PtyLink, Recorder]] = []

    def start(meters=TWO_METERS, **options) -> Rig:
        n = len(started)
        link = PtyLink(tmp_path / f"dlt-{n}")
        recorder = Recorder(tmp_path / f"dlt-{n}.jsonl")
        port = serial.Serial(str(link.path), 2400, parity=serial.PARITY_EVEN, timeout=0.02)
        simulator = Dlt645Simulator(link, list(meters), recorder=recorder, **options)
        result = Rig(simulator, port, recorder.path)
        started.append((result, link, recorder))
        simulator.start()
        return result

    yield start
    for started_rig, link, recorder in started:
        started_rig.simulator.stop()
        started_rig.port.close()
        link.close()
        recorder.close()


def test_each_meter_answers_its_own_address_with_the_recorded_reply(rig):
    r = rig(seed=3)
    wire = r.ask(read(A, ENERGY)) + r.ask(read(B, POWER))
    first, second = r.recorded()
    assert wire == H(first["wire"]) + H(second["wire"])
    assert (first["address"], first["code"], first["di"]) == (A, 0x91, "00010000")
    assert (second["address"], second["di"]) == (B, "02030000")
    reply = H(first["wire"])
    assert reply[:4] == b"\xfe" * 4  # the preamble real meters send
    assert reply[4:11] == b"\x68" + dlt645.address_field(A)
    value = bytes(b - 0x33 for b in reply[18:22])
    assert dlt645.from_bcd(value, ITEM_FORMATS[ENERGY]) == first["value"]
    assert 1000 <= first["value"] <= 20000


def test_requests_for_other_addresses_get_silence(rig):
    r = rig()
    assert r.ask(read("999999999999", ENERGY), wait=0.3) == b""
    assert r.simulator.counters.not_for_us == 1
    assert r.simulator.counters.replies_written == 0


def test_the_wildcard_and_read_address_reach_every_meter(rig):
    r = rig(meters=[MeterSpec(A)], preamble=False)
    assert r.ask(request(WILDCARD, Code.READ_ADDRESS)) == H(
        "68 12 90 78 56 34 12 68 93 06 45 C3 AB 89 67 45 07 16"
    )
    wire = r.ask(read(WILDCARD, ENERGY))
    assert wire[:10] == H("68 12 90 78 56 34 12 68 91 08")
    # read address needs the wildcard: a meter does not answer it at its own address
    assert r.ask(request(A, Code.READ_ADDRESS), wait=0.3) == b""


def test_unknown_and_missing_identifiers_get_an_error_reply(rig):
    r = rig(meters=[MeterSpec(A, without=frozenset({PF}))], preamble=False)
    no_data = H("68 12 90 78 56 34 12 68 D1 01 35 8D 16")
    assert r.ask(read(A, 0x04000401)) == no_data  # an identifier this meter does not know
    assert r.ask(read(A, PF)) == no_data  # one it could know but does not have
    assert r.simulator.counters.error_replies == 2
    assert [rec["error"] for rec in r.recorded()] == [2, 2]


def test_values_follow_the_load_and_the_counter_only_grows_until_reset(rig):
    r = rig(meters=[MeterSpec(A, rated_kw=500, ct_ratio=20, flavour=Flavour.CONTINUOUS)])
    for _ in range(3):
        r.ask(read(A, ENERGY))
        r.ask(read(A, POWER))
    values = [rec["value"] for rec in r.recorded()]
    energies, powers = values[0::2], values[1::2]
    assert energies == sorted(energies)
    # a continuous plant draws about 92 % of 500 kW; the meter sees 1/20 of it
    assert all(20 < p < 25 for p in powers)
    r.simulator.reset_counter(A)
    r.ask(read(A, ENERGY))
    assert r.recorded()[-1]["value"] < 0.01
    assert r.simulator.counters.counter_resets == 1


def test_a_silent_meter_ignores_everything_until_it_answers_again(rig):
    r = rig()
    r.simulator.set_silent(A)
    assert r.ask(read(A, ENERGY), wait=0.3) == b""
    assert r.ask(read(B, ENERGY))  # the other meter is fine
    r.simulator.set_silent(A, silent=False)
    assert r.ask(read(A, ENERGY))
    assert r.simulator.counters.silenced == 1
    with pytest.raises(KeyError):
        r.simulator.set_silent("111111111111")


def test_faults_garbage_before_and_corruption_instead_of_replies(rig):
    r = rig(meters=[MeterSpec(A)], garbage_every=2, corrupt_every=3)
    wire = b"".join(r.ask(read(A, ENERGY), wait=0.3) for _ in range(6))
    c = r.simulator.counters
    assert (c.replies_written, c.corrupt_replies) == (4, 2)
    assert c.garbage_bytes > 0
    good = b"".join(H(rec["wire"]) for rec in r.recorded())
    assert len(wire) == len(good) + 2 * len(H(r.recorded()[0]["wire"])) + c.garbage_bytes
    assert len(r.recorded()) == 4  # corrupt replies are not recorded


def test_the_counters_reset_on_schedule(rig):
    r = rig(meters=[MeterSpec(A)], reset_after_s=0.2)
    r.ask(read(A, ENERGY))
    assert r.recorded()[0]["value"] >= 1000
    time.sleep(0.4)
    r.ask(read(A, ENERGY))
    assert r.recorded()[1]["value"] < 1
    assert r.simulator.counters.counter_resets == 1


def test_options_are_checked():
    with PtyLink() as link:
        with pytest.raises(ValueError, match="its own address"):
            Dlt645Simulator(link, [MeterSpec(A), MeterSpec(A)])
        with pytest.raises(ValueError, match="at least 1"):
            Dlt645Simulator(link, [MeterSpec(A)], corrupt_every=0)


def test_cli_runs_meters_records_replies_and_exits_0_on_sigterm(tmp_path):
    path, record = tmp_path / "meters", tmp_path / "replies.jsonl"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "firmware_sim.cli", "dlt645", "--link", str(path)),
            *("--meter", f"{A}:400:20", "--meter", B, "--without", "02060000"),
            *("--seed", "5", "--record", str(record), "--silent", B),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        device = process.stdout.readline().strip()
        assert os.path.realpath(path) == os.path.realpath(device)
        port = serial.Serial(str(path), 2400, parity=serial.PARITY_EVEN, timeout=1.0)
        port.write(read(A, PF) + read(B, ENERGY))
        assert port.read(17) == H("FE FE FE FE 68 12 90 78 56 34 12 68 D1 01 35 8D 16")
        port.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert not path.is_symlink()
    (line,) = record.read_text().splitlines()  # the silent meter B recorded nothing
    assert json.loads(line)["error"] == 2
