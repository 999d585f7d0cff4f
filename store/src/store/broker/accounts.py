"""MQTT accounts kept in the SQL store: issued, rotated and revoked here, enforced by Mosquitto.

==========  ==================  ===========================================================
kind        username            belongs to
==========  ==================  ===========================================================
gateway     ``<gateway id>``    a registered gateway; its username is its id (``gw-0001``)
enterprise  ``ent@<id>``        a registered enterprise, which reads its own alerts
service     ``svc-<role>``      a platform service: ``ingest``, ``rules``, ``api``, ``monitor``
==========  ==================  ===========================================================

The three namespaces cannot meet: ``@`` cannot occur in an identifier
(:data:`telemetry.topics.IDENTIFIER_PATTERN`), and gateway ids starting with ``svc-`` are
refused an account. So one username names one account, and its ACL lines say exactly whose.

Issuing generates a password (or takes a service's from the deployment), stores only its
``$7$`` hash and hands the password back once, in a :class:`Credential`. Issuing again
rotates the password (and lifts a revocation); revoking keeps the row with ``revoked_at`` set,
and the next generated files leave the account out. Owners must exist in the registry:
an unknown gateway or enterprise raises the registry's own :class:`NotFoundError`.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from store.broker.passwords import (
    PBKDF2_ITERATIONS,
    check_password_strength,
    generate_password,
    hash_password,
)
from store.sql.engine import session_factory
from store.sql.errors import NotFoundError, RecordKind, SqlStoreError, UnknownGatewayError
from store.sql.models import BrokerAccountRow, Enterprise, Gateway

ENTERPRISE_PREFIX: Final = "ent@"
SERVICE_PREFIX: Final = "svc-"


class AccountKind(StrEnum):
    """Whose an account is; the value is what the ``kind`` column holds."""

    GATEWAY = "gateway"
    ENTERPRISE = "enterprise"
    SERVICE = "service"


class ServiceRole(StrEnum):
    """The platform services that connect to the broker, each with the rights it needs."""

    INGEST = "ingest"
    RULES = "rules"
    API = "api"
    MONITOR = "monitor"


class BrokerAccountError(SqlStoreError):
    """Base of the errors about broker accounts that are not the registry's."""


class UnknownAccountError(BrokerAccountError):
    """No broker account has this username."""

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"no broker account {username!r}")


class InvalidAccountError(BrokerAccountError):
    """An account that cannot be issued as asked: an unknown role, a reserved gateway id."""

    def __init__(self, value: str, why: str) -> None:
        self.value = value
        self.why = why
        super().__init__(f"broker account {value!r}: {why}")


@dataclass(frozen=True, slots=True)
class Credential:
    """A username and its new password, returned once by an issue; the password is not kept."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class BrokerAccount:
    """An account as stored: ``owner`` is the gateway id, the enterprise id or the role."""

    username: str
    kind: AccountKind
    owner: str
    password_hash: str = field(repr=False)
    created_at: datetime
    password_set_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether the account goes into the generated password and ACL files."""
        return self.revoked_at is None


def gateway_username(gateway_id: str) -> str:
    """A gateway's username: its id, the ``{gateway}`` level of its topics."""
    return gateway_id


def enterprise_username(enterprise_id: str) -> str:
    """An enterprise's username, ``ent@<id>``."""
    return f"{ENTERPRISE_PREFIX}{enterprise_id}"


def service_username(role: ServiceRole) -> str:
    """A service's username, ``svc-<role>``."""
    return f"{SERVICE_PREFIX}{role.value}"


