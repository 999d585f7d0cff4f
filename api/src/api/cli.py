"""Command line entry point of ``lantian-api``: ``serve`` the API, ``migrate`` the SQL store.

The broker's accounts and files (``broker-account``, ``broker-files``) are
:mod:`api.broker_cli`'s.
"""

import argparse
import logging
from pathlib import Path

import uvicorn

from api import broker_cli
from api.app import create_app
from api.settings import ApiSettings, settings_from
from store.sql import Registry, create_engine_for, migrate


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="lantian-api", description=__doc__)
    parser.add_argument("--env-file", type=Path, help="settings file (KEY=value lines)")
    parser.add_argument("--log-level", default="INFO")
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser("serve", help="serve the API (the default)")
    commands.add_parser("migrate", help="bring the SQL store to this code's schema")
    broker_cli.add_commands(commands)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the log
    settings = settings_from(args.env_file)
    if args.command in broker_cli.COMMANDS:
        return broker_cli.run(args, settings.sql_url)
    if args.command == "migrate":
        migrate(settings.sql_url)
        return 0
    serve(settings)
    return 0


def serve(settings: ApiSettings) -> None:
    """Serve the API until SIGTERM or Ctrl-C."""
    app = create_app(
        settings,
        influx=settings.influx.open,
        registry=lambda: Registry(create_engine_for(settings.sql_url)),
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    raise SystemExit(main())
