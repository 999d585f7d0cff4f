"""The ``modbus-rtu`` and ``modbus-tcp`` sub-commands of ``lantian-firmware-sim``.

    lantian-firmware-sim modbus-rtu --link PATH --slave 1:sdm630 [--slave 2:sdm120:5] ...
    lantian-firmware-sim modbus-tcp [--host 127.0.0.1] [--port N] --unit 1:sdm630 ...

A meter is ``ID:MODEL[:RATED_KW]`` (models: sdm120, sdm630; the rated load defaults to 80 % of
the model's maximum current at 230 V). Common options: ``--seed N``, ``--record FILE.jsonl``,
``--refresh S`` (how often the meters update their registers), ``--flavour`` (the factory's
working pattern). The RTU command prints the pty device, the TCP command the port it listens on,
as the only line on standard output.

Faults; ``[ID:]N`` without an id applies to every meter, times are seconds after start:

    --busy-every [ID:]N            exception 06 SLAVE_DEVICE_BUSY on every N-th request
    --silent-slave ID[:FROM[:FOR]] no answer at all (from FROM, default 0, for FOR, default ever)
    --stuck-slave ID[:FROM[:FOR]]  the registers stop changing
    --reset-counter ID:AT          the energy counters return to 0 at AT
    --bad-crc-every [ID:]N         (RTU) every N-th reply with a wrong CRC
    --garbage-every [ID:]N         (RTU) random bytes before every N-th reply
    --disconnect-every [ID:]N      (TCP) close the connection instead of every N-th reply
"""

import argparse
import contextlib
import dataclasses
import logging
import math
import sys
import threading
from collections import defaultdict
from pathlib import Path

from firmware_sim.devices.modbus_rtu import ModbusRtuSimulator
from firmware_sim.devices.modbus_slave import FaultPlan, ModbusSlave, Window
from firmware_sim.devices.modbus_tcp import ModbusTcpSimulator
from firmware_sim.eastron import MODELS
from firmware_sim.load_profile import Flavour
from firmware_sim.meters import SimulatedMeter
from firmware_sim.recorder import Recorder
from firmware_sim.serial_link import PtyLink

COMMANDS = ("modbus-rtu", "modbus-tcp")
_log = logging.getLogger("firmware_sim")
_ALL = 0  # the slave id of a fault that applies to every meter (0 is no slave's id)
_SEED_STRIDE = 256  # meter seeds: seed * 256 + slave id, distinct for every slave of a run


@dataclasses.dataclass(frozen=True, slots=True)
class MeterSpec:
    """One ``ID:MODEL[:RATED_KW]`` argument."""

    unit: int
    model: str
    rated_kw: float | None


def _meter(text: str) -> MeterSpec:
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[1] not in MODELS:
        raise argparse.ArgumentTypeError(f"expected ID:MODEL[:RATED_KW], MODEL in {list(MODELS)}")
    rated = float(parts[2]) if len(parts) == 3 else None
    if rated is not None and not rated > 0:
        raise argparse.ArgumentTypeError("the rated load must be positive")
    return MeterSpec(_unit(parts[0]), parts[1], rated)


