"""Command line entry point of ``lantian-api``: ``serve`` the API, or ``migrate`` the SQL store.

``user`` and ``api-key`` manage the API's accounts (:mod:`api.accounts_cli`).
"""

import argparse
import logging
import sys
from pathlib import Path

import uvicorn

from api import accounts_cli
from api.app import create_app
from api.settings import ApiSettings, UnsafeSettingsError, settings_from
from store.sql import create_engine_for, migrate


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="lantian-api", description=__doc__)
    parser.add_argument("--env-file", type=Path, help="settings file (KEY=value lines)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "command", choices=["serve", "migrate", *accounts_cli.COMMANDS], nargs="?", default="serve"
    )
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="of user and api-key")
    args = parser.parse_args(argv)
    if args.arguments and args.command not in accounts_cli.COMMANDS:
        parser.error(f"{args.command} takes no further arguments")
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the log
    settings = settings_from(args.env_file)
    if args.command == "migrate":
        migrate(settings.sql_url)
        return 0
    if args.command in accounts_cli.COMMANDS:
        return accounts_cli.run(args.command, args.arguments, settings)
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
