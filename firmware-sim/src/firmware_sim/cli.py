"""``lantian-firmware-sim``: run a simulated device on a pseudo-terminal until told to stop.

    lantian-firmware-sim pms5003 --link PATH [--period 1.0] [--seed N] [--record FILE.jsonl]
                                 [--mode active|passive] [--garbage-every N]

Prints the pty device path on standard output (one line, flushed), logs to standard error, and
exits 0 on SIGTERM or SIGINT after closing the pty and removing the symlink.
"""

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from firmware_sim.devices.pms5003 import Mode, Pms5003Simulator
from firmware_sim.recorder import Recorder
from firmware_sim.serial_link import PtyLink

_log = logging.getLogger("firmware_sim")


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar, one sub-command per simulated device type."""
    parser = argparse.ArgumentParser(
        prog="lantian-firmware-sim", description="Simulated devices on pseudo-terminals."
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    devices = parser.add_subparsers(dest="device", required=True)
    pms = devices.add_parser("pms5003", help="Plantower PMS5003 particulate sensor")
    pms.add_argument("--link", type=Path, required=True, help="symlink to create to the pty")
    pms.add_argument("--period", type=_positive_float, default=1.0, help="active-mode period, s")
    pms.add_argument("--seed", type=int, default=0, help="seed of the signal model")
    pms.add_argument("--record", type=Path, help="append each frame sent to this JSON Lines file")
    pms.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.ACTIVE.value)
    pms.add_argument(
        "--garbage-every",
        type=_positive_int,
        metavar="N",
        help="every N frames, also send random bytes and a frame with a bad checksum",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        _log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    with contextlib.ExitStack() as stack:
        link = stack.enter_context(PtyLink(args.link))
        recorder = stack.enter_context(Recorder(args.record)) if args.record else None
        simulator = Pms5003Simulator(
            link,
            period=args.period,
            seed=args.seed,
            mode=Mode(args.mode),
            recorder=recorder,
            garbage_every=args.garbage_every,
        )
        simulator.start()
        stack.callback(simulator.stop)
        sys.stdout.write(f"{link.device}\n")
        sys.stdout.flush()
        _log.info(
            "pms5003 on %s (link %s), %s mode, period %s s",
            link.device,
            link.link,
            args.mode,
            args.period,
        )
        while not stop.wait(1.0):
            pass
        _log.info("stopping; %s", simulator.counters)
    return 0


if __name__ == "__main__":
    sys.exit(main())
