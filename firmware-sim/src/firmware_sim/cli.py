"""``lantian-firmware-sim``: run a simulated device on a pseudo-terminal until told to stop.

    lantian-firmware-sim pms5003 --link PATH [--period 1.0] [--seed N] [--record FILE.jsonl]
                                 [--mode active|passive] [--garbage-every N]
    lantian-firmware-sim sds011 --link PATH [--period 1.0] [--seed N] [--record FILE.jsonl]
                                [--mode active|query] [--garbage-every N] [--device-id A160]
    lantian-firmware-sim modbus-rtu|modbus-tcp ...   (see firmware_sim.modbus_cli)
    lantian-firmware-sim dlt645 --link PATH --meter ADDRESS ...   (see firmware_sim.dlt645_cli)
    lantian-firmware-sim scenario FILE --workdir DIR ...   (see firmware_sim.scenario_cli)

Prints the pty device path on standard output (one line, flushed; ``scenario`` prints its
endpoints as one JSON line), logs to standard error, and exits 0 on SIGTERM or SIGINT after
closing the pty and removing the symlink.
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

from firmware_sim import dlt645_cli, modbus_cli, scenario_cli
from firmware_sim.devices import sds011
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
    _add_sds011(devices)
    modbus_cli.add_parsers(devices)
    dlt645_cli.add_parser(devices)
    scenario_cli.add_parser(devices)
    return parser


def _device_id(text: str) -> int:
    value = int(text, 16)
    if not 0 <= value < 0xFFFF:  # FFFF addresses every sensor: no sensor has it
        raise argparse.ArgumentTypeError("must be 0000..FFFE")
    return value


def _add_sds011(devices: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    sds = devices.add_parser("sds011", help="Nova Fitness SDS011 particulate sensor")
    sds.add_argument("--link", type=Path, required=True, help="symlink to create to the pty")
    sds.add_argument("--period", type=_positive_float, default=1.0, help="active-mode period, s")
    sds.add_argument("--seed", type=int, default=0, help="seed of the signal model")
    sds.add_argument("--record", type=Path, help="append each frame sent to this JSON Lines file")
    sds.add_argument(
        "--mode", choices=[m.value for m in sds011.Mode], default=sds011.Mode.ACTIVE.value
    )
    sds.add_argument(
        "--garbage-every",
        type=_positive_int,
        metavar="N",
        help="every N data frames, also send random bytes and a frame with a bad checksum",
    )
    sds.add_argument(
        "--device-id",
        type=_device_id,
        default=sds011.DEFAULT_DEVICE_ID,
        help="the sensor's id in hex (default A160)",
    )


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
    if args.device in modbus_cli.COMMANDS:
        return modbus_cli.run(args, stop)
    if args.device == dlt645_cli.COMMAND:
        return dlt645_cli.run(args, stop)
    if args.device == scenario_cli.COMMAND:
        return scenario_cli.run(args, stop)

    with contextlib.ExitStack() as stack:
        link = stack.enter_context(PtyLink(args.link))
        recorder = stack.enter_context(Recorder(args.record)) if args.record else None
        simulator: Pms5003Simulator | sds011.Sds011Simulator
        match args.device:
            case "sds011":
                simulator = sds011.Sds011Simulator(
                    link,
                    period=args.period,
                    seed=args.seed,
                    mode=sds011.Mode(args.mode),
                    device_id=args.device_id,
                    recorder=recorder,
                    garbage_every=args.garbage_every,
                )
            case _:
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
            "%s on %s (link %s), %s mode, period %s s",
            args.device,
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
