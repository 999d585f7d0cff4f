"""Settings of the API service, from ``LANTIAN_API_*`` environment variables or a file.

Built once in :func:`api.cli.main` and handed to :func:`api.app.create_app`.
"""

from pathlib import Path

from pydantic import Field
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


def settings_from(env_file: Path | None) -> ApiSettings:
    """Settings from the environment, and from ``env_file`` when one is given."""
    if env_file is None:
        return ApiSettings()
    return ApiSettings(_env_file=env_file)
