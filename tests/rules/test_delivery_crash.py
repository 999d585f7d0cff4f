"""A delivery process killed between sending a notice and recording it: the notice is sent
again with the same idempotency key, every notice arrives, and a receiver deduplicating by
key sees each once. Then the service's DeliveryWorkers, threads and all, on every channel."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from tests.rules.conftest import wait_for
from tests.rules.test_delivery_support import (
    SECRET,
    MqttSubscriber,
    SmtpReceiver,
    WebhookReceiver,
    fire,
    register_city,
)

from rules.delivery import (
    ChannelWorker,
    DeliverySettings,
    DeliveryWorkers,
    MqttSender,
    RetryPolicy,
    SmtpSender,
    WebhookSender,
)
from store.sql import Channel, Contacts, DeliveryState, Outbox, create_engine_for
from telemetry import topics

LEASE_S = 30.0

# The delivery process: a real worker whose sender, once the receiver has the notice, hangs
# before the outbox hears of it — where the test kills it.
CRASHING_WORKER = """
import sys, time
from rules.delivery import ChannelWorker, DeliverySettings, MqttSender, SmtpSender, WebhookSender
from store.sql import Channel, Contacts, Outbox, create_engine_for

class SendsThenHangs:
    def __init__(self, sender):
        self.sender, self.channel = sender, sender.channel
    def send(self, delivery):
        self.sender.send(delivery)
        print("sent", delivery.idempotency_key, flush=True)
        time.sleep(600)
    def close(self):
        self.sender.close()

url, channel = sys.argv[1], Channel(sys.argv[2])
settings = DeliverySettings.model_validate_json(sys.argv[3])
engine = create_engine_for(url)
if channel is Channel.MQTT:
    sender = MqttSender(settings.mqtt)
    sender.start()
elif channel is Channel.WEBHOOK:
    contacts = Contacts(engine)
    sender = WebhookSender(settings.webhook, lambda contact: contacts.contact(contact).secret)
else:
    sender = SmtpSender(settings.email)
retry = {"mqtt": settings.mqtt, "webhook": settings.webhook, "email": settings.email}[channel].retry
worker = ChannelWorker(
    Outbox(engine), SendsThenHangs(sender), retry,
    lease_s=settings.lease_s, batch=1, poll_interval_s=0.05,
)
while True:
    worker.run_once()
    time.sleep(0.05)
"""


class Receivers:
    """One receiver per channel, each with a contact of ent-a, and the settings to reach them."""

    def __init__(self, engine, broker):
        self.webhook = WebhookReceiver()
        self.smtp = SmtpReceiver()
        self.webhook.start()
        self.smtp.start()
        self.mqtt = MqttSubscriber(broker, topics.alerts("ent-a"))
        contacts = Contacts(engine)
        contacts.add("ent-a", name="control room", channel=Channel.MQTT)
        contacts.add(
            "ent-a", name="DCS", channel=Channel.WEBHOOK, target=self.webhook.url, secret=SECRET
        )
        contacts.add("ent-a", name="EHS", channel=Channel.EMAIL, target="ehs@a.example.cn")
        self.settings = DeliverySettings(
            poll_interval_s=0.05,
            lease_s=LEASE_S,
            batch=5,
            mqtt={"host": broker.host, "port": broker.port, "publish_timeout_s": 2},
            webhook={"timeout_s": 2},
            email={"enabled": True, "host": "127.0.0.1", "port": self.smtp.port, "timeout_s": 2},
        )

    def copies(self, channel):
        """Every copy that arrived, and what a receiver deduplicating by key kept."""
        if channel is Channel.MQTT:
            return len(self.mqtt.messages), len(self.mqtt.unique())
        if channel is Channel.WEBHOOK:
            return len(self.webhook.requests), len(self.webhook.unique())
        return len(self.smtp.messages), len(self.smtp.unique())

    def close(self):
        self.mqtt.close()
        self.smtp.stop()
        self.webhook.stop()


@pytest.fixture
def engine(sqlite_url):
    engine = create_engine_for(sqlite_url)
    register_city(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def receivers(engine, mosquitto):
    receivers = Receivers(engine, mosquitto)
    yield receivers
    receivers.close()


def sender_of(channel, engine, settings):
    if channel is Channel.MQTT:
        sender = MqttSender(settings.mqtt)
        sender.start()
        assert sender.connected.wait(10)
        return sender
    if channel is Channel.WEBHOOK:
        contacts = Contacts(engine)
        return WebhookSender(settings.webhook, lambda contact: contacts.contact(contact).secret)
    return SmtpSender(settings.email)


@pytest.mark.parametrize("channel", list(Channel))
def test_a_notice_sent_by_a_killed_worker_is_sent_again_and_seen_once(
    engine, sqlite_url, receivers, channel
):
    for device in ("pm-1", "pm-2", "pm-3"):
        fire(engine, "ent-a", device)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CRASHING_WORKER,
            sqlite_url,
            channel.value,
            receivers.settings.model_dump_json(),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = worker.stdout.readline() if worker.stdout else ""
    finally:
        worker.kill()
        _, errors = worker.communicate(timeout=10)
    assert line == "sent alert-1:firing\n", errors

    wait_for(lambda: receivers.copies(channel) == (1, 1))
    first = next(d for d in Outbox(engine).deliveries() if d.channel is channel)
    assert (first.state, first.attempts) == (DeliveryState.PENDING, 1)  # sent, never marked

    # A lease later, another worker claims it with the two notices never attempted.
    later = datetime.now(UTC) + timedelta(seconds=LEASE_S)
    sender = sender_of(channel, engine, receivers.settings)
    survivor = ChannelWorker(
        Outbox(engine),
        sender,
        RetryPolicy(),
        lease_s=LEASE_S,
        batch=5,
        poll_interval_s=0.05,
        clock=lambda: later,
    )
    try:
        assert survivor.run_once().delivered == 3
    finally:
        sender.close()

    wait_for(lambda: receivers.copies(channel) == (4, 3))  # alert-1 twice, seen once
    mine = [d for d in Outbox(engine).deliveries() if d.channel is channel]
    assert [(d.state, d.attempts) for d in mine] == [
        (DeliveryState.DELIVERED, 2),
        (DeliveryState.DELIVERED, 1),
        (DeliveryState.DELIVERED, 1),
    ]


def test_the_service_s_workers_deliver_every_channel_and_stop(engine, receivers):
    workers = DeliveryWorkers(engine, receivers.settings)
    assert workers.channels == [Channel.MQTT, Channel.WEBHOOK, Channel.EMAIL]
    workers.start()
    try:
        fire(engine, "ent-a", "pm-1", "pm-2")
        wait_for(lambda: all(receivers.copies(c) == (1, 1) for c in Channel))
        wait_for(
            lambda: {d.state for d in Outbox(engine).deliveries()} == {DeliveryState.DELIVERED}
        )
    finally:
        workers.stop()
    assert workers.mqtt is None
    (mail,) = receivers.smtp.messages
    assert mail["X-Lantian-Idempotency-Key"] == "alert-1:firing"
    assert receivers.webhook.requests[0].signed
    assert receivers.mqtt.messages[0].user_properties["idempotency-key"] == "alert-1:firing"
