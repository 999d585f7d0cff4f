"""The records, roles and errors of the account store (:mod:`store.sql.accounts`).

SqlStoreError
└── AccountError
    ├── DuplicateUsernameError  the username is taken
    ├── UnknownEnterpriseError  the enterprise is not in the registry
    ├── InvalidAccountError     a bad username or name, a role without its enterprise
    ├── AccountNotFoundError    no user of this name, no key of this id
    └── InvalidApiKeyError      a presented key that is malformed, unknown or revoked
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from store.sql.errors import SqlStoreError
from store.sql.models import ApiKeyRow, UserRow


class Role(StrEnum):
    """What an account may do; docs/api.md has the table."""

    BUREAU_ADMIN = "bureau_admin"  # reads everything, acts on every alert, manages
    BUREAU_VIEWER = "bureau_viewer"  # reads everything, acts on nothing
    ENTERPRISE_USER = "enterprise_user"  # reads and acknowledges its own enterprise's only

    @property
    def is_enterprise(self) -> bool:
        """The role is bound to one enterprise."""
        return self is Role.ENTERPRISE_USER


class AccountError(SqlStoreError):
    """Base of the errors of the account store."""


class DuplicateUsernameError(AccountError):
    """A user with this username already exists."""

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"user {username!r} already exists")


class UnknownEnterpriseError(AccountError):
    """The enterprise an account should belong to is not in the registry."""

    def __init__(self, enterprise_id: str) -> None:
        self.enterprise_id = enterprise_id
        super().__init__(f"no enterprise {enterprise_id!r} in the registry")


class InvalidAccountError(AccountError):
    """A value refused before it reaches the database: ``field`` should be ``why``."""

    def __init__(self, field: str, why: str) -> None:
        self.field = field
        self.why = why
        super().__init__(f"{field}: {why}")


class AccountNotFoundError(AccountError):
    """No ``kind`` (user, API key) with this identifier."""

    def __init__(self, kind: str, identifier: str | int) -> None:
        self.kind = kind
        self.identifier = identifier
        super().__init__(f"no {kind} {identifier!r}")


class InvalidApiKeyError(AccountError):
    """A presented key that is malformed, unknown or revoked; ``why`` says which."""

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(f"API key refused: {why}")


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as stored, password hash included (the API verifies passwords with it)."""

    id: int
    username: str
    display_name: str
    password_hash: str
    role: Role
    enterprise: str | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key as stored, without its hash."""

    id: int
    name: str
    prefix: str
    role: Role
    enterprise: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def actor_name(self) -> str:
        """How the audit trail names what this key did."""
        return f"key:{self.id}"


def user_record(row: UserRow) -> UserRecord:
    """The record of ``row``."""
    return UserRecord(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        password_hash=row.password_hash,
        role=Role(row.role),
        enterprise=row.enterprise_id,
        active=row.active,
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )


def key_record(row: ApiKeyRow) -> ApiKeyRecord:
    """The record of ``row``, without its hash."""
    return ApiKeyRecord(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        role=Role(row.role),
        enterprise=row.enterprise_id,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
