"""Access tokens: JWTs signed with HS256 (RFC 7519), short-lived, for one issuer and audience.

Claims: ``sub`` (username), ``role``, ``enterprise`` (or null), ``iat``, ``exp``, ``iss``,
``aud``. Every one is required when a token is read, and only HS256 is accepted, so a token
with ``alg: none`` or another key's signature is refused.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import jwt

from api.settings import ApiSettings, jwt_secret_of
from store.sql import Role

ALGORITHM: Final = "HS256"
_REQUIRED: Final = ["sub", "role", "iat", "exp", "iss", "aud"]
_LEEWAY_S: Final = 5  # clocks of the API's replicas may differ a little


class InvalidTokenError(Exception):
    """A token that is malformed, expired, for someone else, or badly signed."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token says."""

    username: str
    role: Role
    enterprise: str | None
    expires_at: datetime


def issue(
    settings: ApiSettings,
    *,
    username: str,
    role: Role,
    enterprise: str | None,
    now: datetime | None = None,
) -> str:
    """A signed token for this user, valid for ``settings.token_ttl_s`` from ``now``."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": username,
        "role": role.value,
        "enterprise": enterprise,
        "iat": issued,
        "exp": issued + timedelta(seconds=settings.token_ttl_s),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    return jwt.encode(claims, jwt_secret_of(settings), algorithm=ALGORITHM)


def read(settings: ApiSettings, token: str) -> TokenClaims:
    """The claims of a valid token.

    Raises:
        InvalidTokenError: with the reason (expired, wrong audience, bad signature, ...).
    """
    try:
        claims = jwt.decode(
            token,
            jwt_secret_of(settings),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=_LEEWAY_S,
            options={"require": _REQUIRED},
        )
        return TokenClaims(
            username=str(claims["sub"]),
            role=Role(claims["role"]),
            enterprise=claims.get("enterprise"),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except jwt.InvalidTokenError as error:
        raise InvalidTokenError(str(error)) from None
    except ValueError:
        raise InvalidTokenError("unknown role") from None
