"""The gateway configuration: one YAML file per gateway, validated strictly.

Example (``edge/examples/site.yaml`` is a complete one)::

    gateway: gw-liaocheng-0001
    mqtt: {host: broker.example.org, port: 8883, tls: {ca: ca.pem}}
    publish: {interval: 5, max_readings: 1000}
    aggregation: {interval: 60, min_coverage: 0.75}
    state_dir: /var/lib/lantian-edge
    health_interval: 60
    devices:
      - {type: pms5003, id: pm-1, port: /dev/ttyAMA0, mode: passive, read_interval: 10}

Validation is strict: ``"false"`` is not a boolean and ``"1883"`` is not a port number; unknown
keys are errors (they are usually typos). Relative paths are relative to the file's directory.
:func:`load_config` reports every problem at once, each with its line and field path.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Self

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from edge.config.base import FilePath, Identifier, Seconds, Section, relative_to_file
from edge.config.devices import DeviceConfig
from telemetry.payload import MAX_READINGS_PER_BATCH
from telemetry.yaml_source import YamlSyntaxError, parse


class TlsConfig(Section):
    """TLS towards the broker; without ``ca`` the system's trusted authorities are used."""

    ca: FilePath | None = None
    cert: FilePath | None = None  # client certificate, for brokers that authenticate by it
    key: FilePath | None = None

    _relative = field_validator("ca", "cert", "key")(relative_to_file)

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> Self:
        if (self.cert is None) != (self.key is None):
            raise ValueError("cert and key must be given together")
        return self


class MqttConfig(Section):
    """The broker and how to log in to it."""

    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65_535)] = 1883
    username: str | None = None
    password: SecretStr | None = None
    client_id: Identifier | None = None  # default: lantian-edge-{gateway}
    keepalive: Annotated[int, Field(ge=5, le=3600)] = 30
    tls: TlsConfig | None = None


class PublishConfig(Section):
    """When the agent publishes a batch: every ``interval`` seconds or at ``max_readings``."""

    interval: Seconds = 5.0
    max_readings: Annotated[int, Field(ge=1, le=MAX_READINGS_PER_BATCH)] = 1000


class SpoolConfig(Section):
    """The disk spool and the delivery protocol's knobs (see :mod:`edge.spool`, ``publisher``).

    ``path``: the SQLite file (default ``state_dir/spool.sqlite3``). ``quota_mb``: the most it
    may hold before the oldest readings are dropped (raw samples first). ``ack_timeout``:
    seconds before a published batch without the platform's acknowledgement is published
    again. ``max_in_flight``: batches published and unacknowledged at once. ``replay_rate``:
    batches per second at most, which paces the replay of a backlog after an outage.
    """

    path: FilePath | None = None
    quota_mb: Annotated[float, Field(gt=0, le=1_000_000)] = 256.0
    ack_timeout: Seconds = 30.0
    max_in_flight: Annotated[int, Field(ge=1, le=10_000)] = 50
    # 50 batches of up to 1,000 readings: a backlog replays at up to 50,000 readings/s, while
    # max_in_flight and the platform's acknowledgements hold it to what ingest can store.
    replay_rate: Annotated[float, Field(gt=0, le=10_000)] = 50.0

    _relative = field_validator("path")(relative_to_file)

    @property
    def quota_bytes(self) -> int:
        """The quota in bytes (MB = 10**6 bytes)."""
        return round(self.quota_mb * 1_000_000)


MS_PER_DAY = 86_400_000


