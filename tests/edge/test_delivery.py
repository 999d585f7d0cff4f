"""Acknowledged delivery against a real Mosquitto, with a fake platform as the ack peer.

The fake platform is a paho client that reads the gateway's telemetry and publishes
``telemetry.Ack`` watermarks, retained, as ingest does (it stores nothing).
"""

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.config import MqttConfig, SpoolConfig
from edge.publisher import Publisher
from edge.spool import Spool
from telemetry import Ack, Reading, decode_batch, encode, topics

pytestmark = pytest.mark.integration

GATEWAY = "gw-1"
TS = 1_764_140_000_000


@dataclass(frozen=True)
class Arrival:
    seq: int
    readings: int
    at: float  # monotonic seconds


class FakePlatform:
    """Receives telemetry; acknowledges on request, or by itself the contiguous watermark."""

    def __init__(self, host: str, port: int, *, auto_ack: bool = False) -> None:
        self.auto_ack = auto_ack
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = lambda c, *_: c.subscribe(topics.telemetry(GATEWAY), qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("subscription not acknowledged")

    def _on_message(self, _client, _userdata, message) -> None:
        batch = decode_batch(message.payload)
        with self._lock:
            self.arrivals.append(Arrival(batch.seq, len(batch.readings), time.monotonic()))
            seen = {a.seq for a in self.arrivals}
        if self.auto_ack:
            watermark = 0
            while watermark + 1 in seen:
                watermark += 1
            self.ack(watermark)

    def ack(self, seq: int) -> None:
        ack = Ack(gateway=GATEWAY, seq=seq, ts=TS)
        self.client.publish(topics.ack(GATEWAY), encode(ack), qos=1, retain=True)

    def seqs(self) -> list[int]:
        with self._lock:
            return [a.seq for a in self.arrivals]

    def first_arrivals(self) -> list[Arrival]:
        with self._lock:
            firsts: dict[int, Arrival] = {}
            for a in self.arrivals:
                firsts.setdefault(a.seq, a)
            return list(firsts.values())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def platform(mosquitto):
    platforms: list[FakePlatform] = []

    def start(broker=mosquitto, **options) -> FakePlatform:
        platforms.append(FakePlatform(broker.host, broker.port, **options))
        return platforms[-1]

    yield start
    for p in platforms:
        p.close()


@pytest.fixture
def make_publisher(tmp_path, mosquitto):
    made: list[tuple[Publisher, Spool]] = []

    def make(broker=mosquitto, **delivery) -> Publisher:
        spool = Spool(
            tmp_path / "spool.sqlite3",
            GATEWAY,
            quota_bytes=10**9,
            legacy_state_dir=tmp_path,
        )
        spool.open()
        config = MqttConfig.model_validate({"host": broker.host, "port": broker.port})
        publisher = Publisher(
            GATEWAY,
            config,
            spool,
            delivery=SpoolConfig.model_validate(delivery),
            agent_version="test",
        )
        made.append((publisher, spool))
        return publisher

    yield make
    for publisher, spool in made:
        publisher.close(timeout=1)
        spool.close()


def spool_batches(publisher: Publisher, count: int, readings: int = 3) -> None:
    for n in range(count):
        batch = [
            Reading(device="pm-1", metric="pm25", value=float(i), ts=TS + 1000 * n + i)
            for i in range(readings)
        ]
        publisher.spool.put(batch, TS)
        publisher.notify()


def test_batches_leave_the_spool_on_the_platforms_ack_not_on_puback(
    make_publisher, platform, wait_until
):
    fake = platform()
    publisher = make_publisher()
    publisher.start()
    spool_batches(publisher, 5)
    assert wait_until(lambda: sorted(fake.seqs()) == [1, 2, 3, 4, 5])
    assert wait_until(lambda: publisher.counters().batches_delivered == 5)  # every PUBACK
    assert publisher.spool.counters().depth == 5  # and yet nothing is deleted
    fake.ack(3)
    assert wait_until(lambda: publisher.spool.counters().depth == 2)
    assert [b.seq for b in publisher.spool.unacknowledged(10)] == [4, 5]
    counters = publisher.counters()
    assert (counters.acknowledged, counters.watermark, counters.in_flight) == (3, 3, 2)
    fake.ack(5)
    assert wait_until(lambda: publisher.spool.counters().depth == 0)
    assert publisher.counters().resent == 0


def test_a_batch_without_ack_is_published_again_after_ack_timeout(
    make_publisher, platform, wait_until
):
    fake = platform()
    publisher = make_publisher(ack_timeout=0.3)
    publisher.start()
    spool_batches(publisher, 2)
    assert wait_until(lambda: fake.seqs().count(1) >= 3)  # resent, more than once
    assert publisher.counters().resent >= 2
    fake.ack(2)
    assert wait_until(lambda: publisher.spool.counters().depth == 0)
    assert wait_until(lambda: publisher.counters().in_flight == 0)
    resent = publisher.counters().resent
    spool_batches(publisher, 1)  # seq 3; one client's messages arrive in order, so by seq 3's
    assert wait_until(lambda: 3 in fake.seqs())  # arrival every earlier resend has arrived
    before = [s for s in fake.seqs() if s < 3]
    assert wait_until(lambda: fake.seqs().count(3) >= 2)
    assert publisher.counters().resent > resent
    assert [s for s in fake.seqs() if s < 3] == before  # acknowledged: never resent again


def test_no_more_than_max_in_flight_batches_await_an_ack(make_publisher, platform, wait_until):
    fake = platform()
    publisher = make_publisher(ack_timeout=0.3, max_in_flight=3)
    publisher.start()
    spool_batches(publisher, 10)
    # by the first resend, the sender had every chance to publish more: it did not
    assert wait_until(lambda: fake.seqs().count(1) >= 2)
    assert set(fake.seqs()) == {1, 2, 3}
    assert publisher.counters().in_flight == 3
    fake.ack(2)
    assert wait_until(lambda: {4, 5} <= set(fake.seqs()))
    assert wait_until(lambda: fake.seqs().count(3) >= 3)
    assert set(fake.seqs()) == {1, 2, 3, 4, 5}
    fake.ack(10)
    assert wait_until(lambda: publisher.spool.counters().depth == 0)


def test_the_backlog_of_an_outage_is_replayed_in_order_at_a_bounded_rate(
    make_publisher, platform, mosquitto, wait_until
):
    fake = platform(auto_ack=True)
    rate = 10.0
    publisher = make_publisher(replay_rate=rate, max_in_flight=50)
    publisher.start()
    spool_batches(publisher, 3)
    assert wait_until(lambda: publisher.spool.counters().depth == 0)
    mosquitto.stop()
    assert wait_until(lambda: not publisher.counters().connected)
    spool_batches(publisher, 40)  # the backlog, spooled while the broker is away
    mosquitto.start()
    assert wait_until(lambda: publisher.spool.counters().depth == 0, timeout=30)
    firsts = fake.first_arrivals()
    assert [a.seq for a in firsts] == list(range(1, 44))  # in seq order, none missing
    replay = firsts[3:]
    assert all(a.readings == 3 for a in replay)
    # a token bucket of `rate` tokens: any window of w seconds holds at most rate * w + rate
    for i, first in enumerate(replay):
        window = [a for a in replay[i:] if a.at - first.at <= 1.0]
        assert len(window) <= 2 * rate + 1
    assert replay[-1].at - replay[0].at >= (len(replay) - 2 * rate) / rate - 0.5


def test_a_watermark_beyond_the_spool_moves_the_numbering_past_it(
    make_publisher, platform, wait_until
):
    fake = platform()
    fake.ack(100)  # retained: the platform stored 1..100 from a spool that is gone
    publisher = make_publisher()
    spool_batches(publisher, 2)  # numbered 1 and 2 before the watermark is known
    publisher.start()
    assert wait_until(lambda: publisher.counters().watermark == 100)
    assert publisher.spool.counters().depth == 0
    assert publisher.spool.put([Reading(device="pm-1", metric="pm25", value=1.0, ts=TS)], TS) == 101
    publisher.notify()
    assert wait_until(lambda: 101 in fake.seqs())
    # 1 and 2 may have gone out before the retained watermark arrived, never after it
    assert set(fake.seqs()) <= {1, 2, 101}


def test_the_spool_survives_sigkill_and_every_published_batch_is_delivered_after_restart(
    tmp_path, mosquitto, pms_sim, platform, wait_until
):
    sensor = pms_sim(period=0.05)
    config = tmp_path / "site.yaml"
    config.write_text(
        f"""\
gateway: {GATEWAY}
mqtt: {{host: {mosquitto.host}, port: {mosquitto.port}}}
publish: {{interval: 0.2}}
state_dir: state
devices:
  - {{type: pms5003, id: pm-1, port: {sensor.path}, raw: true, warmup: 0}}
"""
    )
    command = [sys.executable, "-m", "edge.cli", "run", str(config)]
    silent = platform()  # reads, acknowledges nothing
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: len(set(silent.seqs())) >= 4, timeout=20)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
        first.communicate()
    before_kill = {a.seq: a.readings for a in silent.first_arrivals()}
    silent.close()

    acking = platform(auto_ack=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: set(before_kill) <= set(acking.seqs()), timeout=20)
    finally:
        second.send_signal(signal.SIGTERM)
        _, stderr = second.communicate(timeout=15)
    assert second.returncode == 0, stderr
    after_restart = {a.seq: a.readings for a in acking.first_arrivals()}
    # every batch published before the kill came again, with every one of its readings
    assert {seq: after_restart[seq] for seq in before_kill} == before_kill
    assert sum(before_kill.values()) > 0
    # and the new run numbered its own batches after them
    assert sorted(after_restart) == list(range(1, max(after_restart) + 1))
