"""``lantian-edge``: check a gateway configuration, or run the agent with it.

    lantian-edge check site.yaml     prints OK, or every problem as file:line: field: message
    lantian-edge run site.yaml       runs until SIGTERM or SIGINT; logs to standard error

Exit status: 0 on success or clean stop, 1 for an invalid configuration or unusable state,
2 for bad command-line usage.
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
from edge.sequence import StateError

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
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return _run(config, args.stats_interval)


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
