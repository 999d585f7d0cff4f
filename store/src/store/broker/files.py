"""Writing the broker's files atomically, and telling a running Mosquitto to reload them.

Mosquitto rereads its password and ACL files on SIGHUP. A broker that rereads a half-written
file would lock out every client, so each file is written to a temporary file beside it,
flushed to disk with its final mode, and renamed over the old one: a reader sees the old file
or the new one, never a mix. The secrets (the password hashes and who may read what) get
mode 0640, readable by the broker's group; the configuration 0644.
"""

import contextlib
import os
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from store.broker.accounts import BrokerAccounts
from store.broker.acl import render_acl, render_password_file
from store.broker.conf import PRODUCTION, BrokerConf, render_mosquitto_conf

PASSWORD_FILE: Final = "passwords"  # noqa: S105 - a file name, not a password
ACL_FILE: Final = "acl"
CONF_FILE: Final = "mosquitto.conf"
SECRET_MODE: Final = 0o640
CONF_MODE: Final = 0o644


class BrokerReloadError(RuntimeError):
    """The broker could not be told to reload: no pid file, no number in it, no such process.

    Attributes:
        pid_file: the pid file that was read.
        why: what went wrong.
    """

    def __init__(self, pid_file: Path, why: str) -> None:
        self.pid_file = pid_file
        self.why = why
        super().__init__(f"cannot reload the broker of pid file {pid_file}: {why}")


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    """What :func:`write_broker_files` wrote, and for how many active accounts."""

    password_file: Path
    acl_file: Path
    conf_file: Path
    accounts: int
    reloaded_pid: int | None


def write_atomically(path: Path, text: str, mode: int) -> None:
    """Replace ``path`` with ``text`` in one rename, the new file already at ``mode``."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def reload_broker(pid_file: Path) -> int:
    """Send SIGHUP to the process whose pid ``pid_file`` holds; return that pid.

    Raises:
        BrokerReloadError: the file is missing or holds no pid, or no such process runs.
    """
    try:
        text = pid_file.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise BrokerReloadError(pid_file, f"cannot read it ({error})") from None
    if not text.isdigit() or int(text) < 2:  # 0 and 1 are never the broker
        raise BrokerReloadError(pid_file, f"{text[:20]!r} is not a process id")
    pid = int(text)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise BrokerReloadError(pid_file, f"no process {pid} runs") from None
    except PermissionError:
        raise BrokerReloadError(pid_file, f"not allowed to signal process {pid}") from None
    return pid


def write_broker_files(
    database: Engine | sessionmaker[Session],
    out_dir: Path,
    reload_pid: Path | None = None,
    *,
    conf: BrokerConf = PRODUCTION,
) -> BrokerFiles:
    """Render ``passwords``, ``acl`` and ``mosquitto.conf`` into ``out_dir`` from the store.

    With ``reload_pid`` the broker whose pid that file holds is sent SIGHUP afterwards, so it
    rereads the accounts and ACLs (listeners and other settings need a restart).

    Raises:
        BrokerReloadError: the broker could not be signalled; the files are written already.
    """
    accounts = BrokerAccounts(database).accounts()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        PASSWORD_FILE: (render_password_file(accounts), SECRET_MODE),
        ACL_FILE: (render_acl(accounts), SECRET_MODE),
        CONF_FILE: (render_mosquitto_conf(conf), CONF_MODE),
    }
    for name, (text, mode) in files.items():
        write_atomically(out_dir / name, text, mode)
    pid = reload_broker(reload_pid) if reload_pid is not None else None
    return BrokerFiles(
        password_file=out_dir / PASSWORD_FILE,
        acl_file=out_dir / ACL_FILE,
        conf_file=out_dir / CONF_FILE,
        accounts=len(accounts),
        reloaded_pid=pid,
    )
