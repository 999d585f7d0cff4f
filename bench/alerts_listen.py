"""The enterprises' side of the alerts benchmark: one subscriber of every enterprise's alerts.

A paho MQTT 5 client subscribed at QoS 1 to ``lantian/v1/ent/+/alerts``, as an enterprise's
receiver would be to its own topic, noting the wall time each notice arrived (paho's network
thread hands it over) and its payload. Nothing is parsed while notices arrive: the matching
(:mod:`bench.alerts_match`) is done after the run.
"""

import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

ALERTS_FILTER = "lantian/v1/ent/+/alerts"


@dataclass(frozen=True, slots=True)
class Arrival:
    """A notice as it arrived: when (epoch seconds), on which topic, its body."""

    at: float
    topic: str
    payload: bytes


class NoticeListener:
    """Subscribes to every enterprise's alerts; :attr:`arrivals` in the order they came."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._subscribed = threading.Event()
        self._lock = threading.Lock()
        self._arrivals: list[Arrival] = []
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="bench-alerts-enterprises",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    @property
    def arrivals(self) -> list[Arrival]:
        """A copy of what has arrived so far."""
        with self._lock:
            return list(self._arrivals)

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect and subscribe; return once the broker confirmed the subscription."""
        self._client.connect(self._host, self._port)
        self._client.loop_start()
        if not self._subscribed.wait(timeout_s):
            self.stop()
            raise RuntimeError(f"no subscription to {ALERTS_FILTER} within {timeout_s} s")

    def stop(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, *_: object) -> None:
        client.subscribe(ALERTS_FILTER, qos=1)

    def _on_subscribe(self, *_: object) -> None:
        self._subscribed.set()

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        arrival = Arrival(time.time(), msg.topic, bytes(msg.payload))
        with self._lock:
            self._arrivals.append(arrival)
