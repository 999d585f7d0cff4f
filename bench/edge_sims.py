"""The devices of the edge polling benchmark, in one process of their own.

    python -m bench.edge_sims --meters 100 --pms 10 --workdir DIR

Starts one Modbus TCP server per simulated SDM630 (each meter its own endpoint, as on a factory
network) and PMS5003 simulators on pseudo-terminals, prints their endpoints as one JSON line,
and runs until SIGTERM. Kept out of the agent's process so only the agent is measured.
"""

import argparse
import contextlib
import json
import signal
import threading
from pathlib import Path

from firmware_sim.devices.modbus_slave import ModbusSlave
from firmware_sim.devices.modbus_tcp import ModbusTcpSimulator
from firmware_sim.devices.pms5003 import Pms5003Simulator
from firmware_sim.eastron import SDM630
from firmware_sim.meters import SimulatedMeter
from firmware_sim.serial_link import PtyLink


def main() -> None:
    """Run the simulators until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--meters", type=int, default=100)
    parser.add_argument("--pms", type=int, default=10)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with contextlib.ExitStack() as stack:
        servers = []
        for n in range(args.meters):
            meter = SimulatedMeter(SDM630, seed=n)
            server = ModbusTcpSimulator([ModbusSlave(1, meter)])
            server.start()
            stack.callback(server.stop)
            servers.append(server)
        links = []
        for n in range(args.pms):
            path = args.workdir / f"pms-{n}"
            link = stack.enter_context(PtyLink(path))
            sensor = Pms5003Simulator(link, period=1.0, seed=n)
            sensor.start()
            stack.callback(sensor.stop)
            links.append(str(path))
        endpoints = {"meters": [s.address[1] for s in servers], "pms": links}
        print(json.dumps(endpoints), flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
