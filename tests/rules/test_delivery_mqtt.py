"""The MQTT channel on a real Mosquitto: QoS 1 to each enterprise's own alerts topic, the key as
an MQTT 5 user property, delivered only after PUBACK, retried while the broker is away."""

import dataclasses
import subprocess

import pytest
from tests.rules.conftest import wait_for
from tests.rules.test_delivery_support import Clock, MqttSubscriber, fire, register_city, worker

from rules.delivery import MqttDelivery, MqttSender, SendRefusedError
from store.sql import Channel, Contacts, DeliveryState, Outbox, create_engine_for
from telemetry import topics

SENDER_WORD = "delivery-pass"


@pytest.fixture
def engine(sqlite_url):
    engine = create_engine_for(sqlite_url)
    register_city(engine)
    contacts = Contacts(engine)
    for enterprise in ("ent-a", "ent-b"):
        contacts.add(enterprise, name="control room", channel=Channel.MQTT)
    yield engine
    engine.dispose()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sender_for():
    started = []

    def start(broker, **settings):
        values = {"host": broker.host, "port": broker.port, "publish_timeout_s": 2.0} | settings
        sender = MqttSender(MqttDelivery(**values))
        started.append(sender)
        sender.start()
        return sender

    yield start
    for sender in started:
        sender.close()


@pytest.fixture
def subscribers():
    opened = []

    def subscribe(broker, topic_filter):
        subscriber = MqttSubscriber(broker, topic_filter)
        opened.append(subscriber)
        return subscriber

    yield subscribe
    for subscriber in opened:
        subscriber.close()


def states(engine):
    return [(d.target, d.state, d.attempts) for d in Outbox(engine).deliveries()]


def test_each_enterprise_gets_its_notices_on_its_own_topic_with_the_key(
    engine, mosquitto, clock, sender_for, subscribers
):
    ent_a = subscribers(mosquitto, topics.alerts("ent-a"))
    everyone = subscribers(mosquitto, "lantian/v1/ent/+/alerts")
    sender = sender_for(mosquitto)
    assert sender.connected.wait(10)
    fire(engine, "ent-a", "pm-1")
    fire(engine, "ent-b", "pm-9")

    assert worker(engine, sender, clock).run_once().delivered == 2

    assert states(engine) == [
        ("lantian/v1/ent/ent-a/alerts", DeliveryState.DELIVERED, 1),
        ("lantian/v1/ent/ent-b/alerts", DeliveryState.DELIVERED, 1),
    ]
    wait_for(lambda: len(everyone.messages) == 2 and ent_a.messages)
    assert [(m.topic, m.user_properties) for m in everyone.messages] == [
        ("lantian/v1/ent/ent-a/alerts", {"idempotency-key": "alert-1:firing", "kind": "firing"}),
        ("lantian/v1/ent/ent-b/alerts", {"idempotency-key": "alert-2:firing", "kind": "firing"}),
    ]
    (mine,) = ent_a.messages  # ent-a's subscription sees nothing of ent-b
    assert (mine.qos, mine.content_type) == (1, "application/json")
    assert mine.payload["idempotency_key"] == mine.payload["key"] == "alert-1:firing"
    assert mine.payload["enterprise"] == "ent-a"
    assert [alert["device"] for alert in mine.payload["alerts"]] == ["pm-1"]


def test_a_broker_that_is_away_gets_the_notice_when_it_returns(
    engine, mosquitto, clock, sender_for, subscribers
):
    sender = sender_for(mosquitto, publish_timeout_s=0.3)
    assert sender.connected.wait(10)
    channel = worker(engine, sender, clock, max_attempts=5)
    fire(engine, "ent-a")
    mosquitto.stop()
    wait_for(lambda: not sender.connected.is_set())

    assert channel.run_once().retried == 1
    (failed,) = Outbox(engine).deliveries()
    assert failed.last_error == (
        f"mqtt to {topics.alerts('ent-a')}: not connected to the broker at {mosquitto.address}"
    )

    mosquitto.start()
    subscriber = subscribers(mosquitto, topics.alerts("ent-a"))
    assert sender.connected.wait(10)  # paho reconnected by itself
    clock.advance(10)
    assert channel.run_once().delivered == 1
    wait_for(lambda: subscriber.messages)
    assert list(subscriber.unique()) == ["alert-1:firing"]
    assert states(engine) == [("lantian/v1/ent/ent-a/alerts", DeliveryState.DELIVERED, 2)]


def test_a_publish_the_broker_refuses_is_not_delivered(
    engine, mosquitto_factory, tmp_path, clock, sender_for
):
    # The delivery account may write only ent-a's topic: ent-b's notice is refused (PUBACK
    # 0x87), which is the platform's to fix, so it is retried, not given up at once.
    password_file = tmp_path / "passwords"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(password_file), "lantian-delivery", SENDER_WORD],
        check=True,
    )
    acl_file = tmp_path / "acl"
    acl_file.write_text("user lantian-delivery\ntopic write lantian/v1/ent/ent-a/alerts\n")
    broker = mosquitto_factory(password_file=password_file, acl_file=acl_file)
    sender = sender_for(broker, username="lantian-delivery", password=SENDER_WORD)
    assert sender.connected.wait(10)
    fire(engine, "ent-a")
    fire(engine, "ent-b")

    done = worker(engine, sender, clock).run_once()

    assert (done.delivered, done.retried) == (1, 1)
    (_, refused) = Outbox(engine).deliveries()
    assert refused.state is DeliveryState.PENDING
    assert "the broker refused it: Not authorized" in (refused.last_error or "")


def test_only_an_enterprise_alerts_topic_is_a_target(engine, mosquitto, sender_for):
    sender = sender_for(mosquitto)
    fire(engine, "ent-a")
    delivery = Outbox(engine).deliveries()[0]

    for target in ("lantian/v1/gw/gw-0001/cmd", "lantian/v1/bureau/alerts", "elsewhere"):
        with pytest.raises(SendRefusedError, match="not an alerts topic"):
            sender.send(dataclasses.replace(delivery, target=target))
