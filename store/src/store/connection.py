"""Connection settings of the stores, shared by every service's settings class.

A service nests :class:`InfluxConnection` in its settings, so ``LANTIAN_INGEST_INFLUX__URL`` and
``LANTIAN_API_INFLUX__URL`` mean the same thing and are turned into a store in one place.
"""

from typing import Self

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from store.influx import BasicAuth, InfluxAuth, InfluxStore, TokenAuth


class InfluxConnection(BaseModel):
    """Where InfluxDB is and how to sign in: no auth, a username and password, or a token."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "http://127.0.0.1:8086"
    database: str = "lantian"
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None
    timeout_s: float = 10.0

    @model_validator(mode="after")
    def _one_way_to_sign_in(self) -> Self:
        if self.token is not None and self.username is not None:
            raise ValueError("give either a token or a username and password, not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("a username needs a password, and a password a username")
        return self

    @property
    def auth(self) -> InfluxAuth | None:
        """The credentials in the form the store takes."""
        if self.token is not None:
            return TokenAuth(self.token.get_secret_value())
        if self.username is not None and self.password is not None:
            return BasicAuth(self.username, self.password.get_secret_value())
        return None

    def open(self) -> InfluxStore:
        """A store bound to the configured database."""
        return InfluxStore(self.url, self.database, auth=self.auth, timeout=self.timeout_s)