def _unit(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 247:  # the unicast addresses of Modbus over serial line
        raise argparse.ArgumentTypeError(f"a slave id is 1..247, not {value}")
    return value


def _every(text: str) -> tuple[int, int]:
    unit, _, n = text.rpartition(":")
    every = int(n)
    if every < 1:
        raise argparse.ArgumentTypeError("N must be at least 1")
    return (_unit(unit) if unit else _ALL), every


def _window(text: str) -> tuple[int, Window]:
    unit, *times = text.split(":")
    if len(times) > 2:
        raise argparse.ArgumentTypeError("expected ID[:FROM[:SECONDS]]")
    start = float(times[0]) if times else 0.0
    length = float(times[1]) if len(times) == 2 else math.inf
    return _unit(unit), Window(start, start + length)


def _reset(text: str) -> tuple[int, float]:
    unit, _, at = text.partition(":")
    if not at:
        raise argparse.ArgumentTypeError("expected ID:SECONDS")
    return _unit(unit), float(at)


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def add_parsers(devices: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``modbus-rtu`` and ``modbus-tcp`` to the sub-commands."""
    rtu = devices.add_parser("modbus-rtu", help="Eastron meters on one Modbus RTU bus (a pty)")
    rtu.add_argument("--link", type=Path, required=True, help="symlink to create to the pty")
    rtu.add_argument(
        "--slave",
        dest="meters",
        type=_meter,
        action="append",
        required=True,
        metavar="ID:MODEL[:KW]",
        help="a meter on the bus (repeat for each)",
    )
    tcp = devices.add_parser("modbus-tcp", help="Eastron meters behind a Modbus TCP server")
    tcp.add_argument("--host", default="127.0.0.1", help="address to listen on")
    tcp.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    tcp.add_argument(
        "--unit",
        dest="meters",
        type=_meter,
        action="append",
        required=True,
        metavar="ID:MODEL[:KW]",
        help="a meter behind the server (repeat for each)",
    )
    faults = (
        ("--busy-every", _every, "[ID:]N", "exception 06 on every N-th request"),
        ("--silent-slave", _window, "ID[:FROM[:FOR]]", "no answer from FROM s for FOR s"),
        ("--stuck-slave", _window, "ID[:FROM[:FOR]]", "registers stop changing"),
        ("--reset-counter", _reset, "ID:AT", "energy counters return to 0 at AT s"),
    )
    for parser in (rtu, tcp):
        parser.add_argument("--seed", type=int, default=0, help="seed of the meters' models")
        parser.add_argument("--record", type=Path, help="append each reply to this JSON Lines file")
        parser.add_argument(
            "--refresh",
            type=_positive_float,
            default=1.0,
            metavar="S",
            help="seconds between two updates of a meter's registers (default 1)",
        )
        parser.add_argument("--flavour", choices=[f.value for f in Flavour], default="two_shifts")
        for flag, kind, metavar, text in faults:
            parser.add_argument(
                flag, type=kind, action="append", default=[], metavar=metavar, help=text
            )
    rtu_faults = (
        ("--bad-crc-every", "every N-th reply with a wrong CRC"),
        ("--garbage-every", "random bytes before every N-th reply"),
    )
    for flag, text in rtu_faults:
        rtu.add_argument(
            flag, type=_every, action="append", default=[], metavar="[ID:]N", help=text
        )
    tcp.add_argument(
        "--disconnect-every",
        type=_every,
        action="append",
        default=[],
        metavar="[ID:]N",
        help="close the connection instead of answering every N-th request",
    )


def fault_plans(args: argparse.Namespace) -> dict[int, FaultPlan]:
    """The fault plan of every meter named on the command line.

    Raises:
        ValueError: a fault names a slave id that no meter has.
    """
    units = [m.unit for m in args.meters]
    every: dict[int, dict[str, int]] = defaultdict(dict)
    for option in ("busy_every", "bad_crc_every", "garbage_every", "disconnect_every"):
        for unit, n in getattr(args, option, []):
            for target in units if unit == _ALL else [_known(unit, units)]:
                every[target][option] = n
    silent: dict[int, list[Window]] = defaultdict(list)
    stuck: dict[int, list[Window]] = defaultdict(list)
    resets: dict[int, list[float]] = defaultdict(list)
    for unit, window in args.silent_slave:
        silent[_known(unit, units)].append(window)
    for unit, window in args.stuck_slave:
        stuck[_known(unit, units)].append(window)
    for unit, at in args.reset_counter:
        resets[_known(unit, units)].append(at)
    return {
        unit: FaultPlan(
            busy_every=every[unit].get("busy_every"),
            bad_crc_every=every[unit].get("bad_crc_every"),
            garbage_every=every[unit].get("garbage_every"),
            disconnect_every=every[unit].get("disconnect_every"),
            silent=tuple(silent[unit]),
            stuck=tuple(stuck[unit]),
            resets=tuple(resets[unit]),
        )
        for unit in units
    }


def _known(unit: int, units: list[int]) -> int:
    if unit not in units:
        raise ValueError(f"a fault names slave {unit}, but the meters are {units}")
    return unit


def run(args: argparse.Namespace, stop: threading.Event) -> int:
    """Run the simulator the arguments describe until ``stop`` is set; the exit status."""
    units = [m.unit for m in args.meters]
    if len(set(units)) != len(units):
        _log.error("two meters share a slave id: %s", units)
        return 2
    try:
        plans = fault_plans(args)
    except ValueError as error:
        _log.error("%s", error)
        return 2
    slaves = [
        ModbusSlave(
            m.unit,
            SimulatedMeter(
                MODELS[m.model],
                seed=args.seed * _SEED_STRIDE + m.unit,
                rated=m.rated_kw,
                flavour=Flavour(args.flavour),
                refresh_s=args.refresh,
            ),
            faults=plans[m.unit],
        )
        for m in args.meters
    ]
    with contextlib.ExitStack() as stack:
        recorder = stack.enter_context(Recorder(args.record)) if args.record else None
        simulator: ModbusRtuSimulator | ModbusTcpSimulator
        if args.device == "modbus-rtu":
            link = stack.enter_context(PtyLink(args.link))
            simulator = ModbusRtuSimulator(link, slaves, recorder=recorder)
            simulator.start()
            announce = str(link.device)
        else:
            simulator = ModbusTcpSimulator(
                slaves, host=args.host, port=args.port, recorder=recorder
            )
            simulator.start()
            announce = str(simulator.address[1])
        stack.callback(simulator.stop)
        sys.stdout.write(f"{announce}\n")
        sys.stdout.flush()
        _log.info("%s on %s: %s", args.device, announce, ", ".join(map(str, args.meters)))
        while not stop.wait(1.0):
            pass
        _log.info("stopping; %s", simulator.counters)
        for slave in slaves:
            _log.info("slave %d: %s", slave.unit, slave.counters)
    return 0
