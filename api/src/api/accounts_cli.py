"""``lantian-api user ...`` and ``lantian-api api-key ...``: accounts of the API.

    lantian-api user add USERNAME --role ROLE [--enterprise ID] [--display-name NAME]
                         [--password-env VAR]
    lantian-api api-key create NAME --role ROLE [--enterprise ID]
    lantian-api api-key revoke ID

The password comes from a prompt (asked twice) or from the environment variable
``--password-env`` names, never from the command line, where ``ps`` would show it. A new
API key is printed once and cannot be shown again.
"""

import argparse
import getpass
import os
import sys
from typing import Final, TextIO

from argon2 import PasswordHasher

from api.security.passwords import hash_password, hasher_of
from api.settings import ApiSettings
from store.sql import (
    AccountError,
    AccountStore,
    Role,
    SqlStoreError,
    create_engine_for,
    require_current_schema,
)

COMMANDS: Final = ("user", "api-key")
MIN_PASSWORD_LENGTH: Final = 8  # NIST SP 800-63B, 5.1.1.1: at least 8 characters


class _UsageError(Exception):
    """A command line that cannot be run; the message says why."""


def run(
    command: str, arguments: list[str], settings: ApiSettings, *, out: TextIO | None = None
) -> int:
    """Run ``lantian-api COMMAND ARGUMENTS...``: 0 done, 1 refused by the store, 2 bad usage."""
    out = out or sys.stdout  # looked up now, so that a redirected stdout is used
    parser = _parser(command)
    try:
        args = parser.parse_args(arguments)
    except SystemExit as leaving:  # argparse has printed the usage and the problem
        return int(leaving.code or 0)
    engine = create_engine_for(settings.sql_url)
    try:
        require_current_schema(engine)
        accounts = AccountStore(engine)
        if command == "user":
            _add_user(accounts, args, out, hasher_of(settings))
        elif args.action == "create":
            _create_key(accounts, args, out)
        else:
            key = accounts.revoke_api_key(args.id)
            out.write(f"revoked API key {key.id} ({key.name}) at {key.revoked_at}\n")
    except _UsageError as error:
        sys.stderr.write(f"lantian-api {command}: {error}\n")
        return 2
    except (AccountError, SqlStoreError) as error:
        sys.stderr.write(f"lantian-api {command}: {error}\n")
        return 1
    else:
        return 0
    finally:
        engine.dispose()


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"lantian-api {command}")
    actions = parser.add_subparsers(dest="action", required=True)
    roles = [role.value for role in Role]
    if command == "user":
        add = actions.add_parser("add", help="create a user")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=roles)
        add.add_argument("--enterprise", help="the enterprise of an enterprise_user")
        add.add_argument("--display-name", help="shown in the audit trail; default USERNAME")
        add.add_argument("--password-env", metavar="VAR", help="read the password from $VAR")
        return parser
    create = actions.add_parser("create", help="make a key and print it once")
    create.add_argument("name")
    create.add_argument("--role", required=True, choices=roles)
    create.add_argument("--enterprise", help="the enterprise of an enterprise_user key")
    revoke = actions.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id", type=int)
    return parser


def _add_user(
    accounts: AccountStore, args: argparse.Namespace, out: TextIO, hasher: PasswordHasher
) -> None:
    password = _password(args.password_env)
    user = accounts.add_user(
        args.username,
        display_name=args.display_name or args.username,
        password_hash=hash_password(password, hasher),
        role=Role(args.role),
        enterprise_id=args.enterprise,
    )
    scope = f" of {user.enterprise}" if user.enterprise else ""
    out.write(f"added user {user.username} ({user.role}{scope})\n")


def _create_key(accounts: AccountStore, args: argparse.Namespace, out: TextIO) -> None:
    record, key = accounts.create_api_key(
        args.name, role=Role(args.role), enterprise_id=args.enterprise
    )
    scope = f" of {record.enterprise}" if record.enterprise else ""
    out.write(f"API key {record.id} ({record.name}, {record.role}{scope}); shown only now:\n")
    out.write(key + "\n")


def _password(variable: str | None) -> str:
    if variable is not None:
        password = os.environ.get(variable)
        if password is None:
            raise _UsageError(f"--password-env: the environment has no {variable}")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise _UsageError("the two passwords differ")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise _UsageError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password
