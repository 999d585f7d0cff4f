"""The ``scenario`` sub-command of ``lantian-firmware-sim``: a whole site's devices in one process.

    lantian-firmware-sim scenario FILE --workdir DIR [--record-dir DIR]

Validates the scenario (every problem on standard error, exit 2), starts its fleet (pty links
under ``--workdir``, TCP servers on free ports of 127.0.0.1, one JSON Lines record per device in
``--record-dir``), prints the fleet's endpoints as ONE JSON line on standard output, then runs
the timeline until SIGTERM or SIGINT, logging every fault as it begins and ends.
"""

import argparse
import json
import logging
import sys
import threading
from pathlib import Path

from firmware_sim.fleet import Fleet
from firmware_sim.scenario import ScenarioError, load_scenario

COMMAND = "scenario"
_log = logging.getLogger("firmware_sim")


def add_parser(devices: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``scenario`` sub-command to the command line."""
    cmd = devices.add_parser(COMMAND, help="every device of a scenario file, with its faults")
    cmd.add_argument("file", type=Path, help="the scenario (YAML)")
    cmd.add_argument("--workdir", type=Path, required=True, help="where the pty links go")
    cmd.add_argument("--record-dir", type=Path, help="one JSON Lines record per device here")


def run(args: argparse.Namespace, stop: threading.Event) -> int:
    """Run the scenario until ``stop`` is set; returns the exit status."""
    try:
        scenario = load_scenario(args.file)
    except ScenarioError as error:
        for line in str(error).splitlines():
            _log.error("%s", line)
        return 2
    record_dir = args.record_dir.resolve() if args.record_dir else None
    with Fleet(scenario, args.workdir.resolve(), record_dir=record_dir) as fleet:
        sys.stdout.write(json.dumps(fleet.endpoints(), separators=(",", ":")) + "\n")
        sys.stdout.flush()
        while not stop.wait(1.0):
            pass
        _log.info("stopping; %d timeline steps applied", len(fleet.applied()))
    return 0
