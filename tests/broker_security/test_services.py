"""The platform's own MQTT clients work with the accounts and ACLs generated for them.

A real edge publisher logs in as its gateway (birth and last will on its status topic, batches
on its telemetry topic, the watermark read from its ack topic) and ingest's broker session as
``svc-ingest`` through the shared subscription, on the broker of the ``secured`` fixture.
"""

import queue
import time

import pytest

from edge.config import load_config
from edge.publisher import Publisher
from edge.spool import Spool
from ingest.broker import BrokerSession, Delivery
from ingest.settings import IngestSettings
from telemetry import GatewayState, Reading, decode_batch, decode_status, topics

pytestmark = pytest.mark.integration

WAIT_S = 10.0
GATEWAY = "gw-0001"


def wait_until(predicate, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def publisher(secured, tmp_path):
    config_path = tmp_path / "site.yaml"
    config_path.write_text(
        f"""\
gateway: {GATEWAY}
mqtt:
  host: {secured.broker.host}
  port: {secured.broker.port}
  username: {GATEWAY}
  password: "{secured.passwords[GATEWAY]}"
state_dir: state
devices:
  - {{type: pms5003, id: pm-1, port: {tmp_path / "no-such-port"}}}
"""
    )
    spool = Spool(tmp_path / "spool.sqlite3", GATEWAY, quota_bytes=10**7, legacy_state_dir=tmp_path)
    spool.open()
    publisher = Publisher(GATEWAY, load_config(config_path).mqtt, spool, agent_version="test")
    yield publisher
    publisher.close()
    spool.close()


@pytest.fixture
def ingest_session(secured):
    settings = IngestSettings(
        mqtt_host=secured.broker.host,
        mqtt_port=secured.broker.port,
        mqtt_username="svc-ingest",
        mqtt_password=secured.passwords["svc-ingest"],
        mqtt_shared_group="ingest",
    )
    deliveries: queue.Queue[Delivery] = queue.Queue()
    session = BrokerSession(settings, deliveries)
    session.start()
    yield session, deliveries
    session.stop()


def test_edge_publisher_and_ingest_session_deliver_and_acknowledge(
    connect, publisher, ingest_session
):
    session, deliveries = ingest_session
    rules = connect("svc-rules")
    rules.subscribe(topics.status(GATEWAY))
    assert session.subscribed.wait(WAIT_S)
    publisher.start()
    now_ms = int(time.time() * 1000)

    publisher.spool.put([Reading(device="pm-1", metric="pm25", value=35.0, ts=now_ms)], now_ms)
    publisher.notify()

    delivery = deliveries.get(timeout=WAIT_S)
    batch = decode_batch(delivery.payload)
    assert (delivery.topic, batch.gateway) == (topics.telemetry(GATEWAY), GATEWAY)
    assert session.ack(delivery)
    assert session.publish_ack(GATEWAY, batch.seq)
    assert wait_until(lambda: publisher.counters().watermark == batch.seq)
    assert wait_until(lambda: publisher.counters().spool_depth == 0)
    topic, birth = rules.messages.get(timeout=WAIT_S)
    assert topic == topics.status(GATEWAY)
    assert decode_status(birth).state is GatewayState.ONLINE
    assert publisher.counters().connect_failures == 0
