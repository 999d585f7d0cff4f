"""Delivery settings: how often the channel workers look, how they retry, where they send.

:class:`DeliverySettings` is a plain pydantic model meant to be nested in the service's
settings, so each field has an environment name under the service's prefix::

    LANTIAN_RULES_DELIVERY__LEASE_S=120
    LANTIAN_RULES_DELIVERY__WEBHOOK__RETRY__MAX_ATTEMPTS=8
    LANTIAN_RULES_DELIVERY__EMAIL__HOST=smtp.liaocheng.example
    LANTIAN_RULES_DELIVERY__MQTT__PASSWORD=...

A channel runs only when it is ``enabled``; e-mail is off until an SMTP host is set. Each
channel has its own :class:`RetryPolicy`: the backoff and the number of attempts before a
delivery is ``dead`` are the channel's business (docs/alerts.md, "Delivery").
"""

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

_MODEL = ConfigDict(extra="forbid", frozen=True)


class RetryPolicy(BaseModel):
    """Exponential backoff with jitter, and when to give up.

    Attempt *n* that fails is tried again ``backoff_base_s * backoff_factor ** (n - 1)``
    seconds later, at most ``backoff_max_s``, less a random part of up to ``jitter`` of it, so
    deliveries that failed together (a receiver down) do not all come back at one instant.
    The failure of attempt ``max_attempts`` makes the delivery dead.
    """

    model_config = _MODEL

    max_attempts: int = Field(default=10, ge=1)
    backoff_base_s: float = Field(default=10.0, gt=0)
    backoff_max_s: float = Field(default=3600.0, gt=0)
    backoff_factor: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.2, ge=0, le=1)

    @model_validator(mode="after")
    def _base_within_max(self) -> Self:
        if self.backoff_base_s > self.backoff_max_s:
            raise ValueError("backoff_base_s must not exceed backoff_max_s")
        return self

    def delay_s(self, attempt: int, draw: float = 0.0) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1 = the first); ``draw`` in [0, 1).

        ``draw`` is the random part: 0 gives the full backoff, so tests with ``jitter=0`` or a
        fixed draw see exact numbers.
        """
        try:
            full = self.backoff_base_s * self.backoff_factor ** max(attempt - 1, 0)
        except OverflowError:  # a factor of 10 at attempt 400 is no float
            full = self.backoff_max_s
        full = min(full, self.backoff_max_s)
        return full * (1.0 - self.jitter * draw)

    def next_attempt(
        self,
        attempt: int,
        *,
        now: datetime,
        draw: float | None = None,
        at_least_s: float = 0.0,
    ) -> datetime | None:
        """When to try again after failed attempt ``attempt``; ``None``: give up (dead).

        ``at_least_s`` is a wait the receiver asked for (HTTP ``Retry-After``), honoured up to
        ``backoff_max_s``. Without ``draw`` the jitter is drawn here.
        """
        if attempt >= self.max_attempts:
            return None
        drawn = random.random() if draw is None else draw  # noqa: S311 - spreads retries, no secret
        wait = max(self.delay_s(attempt, drawn), min(at_least_s, self.backoff_max_s))
        return now + timedelta(seconds=wait)


class MqttDelivery(BaseModel):
    """The MQTT channel: the broker that notices are published to, QoS 1.

    Notices go to the enterprises' ``lantian/v1/ent/{enterprise}/alerts`` topics.
    """

    model_config = _MODEL

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    # A fresh session each start (nothing is left in flight that the outbox does not hold),
    # so the id only needs to be unique: ``None`` takes ``lantian-delivery-<random>``.
    client_id: str | None = None
    tls: bool = False
    ca_file: Path | None = None  # with ``tls``; ``None``: the system's trusted authorities
    publish_timeout_s: float = Field(default=10.0, gt=0)  # waiting for the broker's PUBACK
    retry: RetryPolicy = RetryPolicy()

    @model_validator(mode="after")
    def _password_needs_username(self) -> Self:
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        return self


class WebhookDelivery(BaseModel):
    """The webhook channel: signed POSTs to the contacts' URLs."""

    model_config = _MODEL

    enabled: bool = True
    timeout_s: float = Field(default=10.0, gt=0)  # connect, write and read, each
    retry: RetryPolicy = RetryPolicy()


class EmailDelivery(BaseModel):
    """The e-mail channel: one message per delivery through an SMTP relay.

    ``sender`` is the ``From`` address; ``Message-ID``s are made under its domain unless
    ``message_id_domain`` names another.
    """

    model_config = _MODEL

    enabled: bool = False
    host: str | None = None
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = "lantian-alerts@localhost"
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float = Field(default=20.0, gt=0)
    message_id_domain: str | None = None
    retry: RetryPolicy = RetryPolicy(max_attempts=12)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.enabled and self.host is None:
            raise ValueError("e-mail delivery needs an SMTP host")
        if (self.username is None) != (self.password is None):
            raise ValueError("an SMTP username needs a password, and a password a username")
        if "@" not in self.sender:
            raise ValueError(f"sender must be an e-mail address, not {self.sender!r}")
        return self

    @property
    def domain(self) -> str:
        """The domain ``Message-ID``s are made under."""
        return self.message_id_domain or self.sender.rpartition("@")[2].strip(" >")


class DeliverySettings(BaseModel):
    """How the channel workers claim from the outbox, and each channel's settings.

    A worker claims up to ``batch`` due deliveries at a time, each leased for ``lease_s``:
    another worker (or this one, after a crash) takes them again only when the lease ends. A
    worker that found nothing due looks again after ``poll_interval_s``.
    """

    model_config = _MODEL

    poll_interval_s: float = Field(default=1.0, gt=0)
    lease_s: float = Field(default=300.0, gt=0)
    batch: int = Field(default=10, ge=1, le=1000)
    mqtt: MqttDelivery = MqttDelivery()
    webhook: WebhookDelivery = WebhookDelivery()
    email: EmailDelivery = EmailDelivery()

    @model_validator(mode="after")
    def _lease_outlasts_sending(self) -> Self:
        # A delivery whose lease ends before it is sent is left for the next claim (another
        # worker may hold it by then), so one batch must fit in a lease even when every
        # attempt takes its full timeout.
        # MQTT waits its timeout for the connection, then for the PUBACK; an HTTP request
        # may wait its timeout to connect, to write and to read.
        timeouts = [
            (self.mqtt.enabled, self.mqtt.publish_timeout_s * 2),
            (self.webhook.enabled, self.webhook.timeout_s * 3),
            (self.email.enabled, self.email.timeout_s),
        ]
        slowest = max((timeout for enabled, timeout in timeouts if enabled), default=0.0)
        if self.lease_s < self.batch * slowest:
            raise ValueError(
                f"lease_s ({self.lease_s}) must cover a batch of {self.batch} sent at the "
                f"slowest channel's timeout ({slowest} s each)"
            )
        return self
