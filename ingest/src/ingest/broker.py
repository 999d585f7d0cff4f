"""The one module that owns ingest's MQTT client.

Telemetry is consumed with manual acknowledgement: paho does not send PUBACK on receipt, the
writer calls :meth:`BrokerSession.ack` once InfluxDB has accepted the readings. Until then the
message stays the broker's responsibility, so a crash of ingest loses nothing: the persistent
session (fixed client id, ``clean_start=False``, a long session expiry) gets it redelivered.

A delivery remembers which connection it came on. After a reconnect the broker resends what was
not acknowledged, possibly under the same packet ids, so an ack for a delivery of an earlier
connection is never sent: it could acknowledge a different message of the new connection. The
resent copy is acknowledged then (written again only if its seq was not recorded as stored).

The session also publishes the delivery watermark (:meth:`BrokerSession.publish_ack`), retained
on each gateway's ack topic, for :mod:`ingest.progress`.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ingest.settings import IngestSettings
from telemetry import Ack, TopicKind, encode, topics
from telemetry.topics import shared_subscription, subscription

if TYPE_CHECKING:
    import queue

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One telemetry message as received, not yet acknowledged."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    connection: int  # which connection of the session it arrived on
    received_at: float  # time.monotonic()


class BrokerSession:
    """Subscribes to the telemetry of every gateway and hands deliveries to a queue."""

    def __init__(
        self,
        settings: IngestSettings,
        deliveries: "queue.Queue[Delivery]",
        *,
        on_subscribed: Callable[[bool], None] = lambda _subscribed: None,
    ) -> None:
        self._settings = settings
        self._on_subscribed = on_subscribed
        self._deliveries = deliveries
        self._connection = 0
        self._lock = threading.Lock()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=settings.mqtt_client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if settings.mqtt_username is not None:
            password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
            self._client.username_pw_set(settings.mqtt_username, password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    @property
    def filter(self) -> str:
        """The topic filter ingest subscribes with."""
        group = self._settings.mqtt_shared_group
        if group:
            return shared_subscription(group, TopicKind.TELEMETRY)
        return subscription(TopicKind.TELEMETRY)

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself after a loss."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self._settings.mqtt_session_expiry_s
        properties.ReceiveMaximum = self._settings.mqtt_receive_maximum
        self._client.connect_async(
            self._settings.mqtt_host,
            self._settings.mqtt_port,
            keepalive=30,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()

    def stop(self) -> None:
        """Disconnect; unacknowledged messages stay with the broker for the next start."""
        self._client.disconnect()
        self._client.loop_stop()

    def ack(self, delivery: Delivery) -> bool:
        """Acknowledge ``delivery`` if it came on the current connection; say whether it was."""
        with self._lock:
            if delivery.connection != self._connection or not self.connected.is_set():
                return False
            self._client.ack(delivery.mid, delivery.qos)
            return True

    def publish_ack(self, gateway: str, seq: int) -> bool:
        """Publish watermark ``seq`` of ``gateway``, retained, QoS 1; False when not connected.

        Retained, so a gateway that (re)connects learns the current watermark at once.
        """
        if not self.connected.is_set():
            return False
        payload = encode(Ack(gateway=gateway, seq=seq, ts=int(time.time() * 1000)))
        info = self._client.publish(topics.ack(gateway), payload, qos=1, retain=True)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,  # noqa: ANN401 - paho's callback signature
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        with self._lock:
            self._connection += 1
        log.info(
            "connected to %s:%s (session present: %s), subscribing to %s",
            self._settings.mqtt_host,
            self._settings.mqtt_port,
            flags.session_present,
            self.filter,
        )
        client.subscribe(self.filter, options=SubscribeOptions(qos=1))
        self.connected.set()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,  # noqa: ANN401 - paho's callback signature
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self.connected.clear()
        self.subscribed.clear()
        self._on_subscribed(False)  # noqa: FBT003 - a plain flag callback
        log.warning("disconnected from the broker: %s", reason_code)

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,  # noqa: ANN401 - paho's callback signature
        _mid: int,
        reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        failed = [code for code in reason_codes if code.is_failure]
        if failed:
            log.error("broker refused the subscription to %s: %s", self.filter, failed)
            return
        self.subscribed.set()
        self._on_subscribed(True)  # noqa: FBT003 - a plain flag callback

    def _on_message(
        self,
        _client: mqtt.Client,
        _userdata: Any,  # noqa: ANN401 - paho's callback signature
        message: mqtt.MQTTMessage,
    ) -> None:
        self._deliveries.put(
            Delivery(
                topic=message.topic,
                payload=bytes(message.payload),
                mid=message.mid,
                qos=message.qos,
                connection=self._connection,
                received_at=time.monotonic(),
            )
        )
