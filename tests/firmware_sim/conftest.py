"""A simulated PMS5003 on a real pty, with a pyserial port already open on the host side."""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import serial

from firmware_sim.devices.pms5003 import Pms5003Simulator
from firmware_sim.pms5003 import Measurement, encode_frame
from firmware_sim.recorder import Recorder
from firmware_sim.serial_link import PtyLink


@dataclass
class SimRig:
    simulator: Pms5003Simulator
    port: serial.Serial
    record: Path

    def recorded(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def recorded_wire(self) -> bytes:
        return b"".join(
            encode_frame(
                Measurement(
                    r["pm1_cf1"],
                    r["pm25_cf1"],
                    r["pm10_cf1"],
                    r["pm1_atm"],
                    r["pm25_atm"],
                    r["pm10_atm"],
                    tuple(r["counts"]),
                )
            )
            for r in self.recorded()
        )

    def read_for(self, seconds: float) -> bytes:
        data = bytearray()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            data += self.port.read(self.port.in_waiting or 1)
        return bytes(data)


@pytest.fixture
def sim_rig(tmp_path):
    rigs: list[tuple[SimRig, PtyLink, Recorder]] = []

    def start(**options) -> SimRig:
        link = PtyLink(tmp_path / f"pms-{len(rigs)}")
        recorder = Recorder(tmp_path / f"pms-{len(rigs)}.jsonl")
        # the host opens the port first, so every frame the simulator writes reaches it
        port = serial.Serial(str(link.path), 9600, timeout=0.05)
        simulator = Pms5003Simulator(link, recorder=recorder, **options)
        rig = SimRig(simulator, port, recorder.path)
        rigs.append((rig, link, recorder))
        simulator.start()
        return rig

    yield start
    for rig, link, recorder in rigs:
        rig.simulator.stop()
        rig.port.close()
        link.close()
        recorder.close()
