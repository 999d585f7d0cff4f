"""Settings of the API service, from ``LANTIAN_API_*`` environment variables or a file.

Built once in :func:`api.cli.main` and handed to :func:`api.app.create_app`.
"""

from pathlib import Path
from typing import Final

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.connection import InfluxConnection


class ApiSettings(BaseSettings):
    """Where the API listens and which stores it reads."""

    model_config = SettingsConfigDict(
        env_prefix="LANTIAN_API_",
        env_file=None,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    influx: InfluxConnection = InfluxConnection()

    sql_url: str = "sqlite:///var/lantian.db"

    # The widest window one raw-series request may ask for: beyond it the answer should come from
    # the hourly series, not millions of raw points.
    max_raw_window_days: int = Field(default=31, ge=1)

    # How far back the gateways' health is read. Gateways report every minute, but a last will
    # is written once: past this an offline gateway is shown as unknown, and a longer lookback
    # makes every health query read more of the history. A month keeps a gateway that died
    # over a holiday in the fleet view as offline, with when it was last seen.
    gateway_health_lookback_s: int = Field(default=30 * 86_400, ge=60)

    # How far back the device listings look for a device's readings: a device silent longer is
    # not listed. A week is the raw policy's shard group (the query reads one or two shards)
    # and the latest values' lookback; each day more is another day of points to read.
    device_lookback_days: int = Field(default=7, ge=1, le=31)

    # Tokens: HS256 with this secret (checked by jwt_secret_of when the API starts), short
    # lived, and only for this issuer and audience.
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "lantian"
    jwt_audience: str = "lantian-api"
    token_ttl_s: int = Field(default=900, ge=30, le=86_400)

    # Password hashing, argon2id. The defaults are RFC 9106's second recommended option (t=3,
    # 64 MiB, p=4); a stored hash made with other values is replaced at the next sign-in. Lower
    # them only where sign-in speed matters more than an attacker's cost, as in a test suite.
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=65_536, ge=8)
    password_parallelism: int = Field(default=4, ge=1)

    # The live alert stream polls the audit table (the rules service is another process).
    stream_poll_s: float = Field(default=1.0, gt=0)
    stream_keepalive_s: float = Field(default=15.0, gt=0)

    # Where the broker's password and ACL files live, rewritten when the API issues a gateway's
    # credentials; and the pid file of the broker to send SIGHUP to afterwards. Unset: the
    # operator runs ``lantian-api broker-files``.
    broker_files_dir: Path | None = None
    broker_reload_pid: Path | None = None


MIN_SECRET_BYTES: Final = 32  # HS256 keys of at least the hash's 256 bits (RFC 7518, 3.2)
# Words that mark a value copied from an example or left at a default, never a real secret.
_PLACEHOLDERS: Final = (
    "changeme",
    "change-me",
    "change_me",
    "changethis",
    "secret-key",
    "secretkey",
    "your-secret",
    "example",
    "default",
    "insecure",
    "placeholder",
    "lantian",
    "password",
)
_MIN_DISTINCT: Final = 10  # "aaaa..." or "0123012301..." is long but guessable


class UnsafeSettingsError(ValueError):
    """A setting the API refuses to start with; the message says which and why."""


def jwt_secret_of(settings: "ApiSettings") -> bytes:
    """The key that signs the API's tokens, if it is safe to use.

    Raises:
        UnsafeSettingsError: it is missing, shorter than 32 bytes, or a default or example.
    """
    name = "LANTIAN_API_JWT_SECRET"
    if settings.jwt_secret is None:
        raise UnsafeSettingsError(f"{name} is not set: the API cannot sign tokens without it")
    secret = settings.jwt_secret.get_secret_value()
    key = secret.encode()
    if len(key) < MIN_SECRET_BYTES:
        raise UnsafeSettingsError(
            f"{name} has {len(key)} bytes; at least {MIN_SECRET_BYTES} are needed"
        )
    lowered = secret.lower()
    if any(word in lowered for word in _PLACEHOLDERS) or len(set(secret)) < _MIN_DISTINCT:
        raise UnsafeSettingsError(
            f"{name} is a default or example value; generate one with"
            " python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return key


def settings_from(env_file: Path | None) -> ApiSettings:
    """Settings from the environment, and from ``env_file`` when one is given."""
    if env_file is None:
        return ApiSettings()
    return ApiSettings(_env_file=env_file)
