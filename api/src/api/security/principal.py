"""Who is calling: a signed-in person or a machine's key, with its role and enterprise."""

from dataclasses import dataclass
from enum import StrEnum

from store.sql import Actor, Role


class Credential(StrEnum):
    """How the caller proved who it is."""

    TOKEN = "token"  # noqa: S105 - the name of a kind of credential, not a secret
    API_KEY = "api_key"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request.

    ``name`` is the username, or ``key:{id}`` for an API key; ``enterprise`` is set exactly
    for the enterprise role, and bounds everything the caller sees (:mod:`api.security.boundary`).
    """

    name: str
    role: Role
    enterprise: str | None
    credential: Credential

    @property
    def actor(self) -> Actor:
        """How the audit trail names what this caller does."""
        if self.enterprise is not None:
            return Actor.of_enterprise(self.enterprise, self.name)
        return Actor.staff(self.name)
