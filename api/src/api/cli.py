"""Command line entry point of ``lantian-api``: ``serve`` the API, ``migrate`` the SQL store.

``user`` and ``api-key`` manage the API's accounts (:mod:`api.accounts_cli`); the broker's
accounts and files (``broker-account``, ``broker-files``) are :mod:`api.broker_cli`'s.
"""

import argparse
import logging
import sys
from pathlib import Path

import uvicorn

from api import accounts_cli, broker_cli
from api.app import create_app
from api.settings import ApiSettings, UnsafeSettingsError, settings_from
from store.sql import create_engine_for, migrate


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="lantian-api", description=__doc__)
    parser.add_argument("--env-file", type=Path, help="settings file (KEY=value lines)")
    parser.add_argument("--log-level", default="INFO")
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser("serve", help="serve the API (the default)")
    commands.add_parser("migrate", help="bring the SQL store to this code's schema")
    for name in accounts_cli.COMMANDS:
        accounts = commands.add_parser(name, help=f"manage the API's {name}s", add_help=False)
        accounts.add_argument("arguments", nargs=argparse.REMAINDER)
    broker_cli.add_commands(commands)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the log
    settings = settings_from(args.env_file)
    if args.command in broker_cli.COMMANDS:
        return broker_cli.run(args, settings.sql_url)
    if args.command in accounts_cli.COMMANDS:
        return accounts_cli.run(args.command, args.arguments, settings)
    if args.command == "migrate":
        migrate(settings.sql_url)
        return 0
    try:
        serve(settings)
    except UnsafeSettingsError as error:
        sys.stderr.write(f"lantian-api: refusing to start: {error}\n")
        return 2
    return 0


def serve(settings: ApiSettings) -> None:
    """Serve the API until SIGTERM or Ctrl-C."""
    app = create_app(
        settings,
        influx=settings.influx.open,
        engine=lambda: create_engine_for(settings.sql_url),
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    raise SystemExit(main())
