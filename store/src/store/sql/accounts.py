"""Accounts of the API: the people who sign in and the keys machines present.

A **user** has a unique username, a display name, a password hash (made and checked by the API;
the store keeps the PHC string as given), a :class:`Role`, and for an enterprise user the
enterprise it belongs to. An **API key** has a name, a role and enterprise like a user's, and
is stored as a lookup prefix and the SHA-256 of the whole key: the key itself is shown once,
by :meth:`AccountStore.create_api_key`, and cannot be read back. A revoked key keeps its row::

    accounts = AccountStore(engine)
    accounts.add_user("zhang", display_name="Zhang Wei", password_hash=h,
                      role=Role.ENTERPRISE_USER, enterprise_id="ent-hengtong-al")
    record, key = accounts.create_api_key("scada-export", role=Role.BUREAU_VIEWER)
    accounts.api_key_for(key)                      # the record, or InvalidApiKeyError

Records, roles and errors are in :mod:`store.sql.account_records`.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from store.sql.account_records import (
    AccountNotFoundError,
    ApiKeyRecord,
    DuplicateUsernameError,
    InvalidAccountError,
    InvalidApiKeyError,
    Role,
    UnknownEnterpriseError,
    UserRecord,
    key_record,
    user_record,
)
from store.sql.engine import session_factory
from store.sql.models import NAME_LENGTH, USERNAME_LENGTH, ApiKeyRow, Enterprise, UserRow

# Lower-case letters, digits, dot, dash, underscore: no colon or slash, because a username
# names an actor in the audit trail (``user:{name}``, ``enterprise:{id}/{name}``) and the
# ``key:{id}`` actors of API keys must never be mistaken for a person.
_USERNAME: Final = re.compile(rf"^[a-z0-9][a-z0-9._-]{{0,{USERNAME_LENGTH - 1}}}$")
KEY_SCHEME: Final = "lantian"
_KEY: Final = re.compile(rf"^{KEY_SCHEME}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})$")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def key_hash(key: str) -> str:
    """The SHA-256 (hex) of a whole API key, as ``api_keys.key_hash`` holds it."""
    return hashlib.sha256(key.encode()).hexdigest()


class AccountStore:
    """Users and API keys of one SQL store.

    Args:
        engine: see :func:`store.sql.create_engine_for`.
        clock: creation, sign-in and revocation times; tests pass their own.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._sessions = session_factory(engine)
        self._clock = clock

    # --- users ------------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        display_name: str,
        password_hash: str,
        role: Role,
        enterprise_id: str | None = None,
    ) -> UserRecord:
        """Create an active user.

        Raises:
            InvalidAccountError: a malformed username or display name, a blank hash, an
                enterprise role without its enterprise or a bureau role with one.
            UnknownEnterpriseError: ``enterprise_id`` is not in the registry.
            DuplicateUsernameError: the username is taken.
        """
        if not _USERNAME.fullmatch(username):
            raise InvalidAccountError(
                "username",
                f"1 to {USERNAME_LENGTH} of a-z, 0-9, '.', '_', '-', starting with a letter"
                f" or digit, not {username!r}",
            )
        _check_name("display_name", display_name)
        if not password_hash.strip():
            raise InvalidAccountError("password_hash", "a password hash, not blank")
        row = UserRow(
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            active=True,
            created_at=self._clock(),
            **self._scope(role, enterprise_id),
        )
        with self._sessions() as session:
            if session.scalar(select(UserRow.id).where(UserRow.username == username)):
                raise DuplicateUsernameError(username)
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # another writer took the name since the check
                raise DuplicateUsernameError(username) from None
            return user_record(row)

    def user(self, username: str) -> UserRecord:
        """The user of this name, active or not.

        Raises:
            AccountNotFoundError: no such user.
        """
        with self._sessions() as session:
            row = session.scalar(select(UserRow).where(UserRow.username == username))
            if row is None:
                raise AccountNotFoundError("user", username)
            return user_record(row)

    def users(self) -> list[UserRecord]:
        """Every user, by username."""
        with self._sessions() as session:
            return [
                user_record(row) for row in session.scalars(select(UserRow).order_by("username"))
            ]

    def signed_in(self, username: str, *, password_hash: str | None = None) -> UserRecord:
        """Record a successful sign-in now; ``password_hash`` replaces the stored one (rehash).

        Raises:
            AccountNotFoundError: no such user.
        """
        with self._sessions() as session:
            row = session.scalar(
                select(UserRow).where(UserRow.username == username).with_for_update()
            )
            if row is None:
                raise AccountNotFoundError("user", username)
            row.last_login_at = self._clock()
            if password_hash is not None:
                row.password_hash = password_hash
            session.commit()
            return user_record(row)

    def set_active(self, username: str, *, active: bool) -> UserRecord:
        """Let a user sign in again, or stop them (their tokens stop working too).

        Raises:
            AccountNotFoundError: no such user.
        """
        with self._sessions() as session:
            row = session.scalar(
                select(UserRow).where(UserRow.username == username).with_for_update()
            )
            if row is None:
                raise AccountNotFoundError("user", username)
            row.active = active
            session.commit()
            return user_record(row)

    # --- API keys ---------------------------------------------------------------------------

    def create_api_key(
        self, name: str, *, role: Role, enterprise_id: str | None = None
    ) -> tuple[ApiKeyRecord, str]:
        """A new key: its record, and the key itself, which only this call ever returns.

        Raises:
            InvalidAccountError, UnknownEnterpriseError: as for :meth:`add_user`.
        """
        _check_name("name", name)
        prefix = secrets.token_hex(6)
        key = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
        row = ApiKeyRow(
            name=name,
            prefix=prefix,
            key_hash=key_hash(key),
            created_at=self._clock(),
            **self._scope(role, enterprise_id),
        )
        with self._sessions() as session:
            session.add(row)
            session.commit()
            return key_record(row), key

    def api_key_for(self, key: str) -> ApiKeyRecord:
        """The record of a presented key, if it is one of ours and not revoked.

        Raises:
            InvalidApiKeyError: malformed, unknown, or revoked.
        """
        match = _KEY.fullmatch(key)
        if match is None:
            raise InvalidApiKeyError(f"not of the form {KEY_SCHEME}_<prefix>_<secret>")
        with self._sessions() as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.prefix == match.group(1)))
            # compare_digest: the time taken must not tell how much of the hash matched.
            if row is None or not hmac.compare_digest(row.key_hash, key_hash(key)):
                raise InvalidApiKeyError("unknown key")
            if row.revoked_at is not None:
                raise InvalidApiKeyError(f"revoked at {row.revoked_at.isoformat()}")
            return key_record(row)

    def revoke_api_key(self, key_id: int) -> ApiKeyRecord:
        """Revoke a key now; revoking a revoked key keeps its first revocation time.

        Raises:
            AccountNotFoundError: no key with this id.
        """
        with self._sessions() as session:
            row = session.get(ApiKeyRow, key_id, with_for_update=True)
            if row is None:
                raise AccountNotFoundError("API key", key_id)
            if row.revoked_at is None:
                row.revoked_at = self._clock()
            session.commit()
            return key_record(row)

    def api_keys(self) -> list[ApiKeyRecord]:
        """Every key, revoked ones included, by id."""
        with self._sessions() as session:
            return [key_record(row) for row in session.scalars(select(ApiKeyRow).order_by("id"))]

    # --- shared -----------------------------------------------------------------------------

    def _scope(self, role: Role | str, enterprise_id: str | None) -> dict[str, object]:
        try:
            role = Role(role)
        except ValueError:
            known = ", ".join(Role)
            raise InvalidAccountError("role", f"one of {known}, not {role!r}") from None
        if role.is_enterprise and enterprise_id is None:
            raise InvalidAccountError("enterprise", f"required for role {role}")
        if not role.is_enterprise and enterprise_id is not None:
            raise InvalidAccountError("enterprise", f"not allowed for role {role}")
        if enterprise_id is not None:
            with self._sessions() as session:
                if session.get(Enterprise, enterprise_id) is None:
                    raise UnknownEnterpriseError(enterprise_id)
        return {"role": role.value, "enterprise_id": enterprise_id}


def _check_name(field: str, value: str) -> None:
    if not value.strip() or len(value) > NAME_LENGTH:
        raise InvalidAccountError(field, f"1 to {NAME_LENGTH} characters, not blank")
