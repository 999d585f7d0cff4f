"""``lantian-api broker-account`` and ``broker-files``: the broker's accounts and files.

- ``broker-account issue gateway ID``, ``... issue enterprise ID``: issue or rotate the
  account of a registered gateway or enterprise.
- ``broker-account issue service ROLE [--password-env VAR]``: a service's (ingest, rules, api,
  monitor), with the password taken from ``VAR`` when given (at least 16 characters).
- ``broker-account revoke USERNAME``: revoke an account.
- ``broker-files --out DIR [--reload-pid FILE] [--tls]``: write ``passwords``, ``acl`` and
  ``mosquitto.conf`` into ``DIR``, then send SIGHUP to the broker whose pid ``FILE`` holds.

An issued password is printed once, on standard output, and kept nowhere; run
``broker-files`` afterwards so the broker learns of it. The logic is :mod:`store.broker`'s.
"""

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Final

from sqlalchemy import Engine

from store.broker import (
    PRODUCTION,
    PRODUCTION_TLS,
    SINGLE_SERVER,
    BrokerAccounts,
    BrokerReloadError,
    Credential,
    WeakPasswordError,
    write_broker_files,
)
from store.sql import SqlStoreError, create_engine_for, require_current_schema

COMMANDS: Final = frozenset({"broker-account", "broker-files"})


class BrokerCommandError(Exception):
    """A broker command that cannot run as asked, with the sentence to show the operator."""


def add_commands(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``broker-account`` and ``broker-files`` to the ``lantian-api`` command line."""
    account = commands.add_parser("broker-account", help="issue or revoke an MQTT account")
    actions = account.add_subparsers(dest="action", required=True)
    issue = actions.add_parser("issue", help="issue or rotate an account; prints the password")
    issue.add_argument("kind", choices=["gateway", "enterprise", "service"])
    issue.add_argument("owner", metavar="ID|ROLE", help="gateway id, enterprise id or role")
    issue.add_argument(
        "--password-env",
        metavar="VAR",
        help="services only: take the password from this environment variable",
    )
    revoke = actions.add_parser("revoke", help="revoke an account")
    revoke.add_argument("username")

    files = commands.add_parser("broker-files", help="write the broker's password, ACL, conf")
    files.add_argument("--out", type=Path, required=True, metavar="DIR")
    files.add_argument(
        "--reload-pid", type=Path, metavar="FILE", help="send SIGHUP to the pid in FILE after"
    )
    files.add_argument(
        "--tls", action="store_true", help="add the TLS listener (certificates in /mosquitto/certs)"
    )
    files.add_argument(
        "--layout",
        choices=["container", "single-server"],
        default="container",
        help="where mosquitto.conf says the files are: the image's paths or Debian's",
    )


def run(args: argparse.Namespace, sql_url: str) -> int:
    """Run a broker command; a refusal is one line on standard error and exit status 1."""
    engine = create_engine_for(sql_url)
    try:
        require_current_schema(engine)
        if args.command == "broker-files":
            _write_files(engine, args)
        else:
            _account(engine, args)
    except (BrokerCommandError, SqlStoreError, WeakPasswordError, BrokerReloadError) as error:
        print(f"lantian-api {args.command}: {error}", file=sys.stderr)  # noqa: T201 - CLI output
        return 1
    finally:
        engine.dispose()
    return 0


def _account(engine: Engine, args: argparse.Namespace) -> None:
    accounts = BrokerAccounts(engine)
    if args.action == "revoke":
        revoked = accounts.revoke(args.username)
        print(f"revoked {revoked.username}; run broker-files to apply")  # noqa: T201
        return
    if args.password_env is not None and args.kind != "service":
        raise BrokerCommandError("--password-env is for service accounts only")
    credential: Credential
    if args.kind == "gateway":
        credential = accounts.issue_gateway(args.owner)
    elif args.kind == "enterprise":
        credential = accounts.issue_enterprise(args.owner)
    else:
        credential = accounts.issue_service(args.owner, password=_password_from(args.password_env))
    print(f"username {credential.username}")  # noqa: T201
    if args.password_env is None:
        print(f"password {credential.password}")  # noqa: T201 - shown once, kept nowhere


def _password_from(variable: str | None) -> str | None:
    if variable is None:
        return None
    password = os.environ.get(variable)
    if password is None:
        raise BrokerCommandError(f"environment variable {variable} is not set")
    return password


def _write_files(engine: Engine, args: argparse.Namespace) -> None:
    conf = SINGLE_SERVER if args.layout == "single-server" else PRODUCTION
    if args.tls:
        conf = replace(conf, tls=PRODUCTION_TLS.tls)
    written = write_broker_files(engine, args.out, args.reload_pid, conf=conf)
    reloaded = f"; sent SIGHUP to {written.reloaded_pid}" if written.reloaded_pid else ""
    print(  # noqa: T201
        f"wrote {written.password_file.name}, {written.acl_file.name} and "
        f"{written.conf_file.name} to {args.out} for {written.accounts} accounts{reloaded}"
    )
