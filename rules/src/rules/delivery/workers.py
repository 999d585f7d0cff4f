"""The channel workers the rules service starts and stops: one thread per enabled channel.

::

    workers = DeliveryWorkers(engine, settings.delivery)
    workers.start()     # MQTT connects in the background; each worker polls the outbox
    ...
    workers.stop()      # finishes the sends in progress, hands back the rest, disconnects

Constructing it opens nothing. Each worker has its own sender — the MQTT client, the HTTP
connection pool, the SMTP connections — so a slow webhook receiver never holds up MQTT. Any
number of services may run workers on one SQL store: the outbox leases each delivery to one
claimer at a time.
"""

import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from rules.delivery.mail import SmtpSender
from rules.delivery.mqtt import MqttSender
from rules.delivery.settings import DeliverySettings, RetryPolicy
from rules.delivery.webhook import WebhookSender
from rules.delivery.worker import ChannelWorker, Sender
from store.sql import Channel, ContactNotFoundError, Contacts, Outbox

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DeliveryWorkers:
    """A :class:`ChannelWorker` per channel ``settings`` enables, started and stopped as one."""

    def __init__(
        self,
        engine: Engine,
        settings: DeliverySettings,
        *,
        clock: Callable[[], datetime] = _utc_now,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._clock = clock
        self._draw = draw
        self._contacts = Contacts(engine)
        self._workers: dict[Channel, ChannelWorker] = {}
        self._mqtt: MqttSender | None = None

    @property
    def channels(self) -> list[Channel]:
        """The channels that run, in the order they start."""
        settings = self._settings
        enabled = {
            Channel.MQTT: settings.mqtt.enabled,
            Channel.WEBHOOK: settings.webhook.enabled,
            Channel.EMAIL: settings.email.enabled,
        }
        return [channel for channel, on in enabled.items() if on]

    @property
    def mqtt(self) -> MqttSender | None:
        """The MQTT sender while the workers run (its ``connected`` event says when it may send)."""
        return self._mqtt

    def worker(self, channel: Channel) -> ChannelWorker:
        """The running worker of ``channel``.

        Raises:
            KeyError: the channel is not running.
        """
        return self._workers[channel]

    def start(self) -> None:
        """Start a worker thread for each enabled channel."""
        if self._workers:
            return
        for channel in self.channels:
            worker = self._worker(channel)
            self._workers[channel] = worker
            worker.start()
        log.info("delivering notices by %s", ", ".join(self.channels) or "no channel")

    def wake(self) -> None:
        """Have every running worker look for due deliveries now (notices were just written)."""
        for worker in list(self._workers.values()):
            worker.wake()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop every worker: each finishes its send in progress and closes its sender."""
        for worker in self._workers.values():
            worker.stop(timeout_s)
        self._workers.clear()
        self._mqtt = None

    def _worker(self, channel: Channel) -> ChannelWorker:
        settings = self._settings
        sender: Sender
        retry: RetryPolicy
        if channel is Channel.MQTT:
            self._mqtt = MqttSender(settings.mqtt)
            self._mqtt.start()
            sender, retry = self._mqtt, settings.mqtt.retry
        elif channel is Channel.WEBHOOK:
            sender = WebhookSender(settings.webhook, self._secret_of, clock=self._clock)
            retry = settings.webhook.retry
        else:
            sender, retry = SmtpSender(settings.email, clock=self._clock), settings.email.retry
        return ChannelWorker(
            Outbox(self._engine),
            sender,
            retry,
            lease_s=settings.lease_s,
            batch=settings.batch,
            poll_interval_s=settings.poll_interval_s,
            clock=self._clock,
            draw=self._draw,
        )

    def _secret_of(self, contact_id: int) -> str | None:
        try:
            return self._contacts.contact(contact_id).secret
        except ContactNotFoundError:
            return None