def service_role(role: str) -> ServiceRole:
    """The role named ``role``, or :class:`InvalidAccountError` listing the known ones."""
    try:
        return ServiceRole(role)
    except ValueError:
        known = ", ".join(r.value for r in ServiceRole)
        raise InvalidAccountError(role, f"unknown service role; known roles: {known}") from None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BrokerAccounts:
    """Issues, rotates, revokes and lists the broker accounts of one SQL store.

    Args:
        database: an engine or a session factory bound to one.
        clock: where ``created_at``, ``password_set_at`` and ``revoked_at`` come from.
        iterations: PBKDF2 iterations of new hashes (see :mod:`store.broker.passwords`).
    """

    def __init__(
        self,
        database: Engine | sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = _utc_now,
        iterations: int = PBKDF2_ITERATIONS,
    ) -> None:
        self._sessions = session_factory(database) if isinstance(database, Engine) else database
        self._clock = clock
        self._iterations = iterations

    def issue_gateway(self, gateway_id: str, session: Session | None = None) -> Credential:
        """Issue (or rotate) the account of a registered gateway.

        With ``session`` the account is written in the caller's transaction, so the API can
        create a gateway and its account together; the caller commits.

        Raises:
            UnknownGatewayError: the gateway is not in the registry.
            InvalidAccountError: the gateway id starts with ``svc-``, the services' namespace.
        """
        if gateway_id.startswith(SERVICE_PREFIX):
            raise InvalidAccountError(
                gateway_id, f"gateway ids starting with {SERVICE_PREFIX!r} name service accounts"
            )

        def owner_exists(found: Session) -> None:
            if found.get(Gateway, gateway_id) is None:
                raise UnknownGatewayError(gateway_id)

        return self._issue(
            session=session,
            username=gateway_username(gateway_id),
            kind=AccountKind.GATEWAY,
            owner=gateway_id,
            owner_exists=owner_exists,
        )

    def issue_enterprise(self, enterprise_id: str, session: Session | None = None) -> Credential:
        """Issue (or rotate) the account of a registered enterprise.

        Raises:
            NotFoundError: the enterprise is not in the registry.
        """

        def owner_exists(found: Session) -> None:
            if found.get(Enterprise, enterprise_id) is None:
                raise NotFoundError(RecordKind.ENTERPRISE, enterprise_id)

        return self._issue(
            session=session,
            username=enterprise_username(enterprise_id),
            kind=AccountKind.ENTERPRISE,
            owner=enterprise_id,
            owner_exists=owner_exists,
        )

    def issue_service(
        self,
        role: ServiceRole | str,
        *,
        password: str | None = None,
        session: Session | None = None,
    ) -> Credential:
        """Issue (or rotate) a service's account, with ``password`` if the deployment sets one.

        Raises:
            InvalidAccountError: an unknown role.
            WeakPasswordError: ``password`` has fewer than 16 characters.
        """
        known = role if isinstance(role, ServiceRole) else service_role(role)
        if password is not None:
            check_password_strength(password)
        return self._issue(
            session=session,
            username=service_username(known),
            kind=AccountKind.SERVICE,
            owner=known.value,
            owner_exists=None,
            password=password,
        )

    def revoke(self, username: str, session: Session | None = None) -> BrokerAccount:
        """Revoke an account; revoking one already revoked keeps its first ``revoked_at``.

        Raises:
            UnknownAccountError: no account has this username.
        """
        with self._transaction(session) as active:
            row = active.get(BrokerAccountRow, username)
            if row is None:
                raise UnknownAccountError(username)
            if row.revoked_at is None:
                row.revoked_at = self._clock()
            return _record(row)

    def get(self, username: str) -> BrokerAccount:
        """The account with this username, active or revoked.

        Raises:
            UnknownAccountError: no account has this username.
        """
        with self._sessions() as session:
            row = session.get(BrokerAccountRow, username)
            if row is None:
                raise UnknownAccountError(username)
            return _record(row)

    def accounts(self, *, include_revoked: bool = False) -> list[BrokerAccount]:
        """Every active account (and the revoked ones if asked), ordered by username."""
        query = select(BrokerAccountRow).order_by(BrokerAccountRow.username)
        if not include_revoked:
            query = query.where(BrokerAccountRow.revoked_at.is_(None))
        with self._sessions() as session:
            return [_record(row) for row in session.scalars(query)]

    def _issue(  # noqa: PLR0913 - the facts of one account, in one place
        self,
        *,
        session: Session | None,
        username: str,
        kind: AccountKind,
        owner: str,
        owner_exists: Callable[[Session], None] | None,
        password: str | None = None,
    ) -> Credential:
        secret = password if password is not None else generate_password()
        password_hash = hash_password(secret, iterations=self._iterations)
        now = self._clock()
        with self._transaction(session) as active:
            if owner_exists is not None:
                owner_exists(active)
            row = active.get(BrokerAccountRow, username)
            if row is None:
                active.add(
                    BrokerAccountRow(
                        username=username,
                        kind=kind.value,
                        gateway_id=owner if kind is AccountKind.GATEWAY else None,
                        enterprise_id=owner if kind is AccountKind.ENTERPRISE else None,
                        role=owner if kind is AccountKind.SERVICE else None,
                        password_hash=password_hash,
                        created_at=now,
                        password_set_at=now,
                        revoked_at=None,
                    )
                )
            else:
                row.password_hash = password_hash
                row.password_set_at = now
                row.revoked_at = None
        return Credential(username, secret)

    @contextmanager
    def _transaction(self, session: Session | None) -> Iterator[Session]:
        """The caller's session as it is (the caller commits), or a new one committed here."""
        if session is not None:
            yield session
            session.flush()
            return
        with self._sessions.begin() as own:
            yield own


def _record(row: BrokerAccountRow) -> BrokerAccount:
    owner = row.gateway_id or row.enterprise_id or row.role
    if owner is None:  # the table's check constraint makes this impossible
        raise BrokerAccountError(f"broker account {row.username!r} has no owner")
    return BrokerAccount(
        username=row.username,
        kind=AccountKind(row.kind),
        owner=owner,
        password_hash=row.password_hash,
        created_at=row.created_at,
        password_set_at=row.password_set_at,
        revoked_at=row.revoked_at,
    )
