"""``lantian-edge``: check a gateway configuration, or run the agent with it.

    lantian-edge check site.yaml     prints OK, or every problem as file:line: field: message
    lantian-edge run site.yaml       runs until SIGTERM or SIGINT; logs to standard error
    lantian-edge status site.yaml    summarises the running agent's last health report

Exit status: 0 on success or clean stop, 1 for an invalid configuration or unusable state,
2 for bad command-line usage. ``status``: 0 healthy; 1 a device not ``ok``, the agent offline
or its report stale (older than three health intervals); 2 no health report (never ran).
"""

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from edge import __version__
from edge.agent import Agent
from edge.config import ConfigError, GatewayConfig, load_config
from edge.devices.base import wall_clock_ms
from edge.health import HEALTH_FILE, assess, read_health
from edge.sequence import StateError
from telemetry import GatewayStatus, PayloadError

_log = logging.getLogger("edge")


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(prog="lantian-edge", description="Lantian gateway agent.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a configuration file")
    check.add_argument("config", type=Path)
    run = commands.add_parser("run", help="run the agent")
    run.add_argument("config", type=Path)
    status = commands.add_parser("status", help="summarise the agent's last health report")
    status.add_argument("config", type=Path)
    run.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    run.add_argument(
        "--stats-interval", type=float, default=60.0, help="seconds between counter log lines"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)  # noqa: T201 - the command's own output
        return 1
    if args.command == "check":
        print(f"OK {args.config}: gateway {config.gateway}, {len(config.devices)} device(s)")  # noqa: T201
        return 0
    if args.command == "status":
        return _status(config)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return _run(config, args.stats_interval)


def _status(config: GatewayConfig) -> int:
    try:
        report = read_health(config.state_dir)
    except FileNotFoundError:
        print(f"{config.gateway}: no health report in {config.state_dir / HEALTH_FILE}")  # noqa: T201
        return 2
    except PayloadError as exc:
        print(f"{config.gateway}: unreadable health report: {exc}")  # noqa: T201
        return 1
    verdict = assess(report, now_ms=wall_clock_ms(), health_interval_s=config.health_interval)
    for line in _summary(report, verdict.age_s, stale=verdict.stale):
        print(line)  # noqa: T201
    return 0 if verdict.healthy else 1


def _summary(report: GatewayStatus, age_s: float | None, *, stale: bool) -> list[str]:
    age = "unknown (clock unset)" if age_s is None else f"{age_s:.0f} s ago"
    lines = [
        f"gateway {report.gateway}: {report.state.value}"
        + (f", agent {report.agent_version}" if report.agent_version else ""),
        f"last health report: {age}" + (" (STALE: is the agent running?)" if stale else ""),
    ]
    if report.clock is not None:
        lines.append(f"clock: {report.clock.value}")
    if report.spool is not None:
        oldest = report.spool.oldest_unacked_s
        lines.append(
            f"spool: {report.spool.batches} batch(es), {report.spool.readings} reading(s),"
            f" oldest unacknowledged {'-' if oldest is None else f'{oldest:.0f} s'}"
        )
    for device_id, device in (report.devices or {}).items():
        detail = f" ({device.last_error})" if device.state != "ok" and device.last_error else ""
        lines.append(f"device {device_id}: {device.state}{detail}")
    return lines


def _run(config: GatewayConfig, stats_interval: float) -> int:
    agent = Agent(config, stats_interval=stats_interval)

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        _log.info("received %s, stopping", signal.Signals(signum).name)
        agent.stop()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        agent.run()
    except StateError as exc:
        _log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
