"""Password hashing with argon2id (RFC 9106), through argon2-cffi.

The stored hash is a PHC string that names its own parameters, so raising them later needs no
migration: :func:`verify` tells when a hash was made with other parameters than today's, and
sign-in then stores a new hash of the password it just checked.
"""

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

if TYPE_CHECKING:
    from api.settings import ApiSettings

# argon2-cffi's defaults are RFC 9106's second recommended option (t=3, 64 MiB, p=4).
HASHER: Final = PasswordHasher()


def hasher_of(settings: "ApiSettings") -> PasswordHasher:
    """The hasher of the settings' argon2 parameters (one per set of parameters)."""
    return _hasher(
        settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism
    )


@cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


@cache
def _dummy(hasher: PasswordHasher) -> str:
    """A hash to check when the username is unknown.

    Sign-in then takes as long for a name that does not exist as for a wrong password, and
    does not tell which names exist.
    """
    return hasher.hash("no such user")


@dataclass(frozen=True, slots=True)
class Verified:
    """A password matched; ``rehash`` is a new hash when the stored one is outdated."""

    rehash: str | None


def hash_password(password: str, hasher: PasswordHasher = HASHER) -> str:
    """The PHC string to store for ``password``."""
    return hasher.hash(password)


def verify(stored: str, password: str, hasher: PasswordHasher = HASHER) -> Verified | None:
    """``None`` when ``password`` does not match ``stored`` (or ``stored`` is no argon2 hash)."""
    try:
        hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return Verified(hasher.hash(password) if hasher.check_needs_rehash(stored) else None)


def burn_time(password: str, hasher: PasswordHasher = HASHER) -> None:
    """Spend the time a verification takes, for a username that does not exist."""
    verify(_dummy(hasher), password, hasher)
