"""The one module that owns the rules service's MQTT client.

Telemetry and gateway status are consumed with QoS 1 and manual acknowledgement over an MQTT 5
persistent session (fixed client id, ``clean_start=False``, a long session expiry): the service
acknowledges a message only once the results it led to are recorded, so what the engine has not
accounted for stays with the broker across a crash. As in ingest, a delivery remembers which
connection brought it, and an acknowledgement never crosses to a later connection, whose packet
ids may name other messages.

With one partition the session subscribes to every gateway's telemetry and status. With N,
stream state being per gateway, worker *k* subscribes to the two topics of each gateway that
:func:`partition_of` puts in *k*, as the registry makes them known (:meth:`follow`).
"""

import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from rules.settings import RulesSettings
from telemetry import TopicKind, topics
from telemetry.topics import subscription

if TYPE_CHECKING:
    import queue

log = logging.getLogger(__name__)

_QOS1 = SubscribeOptions(qos=1)
_CHUNK = 100  # topics per SUBSCRIBE packet


def partition_of(gateway: str, partitions: int) -> int:
    """The partition a gateway's messages belong to: stable across processes and restarts."""
    return zlib.crc32(gateway.encode()) % partitions


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message as received, not yet acknowledged."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    connection: int  # which connection of the session it arrived on
    received_ms: int  # wall clock, epoch ms: the time of a status message that carries none


class RulesBroker:
    """Subscribes to gateway telemetry and status and hands deliveries to a queue."""

    def __init__(
        self,
        settings: RulesSettings,
        deliveries: "queue.Queue[Delivery]",
        *,
        on_subscribed: Callable[[bool], None] = lambda _subscribed: None,
    ) -> None:
        self._settings = settings
        self._deliveries = deliveries
        self._on_subscribed = on_subscribed
        self._connection = 0
        self._lock = threading.Lock()
        self._followed: set[str] = set()
        self._pending: set[int] = set()  # SUBSCRIBE packets not yet answered
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
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
    def partitioned(self) -> bool:
        """Whether this worker takes only some gateways."""
        return self._settings.partitions > 1

    def owns(self, gateway: str) -> bool:
        """Whether ``gateway`` belongs to this worker's partition."""
        settings = self._settings
        return partition_of(gateway, settings.partitions) == settings.partition

    def follow(self, gateways: Iterable[str]) -> None:
        """Subscribe to the topics of the gateways of this partition not yet followed."""
        if not self.partitioned:
            return
        with self._lock:
            new = sorted(g for g in gateways if self.owns(g) and g not in self._followed)
            self._followed.update(new)
        if new and self.connected.is_set():
            self._subscribe(_gateway_topics(new))

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

    def _filters(self) -> list[str]:
        if not self.partitioned:
            return [subscription(TopicKind.TELEMETRY), subscription(TopicKind.STATUS)]
        with self._lock:
            return _gateway_topics(sorted(self._followed))

    def _subscribe(self, filters: list[str]) -> None:
        for start in range(0, len(filters), _CHUNK):
            chunk = [(topic, _QOS1) for topic in filters[start : start + _CHUNK]]
            with self._lock:
                result, mid = self._client.subscribe(chunk)
                if result == mqtt.MQTT_ERR_SUCCESS and mid is not None:
                    self._pending.add(mid)

    def _on_connect(
        self,
        _client: mqtt.Client,
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
        filters = self._filters()
        log.info(
            "connected to %s:%s (session present: %s), subscribing to %d topic filter(s)",
            self._settings.mqtt_host,
            self._settings.mqtt_port,
            flags.session_present,
            len(filters),
        )
        self.connected.set()
        self._subscribe(filters)
        if not filters:  # a partition with no gateway yet: nothing to wait for
            self.subscribed.set()
            self._on_subscribed(True)  # noqa: FBT003 - a plain flag callback

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
        with self._lock:
            self._pending.clear()
        self._on_subscribed(False)  # noqa: FBT003 - a plain flag callback
        log.warning("disconnected from the broker: %s", reason_code)

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,  # noqa: ANN401 - paho's callback signature
        mid: int,
        reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        failed = [code for code in reason_codes if code.is_failure]
        if failed:
            log.error("broker refused %d subscription(s): %s", len(failed), failed[0])
            return
        with self._lock:
            self._pending.discard(mid)
            done = not self._pending
        if done:
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
                received_ms=int(time.time() * 1000),
            )
        )


def _gateway_topics(gateways: list[str]) -> list[str]:
    return [topic for g in gateways for topic in (topics.telemetry(g), topics.status(g))]
