"""Delivery: the notices the alert store wrote to the outbox, sent over MQTT, webhooks and e-mail.

Each channel has a :class:`ChannelWorker` that claims its due deliveries from
:class:`store.sql.Outbox`, hands each to the channel's sender and records what came of it:
delivered, tried again after a backoff (:class:`RetryPolicy`), or dead — refused for good, or
out of attempts. :class:`DeliveryWorkers` runs one per enabled channel, with
:class:`DeliverySettings`::

    workers = DeliveryWorkers(engine, DeliverySettings(email=EmailDelivery(
        enabled=True, host="smtp.liaocheng.example", sender="lantian@hbj.liaocheng.example")))
    workers.start()
    ...
    workers.stop()

==================  ============================================================================
module              what it is
==================  ============================================================================
``settings``        :class:`DeliverySettings`, one model per channel, :class:`RetryPolicy`
``worker``          :class:`ChannelWorker`: claim, send, mark; the :class:`Sender` port
``errors``          :class:`SendFailedError` (try again) and :class:`SendRefusedError` (dead)
``message``         the JSON of a notice on MQTT and webhooks, idempotency key included
``mqtt``            :class:`MqttSender`: QoS 1 to ``lantian/v1/ent/{enterprise}/alerts``
``webhook``         :class:`WebhookSender`: signed POSTs (HMAC-SHA256 of timestamp and body)
``mail``            :class:`SmtpSender`: one message per delivery through an SMTP relay
``mail_text``       the e-mail's subject and body in Chinese and English, its ``Message-ID``
``workers``         :class:`DeliveryWorkers`: the threads the service starts and stops
==================  ============================================================================

Delivery is at least once: a notice is marked delivered only after its receiver has it, and
every attempt carries the notice's idempotency key, by which receivers drop the copies a
retry or a crash brings. docs/alerts.md, "Delivery", says what each channel sends.
"""

from rules.delivery.errors import SendError, SendFailedError, SendRefusedError
from rules.delivery.mail import SmtpSender
from rules.delivery.mail_text import compose, message_id
from rules.delivery.message import notice_body
from rules.delivery.mqtt import IDEMPOTENCY_PROPERTY, MqttSender
from rules.delivery.settings import (
    DeliverySettings,
    EmailDelivery,
    MqttDelivery,
    RetryPolicy,
    WebhookDelivery,
)
from rules.delivery.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookSender,
    signature,
)
from rules.delivery.worker import ChannelWorker, Round, Sender
from rules.delivery.workers import DeliveryWorkers

__all__ = [
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_PROPERTY",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ChannelWorker",
    "DeliverySettings",
    "DeliveryWorkers",
    "EmailDelivery",
    "MqttDelivery",
    "MqttSender",
    "RetryPolicy",
    "Round",
    "SendError",
    "SendFailedError",
    "SendRefusedError",
    "Sender",
    "SmtpSender",
    "WebhookDelivery",
    "WebhookSender",
    "compose",
    "message_id",
    "notice_body",
    "signature",
]
