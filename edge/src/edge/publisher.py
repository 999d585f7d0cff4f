"""The agent's one MQTT client: status announcements and telemetry batches, over paho-mqtt 2.

- Last will: ``GatewayStatus(offline)``, retained, on ``telemetry.topics.status(gateway)``; the
  broker publishes it when the gateway vanishes without saying goodbye.
- Birth: ``GatewayStatus(online)``, retained, on every (re)connection.
- Telemetry: each :class:`TelemetryBatch` with QoS 1 on ``telemetry.topics.telemetry(gateway)``.
- Reconnection is automatic (1 s to 30 s back-off). Batches sent while disconnected wait in
  paho's memory and go out on reconnection; a durable disk spool acknowledged by the platform
  will take that role, behind the same :meth:`Publisher.send`.
- A clean :meth:`Publisher.close` waits for outstanding acknowledgements, publishes ``offline``
  itself (a clean disconnect suppresses the will) and disconnects.

paho calls ``on_publish`` while holding its own lock, so this module never calls into paho while
holding its own: delivery is tracked by message id, acknowledgements that overtake the
registration of their id are remembered until it happens.
"""

import logging
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge.config import MqttConfig
from edge.devices.base import Clock, wall_clock_ms
from telemetry import GatewayState, GatewayStatus, TelemetryBatch, encode, topics
from telemetry.payload import MIN_TS_MS

_log = logging.getLogger(__name__)
QOS = 1


@dataclass(frozen=True, slots=True)
class PublisherCounters:
    """Health of the broker connection since the agent started."""

    connected: bool
    connects: int
    disconnects: int
    batches_sent: int  # handed to the client
    batches_delivered: int  # acknowledged by the broker (PUBACK)
    undelivered: int  # messages (batches and status) still waiting for a PUBACK


class Publisher:
    """Owns the paho client of one gateway. The constructor does no I/O; :meth:`start` connects."""

    def __init__(
        self,
        gateway: str,
        config: MqttConfig,
        *,
        agent_version: str,
        clock: Clock = wall_clock_ms,
    ) -> None:
        self.gateway = gateway
        self.config = config
        self._agent_version = agent_version
        self._clock = clock
        self._telemetry_topic = topics.telemetry(gateway)
        self._status_topic = topics.status(gateway)
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=config.client_id or f"lantian-edge-{gateway}"
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        will = GatewayStatus(
            gateway=gateway, state=GatewayState.OFFLINE, agent_version=agent_version
        )
        self._client.will_set(self._status_topic, encode(will), qos=QOS, retain=True)
        if config.username is not None:
            password = config.password.get_secret_value() if config.password else None
            self._client.username_pw_set(config.username, password)
        self._lock = threading.Condition()
        self._undelivered: set[int] = set()
        self._early_acks: set[int] = set()
        self._batch_mids: set[int] = set()
        self._connected = False
        self._connects = self._disconnects = self._sent = self._delivered = 0

    def start(self) -> None:
        """Set up TLS if configured, then connect in paho's background thread (with retries)."""
        tls = self.config.tls
        if tls is not None:
            self._client.tls_set(
                ca_certs=str(tls.ca) if tls.ca else None,
                certfile=str(tls.cert) if tls.cert else None,
                keyfile=str(tls.key) if tls.key else None,
            )
        self._client.connect_async(self.config.host, self.config.port, self.config.keepalive)
        self._client.loop_start()

    def send(self, batch: TelemetryBatch) -> None:
        """Publish ``batch`` with QoS 1; it is retried across reconnections until acknowledged."""
        mid = self._publish(self._telemetry_topic, encode(batch), retain=False, batch=True)
        with self._lock:
            self._sent += 1
        _log.debug("batch seq=%d is message %d", batch.seq, mid)

    def wait_delivered(self, timeout: float) -> bool:
        """Wait until every message sent so far is acknowledged, while connected.

        Returns:
            True when nothing is left undelivered; False after ``timeout`` seconds, or at once
            when there is no connection to deliver over.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._undelivered and self._connected:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            return not self._undelivered

    def counters(self) -> PublisherCounters:
        """A snapshot of the connection counters."""
        with self._lock:
            return PublisherCounters(
                connected=self._connected,
                connects=self._connects,
                disconnects=self._disconnects,
                batches_sent=self._sent,
                batches_delivered=self._delivered,
                undelivered=len(self._undelivered),
            )

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is outstanding, announce ``offline``, disconnect and stop the thread."""
        delivered = self.wait_delivered(timeout)
        if not delivered:
            _log.warning("closing with %d message(s) undelivered", self.counters().undelivered)
        if self.counters().connected:
            self._publish(self._status_topic, self._status(GatewayState.OFFLINE), retain=True)
            self.wait_delivered(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    def _status(self, state: GatewayState) -> bytes:
        now = self._clock()
        ts = now if now >= MIN_TS_MS else None  # an unset clock is left out, not sent wrong
        status = GatewayStatus(
            gateway=self.gateway, state=state, ts=ts, agent_version=self._agent_version
        )
        return encode(status)

    def _publish(self, topic: str, payload: bytes, *, retain: bool, batch: bool = False) -> int:
        info = self._client.publish(topic, payload, qos=QOS, retain=retain)
        with self._lock:
            if info.mid in self._early_acks:
                self._early_acks.discard(info.mid)
                self._delivered += int(batch)
                self._lock.notify_all()
            else:
                self._undelivered.add(info.mid)
                if batch:
                    self._batch_mids.add(info.mid)
        return info.mid

    def _on_connect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: object,
        reason: ReasonCode,
        _props: object,
    ) -> None:
        if reason.is_failure:
            _log.warning("broker %s:%d refused: %s", self.config.host, self.config.port, reason)
            return
        with self._lock:
            self._connected = True
            self._connects += 1
        _log.info("connected to %s:%d", self.config.host, self.config.port)
        self._publish(self._status_topic, self._status(GatewayState.ONLINE), retain=True)

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: object,
        reason: ReasonCode,
        _props: object,
    ) -> None:
        with self._lock:
            was_connected, self._connected = self._connected, False
            self._disconnects += int(was_connected)
            self._lock.notify_all()
        if was_connected:
            _log.warning("disconnected from broker: %s", reason)

    def _on_publish(
        self, _client: mqtt.Client, _userdata: object, mid: int, _reason: ReasonCode, _props: object
    ) -> None:
        with self._lock:
            if mid in self._undelivered:
                self._undelivered.discard(mid)
                if mid in self._batch_mids:
                    self._batch_mids.discard(mid)
                    self._delivered += 1
            else:
                self._early_acks.add(mid)
            self._lock.notify_all()
