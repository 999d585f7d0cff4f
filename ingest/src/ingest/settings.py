"""Settings of the ingest service, from ``LANTIAN_INGEST_*`` environment variables or a file.

Built once in :func:`ingest.cli.main` and passed down; nothing reads the environment later.
"""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.connection import InfluxConnection


class IngestSettings(BaseSettings):
    """Where ingest reads from and writes to, and how it batches."""

    model_config = SettingsConfigDict(
        env_prefix="LANTIAN_INGEST_",
        env_file=None,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    # A fixed client id with a persistent session: messages that arrive while ingest is down wait
    # in the broker for this session instead of being dropped.
    mqtt_client_id: str = "lantian-ingest"
    mqtt_session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    # MQTT 5 receive maximum: how many unacknowledged messages the broker may send at once. Ingest
    # acknowledges a message only once InfluxDB has it, so this bounds the work in flight.
    mqtt_receive_maximum: int = Field(default=1000, ge=1, le=65535)
    # Empty: each worker takes every message. Set it when running N workers, so they share the
    # telemetry through an MQTT 5 shared subscription ($share/<group>/...).
    mqtt_shared_group: str | None = None

    influx: InfluxConnection = InfluxConnection()
    influx_raw_retention: str = "400d"  # a regulatory year of raw data, plus a month for reports

    sql_url: str = "sqlite:///var/lantian.db"
    registry_refresh_s: float = Field(default=10.0, gt=0)

    batch_max_readings: int = Field(default=5000, ge=1)
    batch_max_delay_s: float = Field(default=0.2, gt=0)

    # A reading stamped further ahead of ingest's clock than this is refused (a gateway whose
    # clock ran away); one older than ``late_after_s`` on arrival is accepted and counted late.
    clock_skew_s: float = Field(default=300.0, ge=0)
    late_after_s: float = Field(default=600.0, gt=0)

    # A batch seq still missing this long after a later one was stored is declared lost, so the
    # watermark (and the gateways' spools) can move on; a late copy is still written.
    gap_timeout_s: float = Field(default=600.0, gt=0)
    # At most one watermark per gateway this often: a replayed backlog needs no ack per batch.
    ack_min_interval_s: float = Field(default=0.5, ge=0)

    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=9101, ge=0, le=65535)

    # Rollups (docs/data-model.md, "Retention policies and rollups"), kept longer than raw data:
    # three years of minutes for comparing a season with the same one a year or two before,
    # hours for good, as the long-term record (about 9,000 points per series and year).
    influx_minute_retention: str = "1095d"
    influx_hour_retention: str = "INF"
    # How often minute and hour rollups are recomputed over readings written too late for the
    # continuous queries (a gateway's replayed backlog).
    rollup_backfill_period_s: float = Field(default=10.0, gt=0)

    # Allocations between two of Python's youngest-generation garbage collections (CPython's
    # default is 700). Ingest allocates a model per reading and holds up to a receive maximum of
    # batches in flight, so at the default the collector runs every few messages and keeps
    # re-scanning what is in flight: a quarter of a worker's CPU in the drain benchmark
    # (docs/benchmarks.md). Everything made at start-up is frozen out of the collector's scans.
    gc_gen0_threshold: int = Field(default=100_000, ge=700)


def settings_from(env_file: Path | None) -> IngestSettings:
    """Settings from the environment, and from ``env_file`` when one is given."""
    if env_file is None:
        return IngestSettings()
    return IngestSettings(_env_file=env_file)
