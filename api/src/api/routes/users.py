"""The API's users, managed by bureau admins: list, create, deactivate and reactivate.

A new user's password is the admin's (at least 8 characters) or, when none is given,
generated and returned in the answer this once; only its argon2id hash is stored
(:mod:`api.security.passwords`). A deactivated user cannot sign in and their tokens stop
working. An enterprise user must name an existing enterprise, a bureau user none (422).
"""

import secrets
from datetime import datetime
from typing import Final

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AccountsDep, SettingsDep
from api.security import BureauAdmin
from api.security.boundary import not_found
from api.security.passwords import hash_password, hasher_of
from store.sql import (
    AccountNotFoundError,
    DuplicateUsernameError,
    InvalidAccountError,
    Role,
    UnknownEnterpriseError,
)
from store.sql.account_records import UserRecord

router = APIRouter(tags=["users"])

MIN_PASSWORD_LENGTH: Final = 8  # NIST SP 800-63B, 5.1.1.1: at least 8 characters
MAX_PASSWORD_LENGTH: Final = 256
_GENERATED_BYTES: Final = 18  # 24 URL-safe characters, 144 random bits

_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "not signed in"},
    403: {"description": "only bureau admins manage users"},
}


class UserOut(BaseModel):
    """A user as the admin sees them; never the password or its hash."""

    username: str
    display_name: str
    role: Role
    enterprise: str | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: UserRecord) -> "UserOut":
        """The answer for a stored record."""
        return cls(
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            enterprise=user.enterprise,
            active=user.active,
            created_at=user.created_at,
            last_login_at=user.last_login_at,
        )


class UserIn(BaseModel):
    """A new user; without ``password`` one is generated and returned once."""

    model_config = ConfigDict(extra="forbid")

    username: str
    display_name: str
    role: Role
    enterprise: str | None = None
    password: str | None = Field(
        default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    )


class UserCreated(BaseModel):
    """The new user, and the generated password (null when the admin set it)."""

    user: UserOut
    password: str | None


class UserChange(BaseModel):
    """Whether the user may sign in."""

    model_config = ConfigDict(extra="forbid")

    active: bool


@router.get("/users", responses=_RESPONSES)
def list_users(_admin: BureauAdmin, accounts: AccountsDep) -> list[UserOut]:
    """Every user, active or not, by username."""
    return [UserOut.of(user) for user in accounts.users()]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    responses={
        **_RESPONSES,
        409: {"description": "the username is taken"},
        422: {"description": "a bad value, or an unknown enterprise"},
    },
)
def create_user(
    body: UserIn, _admin: BureauAdmin, accounts: AccountsDep, settings: SettingsDep
) -> UserCreated:
    """Create an active user of a role (and, for an enterprise user, of an enterprise)."""
    generated = secrets.token_urlsafe(_GENERATED_BYTES) if body.password is None else None
    password = body.password if body.password is not None else generated
    assert password is not None  # noqa: S101 - one of the two is set
    try:
        user = accounts.add_user(
            body.username,
            display_name=body.display_name,
            password_hash=hash_password(password, hasher_of(settings)),
            role=body.role,
            enterprise_id=body.enterprise,
        )
    except DuplicateUsernameError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except (InvalidAccountError, UnknownEnterpriseError) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    return UserCreated(user=UserOut.of(user), password=generated)


@router.patch("/users/{username}", responses={**_RESPONSES, 404: {"description": "no such user"}})
def change_user(
    username: str, body: UserChange, _admin: BureauAdmin, accounts: AccountsDep
) -> UserOut:
    """Deactivate a user (they can no longer sign in) or let them in again."""
    try:
        return UserOut.of(accounts.set_active(username, active=body.active))
    except AccountNotFoundError:
        raise not_found(f"user {username!r}") from None
