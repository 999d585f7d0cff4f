"""Broker security generated from the registry: MQTT accounts, password and ACL files.

Mosquitto enforces the topic contract (:mod:`telemetry.topics`) with files rendered from the
accounts in the SQL store (:class:`BrokerAccounts`): a gateway writes only under its own id,
an enterprise reads only its own alerts, the services get what they need, anonymous clients
are refused. Typical use, by the API when it registers a gateway and by ``lantian-api``::

    credential = issue_gateway_account(engine, "gw-0001")  # the password, shown once
    write_broker_files(engine, Path("/mosquitto/config"), reload_pid=Path("/run/mosquitto.pid"))

Modules: :mod:`~store.broker.passwords` (the ``$7$`` hash), :mod:`~store.broker.accounts`
(issue, rotate, revoke), :mod:`~store.broker.acl` (the password and ACL files),
:mod:`~store.broker.conf` (``mosquitto.conf``), :mod:`~store.broker.files` (atomic writes,
SIGHUP). See docs/security.md.
"""

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from store.broker.accounts import (
    AccountKind,
    BrokerAccount,
    BrokerAccountError,
    BrokerAccounts,
    Credential,
    InvalidAccountError,
    ServiceRole,
    UnknownAccountError,
    enterprise_username,
    gateway_username,
    service_username,
)
from store.broker.acl import grants, render_acl, render_password_file
from store.broker.conf import (
    PRODUCTION,
    PRODUCTION_TLS,
    SINGLE_SERVER,
    BrokerConf,
    TlsListener,
    render_mosquitto_conf,
)
from store.broker.files import (
    BrokerFiles,
    BrokerReloadError,
    reload_broker,
    write_atomically,
    write_broker_files,
)
from store.broker.passwords import (
    MIN_PASSWORD_LENGTH,
    PasswordHashError,
    WeakPasswordError,
    generate_password,
    hash_password,
    verify_password,
)


def issue_gateway_account(database: Engine | Session, gateway_id: str) -> Credential:
    """Issue or rotate a registered gateway's account; with a session, in its transaction."""
    if isinstance(database, Session):
        return BrokerAccounts(_engine_of(database)).issue_gateway(gateway_id, session=database)
    return BrokerAccounts(database).issue_gateway(gateway_id)


def issue_enterprise_account(database: Engine | Session, enterprise_id: str) -> Credential:
    """Issue or rotate a registered enterprise's account; with a session, in its transaction."""
    if isinstance(database, Session):
        accounts = BrokerAccounts(_engine_of(database))
        return accounts.issue_enterprise(enterprise_id, session=database)
    return BrokerAccounts(database).issue_enterprise(enterprise_id)


def issue_service_account(
    database: Engine, role: ServiceRole | str, *, password: str | None = None
) -> Credential:
    """Issue or rotate a service's account, with a generated password unless one is given."""
    return BrokerAccounts(database).issue_service(role, password=password)


def revoke_broker_account(database: Engine, username: str) -> BrokerAccount:
    """Revoke an account; the next generated files leave it out."""
    return BrokerAccounts(database).revoke(username)


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


__all__ = [
    "MIN_PASSWORD_LENGTH",
    "PRODUCTION",
    "PRODUCTION_TLS",
    "SINGLE_SERVER",
    "AccountKind",
    "BrokerAccount",
    "BrokerAccountError",
    "BrokerAccounts",
    "BrokerConf",
    "BrokerFiles",
    "BrokerReloadError",
    "Credential",
    "InvalidAccountError",
    "PasswordHashError",
    "ServiceRole",
    "TlsListener",
    "UnknownAccountError",
    "WeakPasswordError",
    "enterprise_username",
    "gateway_username",
    "generate_password",
    "grants",
    "hash_password",
    "issue_enterprise_account",
    "issue_gateway_account",
    "issue_service_account",
    "reload_broker",
    "render_acl",
    "render_mosquitto_conf",
    "render_password_file",
    "revoke_broker_account",
    "service_username",
    "verify_password",
    "write_atomically",
    "write_broker_files",
]
