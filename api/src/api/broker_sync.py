"""Telling the broker about credentials the API issued: its password and ACL files, rewritten.

With ``LANTIAN_API_BROKER_FILES_DIR`` set, :func:`apply_broker_accounts` renders ``passwords``
and ``acl`` there from the store's accounts (atomically, as :mod:`store.broker.files` does) and,
with ``LANTIAN_API_BROKER_RELOAD_PID``, sends the broker SIGHUP. ``mosquitto.conf`` is left as
the deployment wrote it (listeners, TLS). Without a directory, the answer says to run
``lantian-api broker-files``.
"""

from pydantic import BaseModel
from sqlalchemy import Engine

from api.settings import ApiSettings
from store.broker import (
    BrokerAccounts,
    BrokerReloadError,
    reload_broker,
    render_acl,
    render_password_file,
    write_atomically,
)
from store.broker.files import ACL_FILE, PASSWORD_FILE, SECRET_MODE

_BY_HAND = "the broker does not know the new password yet: run lantian-api broker-files"


class BrokerFilesOut(BaseModel):
    """Whether the broker's files hold the new credentials, and what remains to do if not."""

    written: bool
    reloaded: bool
    note: str


def apply_broker_accounts(engine: Engine, settings: ApiSettings) -> BrokerFilesOut:
    """Rewrite the broker's password and ACL files and reload it, as far as configured.

    A broker that cannot be signalled is reported in the answer, not raised: the credentials
    are issued and the files written, so a reload by hand finishes the job.
    """
    folder = settings.broker_files_dir
    if folder is None:
        return BrokerFilesOut(written=False, reloaded=False, note=_BY_HAND)
    accounts = BrokerAccounts(engine).accounts()
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / PASSWORD_FILE, render_password_file(accounts), SECRET_MODE)
    write_atomically(folder / ACL_FILE, render_acl(accounts), SECRET_MODE)
    if settings.broker_reload_pid is None:
        note = "files written; the broker rereads them when it is reloaded (SIGHUP)"
        return BrokerFilesOut(written=True, reloaded=False, note=note)
    try:
        pid = reload_broker(settings.broker_reload_pid)
    except BrokerReloadError as error:
        return BrokerFilesOut(written=True, reloaded=False, note=f"files written; {error}")
    return BrokerFilesOut(written=True, reloaded=True, note=f"files written; sent SIGHUP to {pid}")
