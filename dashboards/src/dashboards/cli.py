r"""Command line of ``lantian-dashboards``: write the provisioning files, or push to a Grafana.

::

    lantian-dashboards write deploy/grafana
    lantian-dashboards push --url http://127.0.0.1:3000 --token "$GRAFANA_TOKEN" \
        --influx-url http://influxdb:8086 --influx-database lantian

``push`` authenticates with a service account token (``--token``) or a user and password
(``--user``, ``--password``); the InfluxDB connection is the one Grafana's server uses.
"""

import argparse
import logging
import sys
from pathlib import Path

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaException

from dashboards.provisioning import write_files
from dashboards.push import InfluxSource, push


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lantian-dashboards", description="Lantian's Grafana dashboards as code."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write the provisioning files under DIR")
    write.add_argument("directory", type=Path, metavar="DIR")
    send = commands.add_parser("push", help="create or update everything on a running Grafana")
    send.add_argument("--url", required=True, help="Grafana's base URL")
    auth = send.add_mutually_exclusive_group(required=True)
    auth.add_argument("--token", help="a service account token")
    auth.add_argument("--user", help="a Grafana user (with --password)")
    send.add_argument("--password", help="the user's password")
    send.add_argument("--influx-url", default="http://127.0.0.1:8086")
    send.add_argument("--influx-database", default="lantian")
    send.add_argument("--influx-user")
    send.add_argument("--influx-password")
    send.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; 0 on success, 1 when Grafana refused, 2 on bad arguments."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "write":
        for path in write_files(args.directory):
            sys.stdout.write(f"wrote {path}\n")
        return 0
    if args.user is not None and args.password is None:
        parser.error("--user needs --password")
    credential: str | tuple[str, str] = (
        args.token if args.token is not None else (args.user, args.password)
    )
    api = GrafanaApi.from_url(args.url, credential=credential, timeout=args.timeout)
    source = InfluxSource(
        url=args.influx_url,
        database=args.influx_database,
        user=args.influx_user,
        password=args.influx_password,
    )
    try:
        report = push(api, source)
    except GrafanaException as exc:
        sys.stderr.write(f"lantian-dashboards: Grafana at {args.url} refused: {exc}\n")
        return 1
    sys.stdout.write(f"data source {report.datasource}\n")
    for uid, what in report.folders.items():
        sys.stdout.write(f"folder {uid}: {what}\n")
    for uid, what in report.dashboards.items():
        sys.stdout.write(f"dashboard {uid}: {what}\n")
    return 0
