"""The agent's one MQTT client: status announcements and telemetry batches, over paho-mqtt 2.

- Last will: ``GatewayStatus(offline)``, retained, on ``telemetry.topics.status(gateway)``; the
  broker publishes it when the gateway vanishes without saying goodbye.
- Birth: ``GatewayStatus(online)``, retained, on every (re)connection; once the agent has
  reported its health (:meth:`Publisher.publish_health`), the last health report instead.
- Health: ``GatewayStatus(online)`` with the gateway's health, retained, when the agent asks
  and the broker is connected (a report queued during an outage would be stale on arrival).
- Telemetry: the batches of the :class:`~edge.spool.Spool`, with QoS 1 on
  ``telemetry.topics.telemetry(gateway)``, by the publisher's sender thread (delivery protocol):

  - on every connection it first subscribes to ``telemetry.topics.ack(gateway)`` and publishes
    nothing until the broker confirmed the subscription (the retained watermark then arrives);
  - an :class:`~telemetry.Ack` deletes every spooled batch with seq <= its watermark; a PUBACK
    deletes nothing (the broker having a batch is not the platform having stored it);
  - batches go out in seq order, at most ``max_in_flight`` published and not acknowledged,
    at most ``replay_rate`` per second (an outage's backlog must not flood the platform);
  - a batch not acknowledged ``ack_timeout`` seconds after its publication is published again
    (same seq; the platform deduplicates).

  Across a reconnection paho itself resends its unconfirmed messages; the sender keeps its
  place and continues after them, so the platform sees first arrivals in seq order.
- Reconnection is automatic (1 s to 30 s back-off). A connection attempt that fails (refused,
  unreachable, a TLS certificate that does not verify) is counted and logged with its reason.
- A clean :meth:`Publisher.close` publishes what is spooled (within the in-flight bound), waits
  for the broker's PUBACKs, publishes ``offline`` itself (a clean disconnect suppresses the
  will) and disconnects. Unacknowledged batches stay in the spool for the next run.

paho calls ``on_publish`` while holding its own lock, so this module never calls into paho while
holding its own: delivery is tracked by message id, acknowledgements that overtake the
registration of their id are remembered until it happens.
"""

import logging
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from edge.config import MqttConfig, SpoolConfig
from edge.devices.base import Clock, wall_clock_ms
from edge.spool import DeliveryWindow, Spool, SpoolCounters
from telemetry import GatewayState, GatewayStatus, PayloadError, decode_ack, encode, topics
from telemetry.payload import MIN_TS_MS

_log = logging.getLogger(__name__)
QOS = 1
_IDLE_S = 0.05  # the sender's longest sleep when nothing wakes it (resend and rate checks)


@dataclass(frozen=True, slots=True)
class PublisherCounters:
    """Health of the broker connection and of delivery since the agent started."""

    connected: bool
    connects: int
    disconnects: int
    batches_sent: int  # handed to the client, resends included
    batches_delivered: int  # acknowledged by the broker (PUBACK)
    undelivered: int  # messages (batches and status) still waiting for a PUBACK
    spool_depth: int  # batches in the spool, not yet acknowledged
    oldest_unacked_s: float | None  # age of the oldest of them (by the agent's clock)
    in_flight: int  # batches published and not yet covered by the platform's watermark
    resent: int  # publications after ``ack_timeout``
    acknowledged: int  # batches deleted from the spool by a watermark
    watermark: int | None  # the platform's last watermark (None: none received yet)
    bad_acks: int  # ack messages that could not be decoded or named another gateway
    dropped_raw: int  # readings the spool's quota dropped, by kind, and whole batches
    dropped_aggregate: int
    dropped_batches: int
    connect_failures: int = 0  # connection attempts that failed before MQTT (TCP, TLS)
    last_error: str | None = None  # why the last connection attempt failed or was refused


