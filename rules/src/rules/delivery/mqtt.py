"""The MQTT channel: notices published QoS 1 to ``lantian/v1/ent/{enterprise}/alerts``.

Each notice is the JSON of :mod:`rules.delivery.message`, published with MQTT 5 properties
that let a receiver route and deduplicate without parsing it: the user property
``idempotency-key`` (and ``kind``), ``ContentType: application/json`` and the UTF-8 payload
format indicator. A delivery counts as delivered only when the broker's PUBACK comes back
with a success code (``0x10`` "no matching subscribers" is one: the broker has the message,
and an enterprise's persistent session receives it when it connects); no PUBACK within
``publish_timeout_s``, no connection, or a refusal (``0x87`` not authorised) is a failure
to try again. The topic is the contact's target, checked to be an enterprise alerts topic:
the topic tree has none for the bureau, so bureau staff get webhooks and e-mail.

This client publishes only and starts clean every time: what has not been acknowledged is
still pending in the outbox, which is the durable record, not the MQTT session.
"""

import logging
import ssl
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from rules.delivery.errors import SendFailedError, SendRefusedError
from rules.delivery.message import CONTENT_TYPE, notice_body
from rules.delivery.settings import MqttDelivery
from store.sql import Channel, Delivery
from telemetry import TopicError, TopicKind, parse_topic

log = logging.getLogger(__name__)

IDEMPOTENCY_PROPERTY = "idempotency-key"
KIND_PROPERTY = "kind"


class MqttSender:
    """Publishes notices on the broker of :class:`MqttDelivery`; connects in the background."""

    channel = Channel.MQTT

    def __init__(self, settings: MqttDelivery) -> None:
        self._settings = settings
        self._connected = threading.Event()
        self._closing = False
        self._lock = threading.Lock()
        self._acks: dict[int, ReasonCode] = {}  # PUBACK reason code by packet id
        client_id = settings.client_id or f"lantian-delivery-{uuid.uuid4().hex[:12]}"
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if settings.username is not None:
            password = settings.password.get_secret_value() if settings.password else None
            self._client.username_pw_set(settings.username, password)
        if settings.tls:
            self._client.tls_set(
                ca_certs=str(settings.ca_file) if settings.ca_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish

    @property
    def connected(self) -> threading.Event:
        """Set while the broker has accepted the connection."""
        return self._connected

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself after a loss."""
        self._client.connect_async(
            self._settings.host, self._settings.port, keepalive=30, clean_start=True
        )
        self._client.loop_start()

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._closing = True
        self._client.disconnect()
        self._client.loop_stop()

    def send(self, delivery: Delivery) -> None:
        """Publish ``delivery``'s notice and wait for the broker's PUBACK.

        Raises:
            SendRefusedError: the target is not an enterprise's alerts topic.
            SendFailedError: not connected, no PUBACK in time, or the broker refused it.
        """
        topic = delivery.target
        try:
            refused = parse_topic(topic).kind is not TopicKind.ALERTS
        except TopicError:
            refused = True
        if refused:
            raise SendRefusedError(delivery.id, self.channel, topic, "not an alerts topic")

        def failed(reason: str) -> SendFailedError:
            return SendFailedError(delivery.id, self.channel, topic, reason)

        timeout_s = self._settings.publish_timeout_s
        address = f"{self._settings.host}:{self._settings.port}"
        # Published while disconnected, paho would keep the message and send it on its own
        # after a reconnect, beside the outbox's retry; so wait for the connection first.
        if not self._connected.wait(timeout_s):
            raise failed(f"not connected to the broker at {address}")
        info = self._client.publish(
            topic, notice_body(delivery), qos=1, properties=_properties(delivery)
        )
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError) as error:
            raise failed(f"publish failed: {error}") from error
        if not info.is_published():
            raise failed(f"no PUBACK from {address} within {timeout_s} s")
        with self._lock:
            reason = self._acks.pop(info.mid, None)
        if reason is not None and reason.is_failure:
            raise failed(f"the broker refused it: {reason}")

    def _on_connect(
        self,
        _client: mqtt.Client,
        _userdata: Any,  # noqa: ANN401 - paho's callback signature
        _flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("the broker refused the delivery connection: %s", reason_code)
            return
        log.info("delivering notices on %s:%s", self._settings.host, self._settings.port)
        self._connected.set()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,  # noqa: ANN401 - paho's callback signature
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if self._connected.is_set() and not self._closing:
            log.warning("delivery connection to the broker lost: %s", reason_code)
        self._connected.clear()

    def _on_publish(
        self,
        _client: mqtt.Client,
        _userdata: Any,  # noqa: ANN401 - paho's callback signature
        mid: int,
        reason_code: ReasonCode,
        _properties: Properties,
    ) -> None:
        # Called before the message counts as published, so send() finds the code.
        with self._lock:
            self._acks[mid] = reason_code


def _properties(delivery: Delivery) -> Properties:
    properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.UserProperty = [
        (IDEMPOTENCY_PROPERTY, delivery.idempotency_key),
        (KIND_PROPERTY, delivery.kind.value),
    ]
    properties.ContentType = CONTENT_TYPE
    properties.PayloadFormatIndicator = 1  # UTF-8 text
    return properties
