"""The ``dlt645`` sub-command of ``lantian-firmware-sim``: DL/T 645-2007 meters on one pty.

    lantian-firmware-sim dlt645 --link PATH --meter 123456789012[:RATED_KW[:CT_RATIO]] ...
                                [--seed N] [--record FILE.jsonl] [--flavour two_shifts]
                                [--no-preamble] [--without DI ...]
                                [--garbage-every N] [--corrupt-every N]
                                [--silent ADDRESS ...] [--reset-after S]

``--without 02060000`` makes every meter answer that data identifier with an error reply (a
meter without the item); ``--silent`` meters never answer; ``--reset-after S`` sets every energy
counter to 0 S seconds after start. Prints the pty device path as the only line on standard
output.
"""

import argparse
import contextlib
import dataclasses
import logging
import sys
import threading
from pathlib import Path

from firmware_sim.devices.dlt645 import Dlt645Simulator, MeterSpec
from firmware_sim.dlt645 import address_field
from firmware_sim.load_profile import Flavour
from firmware_sim.recorder import Recorder
from firmware_sim.serial_link import PtyLink

COMMAND = "dlt645"
_log = logging.getLogger("firmware_sim")


def _address(text: str) -> str:
    try:
        address_field(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _meter(text: str) -> MeterSpec:
    address, *numbers = text.split(":")
    defaults = MeterSpec(_address(address))
    try:
        values = [float(n) for n in numbers]
    except ValueError:
        values = [-1.0]
    if len(values) > 2 or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError("expected ADDRESS[:RATED_KW[:CT_RATIO]], both positive")
    rated_kw, ct_ratio = values + [defaults.rated_kw, defaults.ct_ratio][len(values) :]
    return dataclasses.replace(defaults, rated_kw=rated_kw, ct_ratio=ct_ratio)


def _di(text: str) -> int:
    try:
        return int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError("a data identifier in hex, e.g. 02060000") from None


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_parser(devices: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``dlt645`` sub-command to the command line."""
    cmd = devices.add_parser(COMMAND, help="DL/T 645-2007 electricity meters on one RS-485 line")
    cmd.add_argument("--link", type=Path, required=True, help="symlink to create to the pty")
    cmd.add_argument(
        "--meter",
        type=_meter,
        action="append",
        required=True,
        metavar="ADDRESS[:RATED_KW[:CT_RATIO]]",
        help="a meter: 12-digit address, rated load (default 30 kW), CT ratio; repeatable",
    )
    cmd.add_argument("--seed", type=int, default=0, help="seed of the load profiles")
    cmd.add_argument("--record", type=Path, help="append each reply sent to this JSON Lines file")
    cmd.add_argument("--flavour", choices=[f.value for f in Flavour], default=Flavour.TWO_SHIFTS)
    cmd.add_argument("--no-preamble", action="store_true", help="replies without FE FE FE FE")
    cmd.add_argument("--without", type=_di, action="append", default=[], metavar="DI")
    cmd.add_argument("--garbage-every", type=_at_least_one, metavar="N")
    cmd.add_argument("--corrupt-every", type=_at_least_one, metavar="N")
    cmd.add_argument("--silent", type=_address, action="append", default=[], metavar="ADDRESS")
    cmd.add_argument("--reset-after", type=float, metavar="S")


def run(args: argparse.Namespace, stop: threading.Event) -> int:
    """Run the meters until ``stop`` is set; returns the exit status."""
    meters = [
        dataclasses.replace(m, flavour=Flavour(args.flavour), without=frozenset(args.without))
        for m in args.meter
    ]
    with contextlib.ExitStack() as stack:
        link = stack.enter_context(PtyLink(args.link))
        recorder = stack.enter_context(Recorder(args.record)) if args.record else None
        simulator = Dlt645Simulator(
            link,
            meters,
            seed=args.seed,
            recorder=recorder,
            preamble=not args.no_preamble,
            garbage_every=args.garbage_every,
            corrupt_every=args.corrupt_every,
            reset_after_s=args.reset_after,
        )
        for address in args.silent:
            if address not in simulator.addresses:
                raise SystemExit(f"--silent {address}: not one of the --meter addresses")
            simulator.set_silent(address)
        simulator.start()
        stack.callback(simulator.stop)
        sys.stdout.write(f"{link.device}\n")
        sys.stdout.flush()
        _log.info("dlt645 meters %s on %s (link %s)", simulator.addresses, link.device, link.link)
        while not stop.wait(1.0):
            pass
        _log.info("stopping; %s", simulator.counters)
    return 0
