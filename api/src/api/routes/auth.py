"""Sign-in: the OAuth 2.0 password flow (RFC 6749, 4.3) gives a short-lived bearer token."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from api.deps import AccountsDep, SettingsDep
from api.security import CurrentPrincipal, tokens
from api.security.passwords import burn_time, hasher_of, verify
from store.sql import AccountNotFoundError, Role

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    """A bearer token and how long it lasts."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme, not a secret
    expires_in: int = Field(description="seconds")


class Me(BaseModel):
    """Who the caller is."""

    name: str = Field(description="the username, or key:{id} for an API key")
    role: Role
    enterprise: str | None
    credential: str


_REFUSED = "wrong username or password"


@router.post(
    "/auth/token",
    responses={400: {"description": "wrong username or password, or a disabled account"}},
)
def sign_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    accounts: AccountsDep,
    settings: SettingsDep,
) -> Token:
    """Exchange a username and password for a token (form fields ``username``, ``password``)."""
    hasher = hasher_of(settings)
    try:
        user = accounts.user(form.username)
    except AccountNotFoundError:
        burn_time(form.password, hasher)  # as slow as a wrong password: names stay secret
        raise HTTPException(status.HTTP_400_BAD_REQUEST, _REFUSED) from None
    verified = verify(user.password_hash, form.password, hasher)
    if verified is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, _REFUSED)
    if not user.active:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the account is disabled")
    accounts.signed_in(user.username, password_hash=verified.rehash)
    token = tokens.issue(
        settings, username=user.username, role=user.role, enterprise=user.enterprise
    )
    return Token(access_token=token, expires_in=settings.token_ttl_s)


@router.get("/auth/me")
def me(principal: CurrentPrincipal) -> Me:
    """The caller as the API sees it: name, role and enterprise."""
    return Me(
        name=principal.name,
        role=principal.role,
        enterprise=principal.enterprise,
        credential=principal.credential.value,
    )
