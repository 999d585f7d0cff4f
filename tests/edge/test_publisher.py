"""The publisher alone against real brokers: credentials, refusals, delivery accounting."""

import subprocess
import time

import pytest

from edge.config import MqttConfig
from edge.publisher import Publisher
from edge.spool import Spool
from telemetry import Reading

pytestmark = pytest.mark.integration

TS = 1_764_140_000_000
USER, GOOD_WORD, BAD_WORD = "gw-1", "s3cret", "wrong"  # a throwaway broker's login


@pytest.fixture
def password_broker(tmp_path, mosquitto_factory):
    password_file = tmp_path / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(password_file), USER, GOOD_WORD],
        check=True,
        capture_output=True,
    )
    return mosquitto_factory(password_file=password_file)


@pytest.fixture
def spool(tmp_path):
    spool = Spool(tmp_path / "spool.sqlite3", "gw-1", quota_bytes=10**9, legacy_state_dir=tmp_path)
    spool.open()
    yield spool
    spool.close()


def send(publisher):
    reading = Reading(device="pm-1", metric="pm25", value=71.0, ts=TS)
    publisher.spool.put([reading], TS)
    publisher.notify()


def mqtt_config(broker, **login):
    return MqttConfig.model_validate({"host": broker.host, "port": broker.port, **login})


def test_batches_are_delivered_with_username_and_password(password_broker, spool):
    publisher = Publisher(
        "gw-1",
        mqtt_config(password_broker, username=USER, password=GOOD_WORD),
        spool,
        agent_version="test",
    )
    publisher.start()
    try:
        for _ in range(5):
            send(publisher)
        deadline = time.monotonic() + 10
        while publisher.counters().batches_delivered < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert publisher.wait_delivered(10)
    finally:
        publisher.close()
    counters = publisher.counters()
    assert (counters.connects, counters.batches_sent, counters.batches_delivered) == (1, 5, 5)
    assert counters.undelivered == 0


def test_a_refused_login_is_survived_and_close_returns_promptly(password_broker, spool):
    publisher = Publisher(
        "gw-1",
        mqtt_config(password_broker, username=USER, password=BAD_WORD),
        spool,
        agent_version="test",
    )
    publisher.start()
    send(publisher)
    time.sleep(1.0)
    started = time.monotonic()
    publisher.close(timeout=5)
    assert time.monotonic() - started < 2  # nothing to wait for without a connection
    counters = publisher.counters()
    assert (counters.connected, counters.connects, counters.batches_sent) == (False, 0, 0)
    assert spool.counters().depth == 1  # never published: it waits in the spool


def test_the_constructor_does_no_io(mosquitto, spool):
    publisher = Publisher("gw-1", mqtt_config(mosquitto), spool, agent_version="test")
    time.sleep(0.2)
    assert publisher.counters().connects == 0
    publisher.close(timeout=0)
