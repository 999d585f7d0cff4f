"""Settings of the rules service, from ``LANTIAN_RULES_*`` environment variables or a file.

Built once in :func:`rules.cli.main` and passed down; nothing reads the environment later.
``LANTIAN_RULES_RULE_FILES`` lists the rule files, separated by commas
(``rules/city.yaml,rules/permits.yaml``) or as a JSON list. InfluxDB, which window rules, energy
intensity and annual targets read, is ``LANTIAN_RULES_INFLUX__URL``, ``..._INFLUX__DATABASE``
and the other fields of :class:`~store.connection.InfluxConnection`, as in ingest.

The alert lifecycle's timers are ``LANTIAN_RULES_ALERTS__GROUP_WINDOW_S`` and the other fields of
:class:`~rules.alerts.AlertPolicy` (``null`` switches reminders or escalation off); the channel
workers' settings are ``LANTIAN_RULES_DELIVERY__...`` (:class:`~rules.delivery.DeliverySettings`).
The MQTT channel publishes to the service's own broker unless ``DELIVERY__MQTT__HOST`` is set
(:meth:`RulesSettings.delivery_settings`).
"""

import json
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rules.alerts import AlertPolicy
from rules.delivery import DeliverySettings
from store.connection import InfluxConnection


class RulesSettings(BaseSettings):
    """Where the rules engine reads from and records to, and how often it looks around."""

    model_config = SettingsConfigDict(
        env_prefix="LANTIAN_RULES_",
        env_file=None,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        env_parse_none_str="null",  # LANTIAN_RULES_ALERTS__REMIND_EVERY_S=null: no reminders
    )

    # The rule files in force; a service with none would judge nothing, so one is required.
    rule_files: Annotated[list[Path], NoDecode, Field(min_length=1)]

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    # A fixed client id with a persistent session: what arrives while the engine is down waits
    # in the broker. With partitions, each worker's id gets ``-<partition>`` appended.
    mqtt_client_id: str = "lantian-rules"
    mqtt_session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    # Messages are acknowledged once their results are recorded; this bounds those in flight.
    mqtt_receive_maximum: int = Field(default=1000, ge=1, le=65535)

    # Stream state is per series, so N workers split the gateways between them, never the
    # messages of one gateway: worker ``partition`` of ``partitions`` takes the gateways whose
    # id hashes (CRC-32) to it, subscribing to their topics one by one.
    partitions: int = Field(default=1, ge=1, le=1024)
    partition: int = Field(default=0, ge=0)

    # One process runs both kinds of rules unless told ``only`` one (``lantian-rules run
    # --only``): ``stream`` — the stream rules, their alerts and the channel workers, which
    # deliver every notice; ``windows`` — the rules over stored data and the alert timers,
    # whose own MQTT session (client id ``<id>-windows``, not kept while it is down) only
    # notes late readings.
    # Running one process of each keeps a window run's work off the stream's interpreter
    # (docs/rules.md, "Running the window rules apart").
    only: Literal["stream", "windows"] | None = None

    sql_url: str = "sqlite:///var/lantian.db"
    registry_refresh_s: float = Field(default=10.0, gt=0)

    reload_interval_s: float = Field(default=5.0, gt=0)  # rule files checked for edits
    tick_interval_s: float = Field(default=5.0, gt=0)  # silences and offline holds checked
    batch_max_messages: int = Field(default=500, ge=1)
    # 0.05 s, not ingest's 0.2: an alert is due within 500 ms of its reading, and closing the
    # batch sooner costs no more CPU at 10,000 readings/s (docs/benchmarks.md, bench.rules).
    batch_max_delay_s: float = Field(default=0.05, gt=0)
    # At start, resolved results this recent mark their readings as seen, so a redelivery of
    # messages whose results were recorded just before a crash opens no episode again.
    restore_horizon_s: float = Field(default=86400.0, ge=0)

    influx: InfluxConnection = InfluxConnection()
    # Window rules, energy intensity and annual targets run on a thread of their own
    # (rules.periodic), every ``window_interval_s``. A clock hour or day is evaluated once its
    # end is ``window_settle_s`` past (the last minute aggregates are on their way); at start,
    # every window that closed in the last ``window_lookback_h`` hours; with
    # ``window_resweep_s``, the whole lookback again that often (late data no one noted).
    window_interval_s: float = Field(default=60.0, gt=0)
    window_settle_s: float = Field(default=300.0, ge=0)
    window_lookback_h: float = Field(default=48.0, ge=0)
    window_resweep_s: float | None = Field(default=None, gt=0)
    # Energy intensity evaluates every closed day and month of the last 35 days again on each
    # run (late meter data, corrected output): summing weeks of meter deltas is heavier than a
    # window, so it runs less often. Annual targets run once per local day, at start, and when
    # the rule files change.
    energy_interval_s: float = Field(default=600.0, gt=0)

    # Rule results become alerts (rules.alerts, docs/alerts.md): every recorded batch is handed
    # to the alert book; its timers (group windows, escalation, reminders, resolved notices)
    # run every ``alerts_tick_s`` on the window thread, in partition 0.
    alerts: AlertPolicy = AlertPolicy()
    alerts_tick_s: float = Field(default=10.0, gt=0)
    # The channel workers taking the outbox's notices to MQTT, webhooks and e-mail.
    delivery: DeliverySettings = DeliverySettings()

    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=9102, ge=0, le=65535)

    @field_validator("rule_files", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]

    @model_validator(mode="after")
    def _partition_in_range(self) -> Self:
        if self.partition >= self.partitions:
            raise ValueError(f"partition must be below partitions ({self.partitions})")
        return self

    @property
    def client_id(self) -> str:
        """The MQTT client id of this worker."""
        client_id = self.mqtt_client_id
        if self.partitions > 1:
            client_id = f"{client_id}-{self.partition}"
        return f"{client_id}-windows" if self.only == "windows" else client_id

    def delivery_settings(self) -> DeliverySettings:
        """``delivery``, its MQTT channel on the service's own broker unless told otherwise.

        Of ``delivery.mqtt``, a ``host``, ``port`` or ``username`` (with its password) not given
        is the service's ``mqtt_host``, ``mqtt_port``, ``mqtt_username`` (and password).
        """
        mqtt = self.delivery.mqtt
        given = mqtt.model_fields_set
        update: dict[str, object] = {}
        if "host" not in given:
            update["host"] = self.mqtt_host
        if "port" not in given:
            update["port"] = self.mqtt_port
        if "username" not in given and "password" not in given:
            update["username"] = self.mqtt_username
            update["password"] = self.mqtt_password
        return self.delivery.model_copy(update={"mqtt": mqtt.model_copy(update=update)})


def settings_from(env_file: Path | None) -> RulesSettings:
    """Settings from the environment, and from ``env_file`` when one is given."""
    if env_file is None:
        return RulesSettings()
    return RulesSettings(_env_file=env_file)
