"""The one way a route learns who calls it: :data:`CurrentPrincipal`, and role guards on it.

A caller presents either a bearer token from ``POST /v1/auth/token`` (people) or an
``X-API-Key`` header (machines). Anything missing or invalid is 401 with a
``WWW-Authenticate`` header (RFC 6750); a valid caller whose role may not do what it asks is
403. A token names a user, whose row is read on every request, so a disabled account or a
changed role takes effect at once rather than when the token expires::

    @router.post("/things")
    def make_thing(principal: BureauAdmin) -> Thing: ...
"""

from collections.abc import Callable
from typing import Annotated, Final

from fastapi import Depends, HTTPException, status
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from api.deps import AccountsDep, SettingsDep
from api.security import tokens
from api.security.principal import Credential, Principal
from store.sql import AccountNotFoundError, InvalidApiKeyError, Role

TOKEN_URL: Final = "/v1/auth/token"  # noqa: S105 - a route, not a secret
API_KEY_HEADER: Final = "X-API-Key"

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


def unauthorized(detail: str, *, invalid: bool = True) -> HTTPException:
    """401 with the challenge RFC 6750 asks for; ``invalid``: a credential was presented."""
    challenge = 'Bearer realm="lantian"'
    if invalid:
        challenge += ', error="invalid_token"'
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": challenge}
    )


def current_principal(
    settings: SettingsDep,
    accounts: AccountsDep,
    token: Annotated[str | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """The caller, from its bearer token or its API key.

    Raises:
        HTTPException: 401 when neither is given, both are, or the one given is not valid.
    """
    if token and api_key:
        raise unauthorized(f"send a bearer token or an {API_KEY_HEADER} header, not both")
    if api_key:
        try:
            key = accounts.api_key_for(api_key)
        except InvalidApiKeyError as error:
            raise unauthorized(str(error)) from None
        return Principal(key.actor_name, key.role, key.enterprise, Credential.API_KEY)
    if not token:
        raise unauthorized(
            f"not signed in: get a token at {TOKEN_URL} or send an {API_KEY_HEADER} header",
            invalid=False,
        )
    try:
        claims = tokens.read(settings, token)
    except tokens.InvalidTokenError as error:
        raise unauthorized(f"invalid token: {error}") from None
    try:
        user = accounts.user(claims.username)
    except AccountNotFoundError:
        raise unauthorized("invalid token: its user no longer exists") from None
    if not user.active:
        raise unauthorized("the account is disabled")
    if (user.role, user.enterprise) != (claims.role, claims.enterprise):
        raise unauthorized("the account's role has changed since this token was issued")
    return Principal(user.username, user.role, user.enterprise, Credential.TOKEN)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def allow(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency giving the caller when its role is one of ``roles``, else 403."""
    needed = " or ".join(roles)

    def guard(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"role {principal.role} may not do this; {needed} may"
            )
        return principal

    return guard


# Alert actions: bureau staff decide; an enterprise answers for its own alerts.
BureauAdmin = Annotated[Principal, Depends(allow(Role.BUREAU_ADMIN))]
Responder = Annotated[Principal, Depends(allow(Role.BUREAU_ADMIN, Role.ENTERPRISE_USER))]