class AggregationConfig(Section):
    """How samples become interval aggregates (see :mod:`edge.aggregation`).

    ``interval``: seconds per aggregate; intervals are aligned to the UTC clock, so it must
    divide a day into whole milliseconds (60: one aggregate per clock minute).
    ``min_coverage``: the fraction of the expected samples an aggregate needs to be ``valid``;
    0.75 is GB 3095-2012's rule for an hourly mean (at least 45 minutes of data per hour,
    Table 4). ``grace``: seconds after an interval's end before it is closed without a sample
    of the next interval, so that a slow poll's last sample still lands in its interval.
    """

    interval: Seconds = 60.0
    min_coverage: Annotated[float, Field(gt=0, le=1)] = 0.75
    grace: Annotated[float, Field(ge=0, le=3600)] = 5.0

    @field_validator("interval")
    @classmethod
    def _divides_a_day(cls, interval: float) -> float:
        ms = round(interval * 1000)
        if abs(ms - interval * 1000) > 1e-6 or MS_PER_DAY % ms:
            raise ValueError(
                "must divide a day into whole milliseconds (e.g. 10, 60, 300, 900, 3600), so"
                " that intervals line up with the clock"
            )
        return interval

    @property
    def interval_ms(self) -> int:
        """The interval in milliseconds."""
        return round(self.interval * 1000)


class GatewayConfig(Section):
    """The whole file."""

    gateway: Identifier
    mqtt: MqttConfig
    publish: PublishConfig = PublishConfig()
    aggregation: AggregationConfig = AggregationConfig()
    state_dir: FilePath  # the agent's own state: the spool, unless spool.path says otherwise
    spool: SpoolConfig = SpoolConfig()
    health_interval: Seconds = 60.0  # seconds between health reports (status topic, health.json)
    devices: Annotated[list[DeviceConfig], Field(min_length=1)]

    _relative = field_validator("state_dir")(relative_to_file)

    @field_validator("devices")
    @classmethod
    def _one_owner_per_port(cls, devices: list[DeviceConfig]) -> list[DeviceConfig]:
        ids = [d.id for d in devices]
        if duplicate := next((i for i in ids if ids.count(i) > 1), None):
            raise ValueError(f"device id {duplicate!r} is used twice")
        ports = [d.endpoint for d in devices]
        if shared := next((p for p in ports if ports.count(p) > 1), None):
            raise ValueError(f"port {shared!r} is used by two devices")
        return devices

    @property
    def spool_path(self) -> Path:
        """Where the spool's SQLite file is."""
        return self.spool.path or self.state_dir / "spool.sqlite3"


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a configuration file."""

    line: int | None
    field: str  # e.g. ``devices[0].mode``; ``<document>`` for the file as a whole
    message: str


class ConfigError(Exception):
    """A configuration file that cannot be used; ``problems`` lists every reason."""

    def __init__(self, path: Path, problems: Sequence[ConfigProblem]) -> None:
        self.path = path
        self.problems = tuple(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One ``file:line: field: message`` line per problem."""
        return [
            f"{self.path}:{p.line if p.line is not None else '?'}: {p.field}: {p.message}"
            for p in self.problems
        ]


def load_config(path: Path) -> GatewayConfig:
    """Read and validate a gateway configuration file.

    Raises:
        ConfigError: the file is unreadable, not YAML, or not a valid configuration.
    """
    try:
        document = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [ConfigProblem(None, "<document>", str(exc))]) from None
    except YamlSyntaxError as exc:
        raise ConfigError(path, [ConfigProblem(exc.line, "<document>", exc.message)]) from None
    try:
        return GatewayConfig.model_validate(
            document.data, context={"base_dir": path.resolve().parent}
        )
    except ValidationError as exc:
        problems: list[ConfigProblem] = []
        for err in exc.errors(include_url=False):
            loc = list(err["loc"])
            if err["type"].startswith("union_tag"):
                loc.append("type")  # point at the offending tag, not the whole device
            where = document.locate(loc)
            # YAML has lists, not tuples
            message = "Input should be a list" if err["type"] == "tuple_type" else err["msg"]
            if err["type"] not in {"missing", "extra_forbidden"} and _is_scalar(err["input"]):
                message += f" (got {err['input']!r})"
            problems.append(ConfigProblem(where.line, where.field, message))
        problems.sort(key=lambda p: p.line or 0)
        raise ConfigError(path, problems) from None


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool) or value is None