class Publisher:
    """Owns the paho client of one gateway. The constructor does no I/O; :meth:`start` connects."""

    def __init__(  # noqa: PLR0913 - the collaborators and knobs, keyword-only
        self,
        gateway: str,
        config: MqttConfig,
        spool: Spool,
        *,
        delivery: SpoolConfig | None = None,
        agent_version: str,
        clock: Clock = wall_clock_ms,
    ) -> None:
        self.gateway = gateway
        self.config = config
        self.spool = spool
        self.delivery = delivery or SpoolConfig()
        self._agent_version = agent_version
        self._clock = clock
        self._telemetry_topic = topics.telemetry(gateway)
        self._status_topic = topics.status(gateway)
        self._ack_topic = topics.ack(gateway)
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=config.client_id or f"lantian-edge-{gateway}"
        )
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
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
        self._subscribe_mid: int | None = None
        self._ready = False  # connected and subscribed to the ack topic
        self._connects = self._disconnects = self._sent = self._delivered = 0
        self._window = DeliveryWindow(
            max_in_flight=self.delivery.max_in_flight,
            ack_timeout_s=self.delivery.ack_timeout,
            rate_per_s=self.delivery.replay_rate,
            now_s=time.monotonic(),
        )
        self._resent = self._acknowledged = self._bad_acks = 0
        self._connect_failures = 0
        self._last_error: str | None = None
        self._health: bytes | None = None  # the last health report, the birth message after it
        self._stopping = False
        self._sender = threading.Thread(target=self._send_loop, name="publisher", daemon=True)

    def start(self) -> None:
        """Set up TLS if configured, connect in paho's thread (with retries), start sending."""
        tls = self.config.tls
        if tls is not None:
            self._client.tls_set(
                ca_certs=str(tls.ca) if tls.ca else None,
                certfile=str(tls.cert) if tls.cert else None,
                keyfile=str(tls.key) if tls.key else None,
            )
        self._client.connect_async(self.config.host, self.config.port, self.config.keepalive)
        self._client.loop_start()
        self._sender.start()

    def publish_health(self, status: GatewayStatus) -> bool:
        """Publish a health report (retained) if connected; False when it could not go out."""
        payload = encode(status)
        with self._lock:
            self._health = payload
            connected = self._connected
        if connected:
            self._publish(self._status_topic, payload, retain=True)
        return connected

    def notify(self) -> None:
        """Tell the sender a batch was spooled, so that it goes out without waiting."""
        with self._lock:
            self._lock.notify_all()

    def wait_delivered(self, timeout: float) -> bool:
        """Wait until every message published so far has its PUBACK, while connected.

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

    def wait_published(self, timeout: float) -> bool:
        """Wait until every spooled batch was published once, or the in-flight bound is full."""
        deadline = time.monotonic() + timeout
        last = self.spool.last_seq()
        with self._lock:
            while self._connected and self._window.cursor < last and self._window.room():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(min(left, _IDLE_S))
            return self._window.cursor >= last

    def counters(self) -> PublisherCounters:
        """A snapshot of the connection and delivery counters."""
        spool = self.spool.counters() if self.spool.is_open else SpoolCounters.empty()
        oldest = spool.oldest_created_ms
        age = None if oldest is None else max(0, self._clock() - oldest) / 1000
        with self._lock:
            return PublisherCounters(
                connected=self._connected,
                connects=self._connects,
                disconnects=self._disconnects,
                batches_sent=self._sent,
                batches_delivered=self._delivered,
                undelivered=len(self._undelivered),
                spool_depth=spool.depth,
                oldest_unacked_s=age,
                in_flight=len(self._window.in_flight),
                resent=self._resent,
                acknowledged=self._acknowledged,
                watermark=self._window.watermark,
                bad_acks=self._bad_acks,
                dropped_raw=spool.dropped_raw,
                dropped_aggregate=spool.dropped_aggregate,
                dropped_batches=spool.dropped_batches,
                connect_failures=self._connect_failures,
                last_error=self._last_error,
            )

    def close(self, timeout: float = 5.0) -> None:
        """Publish what is spooled, await PUBACKs, announce ``offline``, disconnect, stop."""
        self.wait_published(timeout)
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._sender.is_alive():
            self._sender.join()
        if not self.wait_delivered(timeout):
            _log.warning("closing with %d message(s) undelivered", self.counters().undelivered)
        if self.counters().connected:
            self._publish(self._status_topic, self._status(GatewayState.OFFLINE), retain=True)
            self.wait_delivered(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    def _send_loop(self) -> None:
        while True:
            with self._lock:
                self._lock.wait(_IDLE_S)
                if self._stopping:
                    return
                now = time.monotonic()
                self._window.refill(now)
                if not self._ready:
                    continue
                expired = self._window.due_again(now)
                room = self._window.room()
                cursor = self._window.cursor
            try:
                for seq in expired:
                    if not self._take_token():
                        break
                    self._send(seq - 1, resend=True)
                if room > 0:
                    self._send_new(cursor, room)
            except sqlite3.Error:  # a failing disk must not end delivery: log, retry next turn
                _log.exception("cannot read the spool")

    def _send_new(self, cursor: int, room: int) -> None:
        for spooled in self.spool.unacknowledged(room, after=cursor):
            if not self._take_token():
                return
            self._publish_batch(spooled.seq, encode(spooled.batch), resend=False)

    def _send(self, after: int, *, resend: bool) -> None:
        found = self.spool.unacknowledged(1, after=after)
        with self._lock:
            if not found or found[0].seq != after + 1:
                self._window.forget(after + 1)  # acknowledged or dropped meanwhile
                return
        self._publish_batch(found[0].seq, encode(found[0].batch), resend=resend)

    def _take_token(self) -> bool:
        with self._lock:
            return self._ready and self._window.take_token()

    def _publish_batch(self, seq: int, payload: bytes, *, resend: bool) -> None:
        with self._lock:
            if not self._window.publishing(seq, time.monotonic()):
                return  # acknowledged while it was being read
            self._sent += 1
            self._resent += int(resend)
        mid = self._publish(self._telemetry_topic, payload, retain=False, batch=True)
        _log.info("%s seq=%d as message %d", "resent" if resend else "published", seq, mid)

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
        client: mqtt.Client,
        _userdata: object,
        _flags: object,
        reason: ReasonCode,
        _props: object,
    ) -> None:
        if reason.is_failure:
            with self._lock:
                self._last_error = f"refused: {reason}"
            _log.warning("broker %s:%d refused: %s", self.config.host, self.config.port, reason)
            return
        # subscribe first: no batch goes out before the watermark can come back
        _result, mid = client.subscribe(self._ack_topic, qos=QOS)
        with self._lock:
            self._connected = True
            self._connects += 1
            self._subscribe_mid = mid
        _log.info("connected to %s:%d", self.config.host, self.config.port)
        with self._lock:
            birth = self._health
        self._publish(self._status_topic, birth or self._status(GatewayState.ONLINE), retain=True)

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: object) -> None:
        # paho calls this inside its ``except OSError`` and passes no error: take it from there
        error = sys.exc_info()[1]
        detail = f"{type(error).__name__}: {error}" if error is not None else "connection failed"
        with self._lock:
            self._connect_failures += 1
            self._last_error = detail
        _log.warning("cannot connect to %s:%d: %s", self.config.host, self.config.port, detail)

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: object, mid: int, _codes: object, _props: object
    ) -> None:
        with self._lock:
            if mid == self._subscribe_mid and self._connected:
                self._ready = True
                self._lock.notify_all()

    def _on_message(
        self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage
    ) -> None:
        try:
            ack = decode_ack(bytes(message.payload))
        except PayloadError as exc:
            with self._lock:
                self._bad_acks += 1
            _log.warning("undecodable ack on %s: %s", message.topic, exc)
            return
        if ack.gateway != self.gateway:
            with self._lock:
                self._bad_acks += 1
            _log.warning("ack for gateway %r on %s ignored", ack.gateway, message.topic)
            return
        last = self.spool.last_seq()
        if ack.seq > last:
            # the spool was deleted or replaced: numbers at or below the watermark would be
            # discarded by the platform as duplicates, so new batches are numbered after it
            _log.error(
                "the platform acknowledges seq %d but this spool numbered only %d batches;"
                " numbering continues after %d",
                ack.seq,
                last,
                ack.seq,
            )
            self.spool.skip_to(ack.seq)
        deleted = self.spool.acknowledge_through(ack.seq)
        with self._lock:
            self._window.acknowledged(ack.seq)
            self._acknowledged += deleted
            self._lock.notify_all()

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
            self._ready = False
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
