"""Simulated PMS5003 sensors on real ptys (from firmware_sim), and helpers to wait on threads."""

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from firmware_sim.devices.pms5003 import Pms5003Simulator
from firmware_sim.recorder import Recorder
from firmware_sim.serial_link import PtyLink


def _wait_until(predicate, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@dataclass
class SimulatedSensor:
    link: PtyLink
    simulator: Pms5003Simulator
    recorder: Recorder

    @property
    def path(self) -> Path:
        return self.link.path

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.recorder.path.read_text().splitlines()]

    def close(self) -> None:
        self.simulator.stop()
        self.link.close()
        self.recorder.close()


@pytest.fixture
def pms_sim(tmp_path):
    """Start simulated sensors: ``pms_sim(path=..., period=0.1, mode=Mode.ACTIVE, ...)``."""
    started: list[SimulatedSensor] = []

    def start(path: Path | None = None, **options) -> SimulatedSensor:
        n = len(started)
        link = PtyLink(path or tmp_path / f"pms-{n}")
        recorder = Recorder(tmp_path / f"pms-{n}.jsonl")
        simulator = Pms5003Simulator(link, recorder=recorder, **options)
        sensor = SimulatedSensor(link, simulator, recorder)
        started.append(sensor)
        simulator.start()
        return sensor

    yield start
    for sensor in started:
        sensor.close()


@dataclass
class Collector:
    """A reading sink that keeps every poll, for assertions from the test thread."""

    polls: list[list[Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, readings) -> None:
        with self.lock:
            self.polls.append(list(readings))

    def snapshot(self) -> list[list[Any]]:
        with self.lock:
            return list(self.polls)


@pytest.fixture
def wait_until():
    """``wait_until(predicate, timeout=10.0)``: poll until true; returns the final truth."""
    return _wait_until


@pytest.fixture
def collector():
    return Collector()


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool


class MqttWatcher:
    """A real paho subscriber that keeps every message it receives."""

    def __init__(self, host: str, port: int, topic_filter: str) -> None:
        import paho.mqtt.client as mqtt  # noqa: PLC0415 - only the MQTT tests need it
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

        self._messages: list[Message] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("subscription not acknowledged")

    def _on_message(self, _client, _userdata, message) -> None:
        with self._lock:
            self._messages.append(Message(message.topic, message.payload, message.retain))

    def messages(self, suffix: str = "") -> list[Message]:
        with self._lock:
            return [m for m in self._messages if m.topic.endswith(suffix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def mqtt_watch(mosquitto):
    """``mqtt_watch(topic_filter)``: a subscriber on the test's broker, closed at teardown."""
    watchers: list[MqttWatcher] = []

    def watch(topic_filter: str) -> MqttWatcher:
        watcher = MqttWatcher(mosquitto.host, mosquitto.port, topic_filter)
        watchers.append(watcher)
        return watcher

    yield watch
    for watcher in watchers:
        watcher.close()
