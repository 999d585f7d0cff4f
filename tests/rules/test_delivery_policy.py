"""Delivery's pure parts: backoff, settings that refuse what cannot work, the signature, the JSON
body; and the worker's own rules (leases, stopping, a sender's bug) on a real SQLite outbox."""

import json
from datetime import timedelta

import pytest
from pydantic import ValidationError
from tests.rules.conftest import wait_for
from tests.rules.test_delivery_support import SECRET, T0, Clock, fire, register_city, worker

from rules.delivery import (
    ChannelWorker,
    DeliverySettings,
    EmailDelivery,
    RetryPolicy,
    SendFailedError,
    notice_body,
    signature,
)
from store.sql import Channel, Contacts, DeliveryState, Outbox, create_engine_for


@pytest.mark.parametrize(
    ("attempt", "delay_s"), [(1, 10), (2, 20), (3, 40), (4, 80), (5, 120), (6, 120), (500, 120)]
)
def test_backoff_doubles_up_to_its_cap(attempt, delay_s):
    policy = RetryPolicy(backoff_base_s=10, backoff_max_s=120, jitter=0)

    assert policy.delay_s(attempt) == delay_s


@pytest.mark.parametrize(("draw", "delay_s"), [(0.0, 40.0), (0.5, 36.0), (0.999, 32.008)])
def test_jitter_takes_off_up_to_its_share(draw, delay_s):
    policy = RetryPolicy(backoff_base_s=10, backoff_max_s=120, jitter=0.2)

    assert policy.delay_s(3, draw) == pytest.approx(delay_s)


def test_the_last_attempt_gives_up_and_a_receiver_s_wait_is_honoured_within_the_cap():
    policy = RetryPolicy(backoff_base_s=10, backoff_max_s=120, jitter=0, max_attempts=4)

    assert policy.next_attempt(1, now=T0) == T0 + timedelta(seconds=10)
    assert policy.next_attempt(1, now=T0, at_least_s=90) == T0 + timedelta(seconds=90)
    assert policy.next_attempt(1, now=T0, at_least_s=9000) == T0 + timedelta(seconds=120)
    assert policy.next_attempt(3, now=T0) == T0 + timedelta(seconds=40)
    assert policy.next_attempt(4, now=T0) is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"backoff_base_s": 60, "backoff_max_s": 30}, "must not exceed backoff_max_s"),
        ({"max_attempts": 0}, "greater than or equal to 1"),
        ({"jitter": 1.5}, "less than or equal to 1"),
    ],
)
def test_a_retry_policy_that_cannot_work_is_refused(values, message):
    with pytest.raises(ValidationError, match=message):
        RetryPolicy(**values)


def test_settings_refuse_a_lease_a_batch_cannot_be_sent_in():
    with pytest.raises(ValidationError, match="lease_s"):
        DeliverySettings(lease_s=60, batch=10, webhook={"timeout_s": 10})
    DeliverySettings()  # the defaults fit: 10 webhooks at 3 x 10 s in 300 s
    # Disabled channels do not count.
    DeliverySettings(lease_s=60, batch=10, webhook={"enabled": False}, mqtt={"enabled": False})


def test_settings_read_from_nested_values_as_the_service_s_environment_gives_them():
    settings = DeliverySettings.model_validate(
        {
            "email": {"enabled": "true", "host": "smtp.example.cn", "sender": "a@hbj.example.cn"},
            "webhook": {"retry": {"max_attempts": "4"}},
        }
    )

    assert settings.email.domain == "hbj.example.cn"
    assert settings.webhook.retry.max_attempts == 4
    assert settings.mqtt.retry == RetryPolicy()
    with pytest.raises(ValidationError, match="needs an SMTP host"):
        EmailDelivery(enabled=True)
    with pytest.raises(ValidationError, match="username needs a password"):
        EmailDelivery(host="smtp.example.cn", username="lantian")


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"idempotency_key":"alert-17:firing","kind":"firing"}'

    # Computed with: printf '%s' '1795658400.<body>' | openssl dgst -sha256 -hmac <secret>
    assert signature(SECRET, "1795658400", body) == (
        "sha256=ea2e6f0b4d68d2d0176eb19bab7fe84982f2ffc048467f6c40d09c09ae2befe3"
    )
    assert signature(SECRET, "1795658401", body) != signature(SECRET, "1795658400", body)


@pytest.fixture
def engine(sqlite_url):
    engine = create_engine_for(sqlite_url)
    register_city(engine)
    yield engine
    engine.dispose()


def test_the_body_is_the_payload_and_the_key_the_same_bytes_every_time(engine):
    Contacts(engine).add("ent-a", name="EHS", channel=Channel.EMAIL, target="ehs@a.example.cn")
    notice = fire(engine)
    (delivery,) = Outbox(engine).deliveries()

    body = notice_body(delivery)

    assert json.loads(body) == notice.payload | {"idempotency_key": "alert-1:firing"}
    assert body == notice_body(delivery)
    assert "茌平" not in body.decode()  # facts of the notice only, nothing looked up


class ScriptedSender:
    """A sender whose every send runs the next step; the real ones are tested on real servers."""

    channel = Channel.EMAIL

    def __init__(self, *steps):
        self.steps = list(steps)
        self.sent = []
        self.closed = False

    def send(self, delivery):
        self.sent.append(delivery.idempotency_key)
        step = self.steps.pop(0) if self.steps else None
        if step is not None:
            step()

    def close(self):
        self.closed = True


@pytest.fixture
def three_notices(engine):
    Contacts(engine).add("ent-a", name="EHS", channel=Channel.EMAIL, target="ehs@a.example.cn")
    for device in ("pm-1", "pm-2", "pm-3"):
        fire(engine, "ent-a", device)  # separate notices: each fires on its own
    return engine


def test_a_delivery_whose_lease_ran_out_meanwhile_is_not_sent(three_notices):
    clock = Clock()
    sender = ScriptedSender(lambda: clock.advance(61))  # the first send outlasts the lease

    done = worker(three_notices, sender, clock).run_once()

    assert (done.claimed, done.delivered, done.expired) == (3, 1, 2)
    assert sender.sent == ["alert-1:firing"]
    pending = Outbox(three_notices).deliveries(state=DeliveryState.PENDING)
    assert [d.next_attempt_at for d in pending] == [T0 + timedelta(seconds=60)] * 2


def test_a_stopping_worker_hands_the_rest_of_its_batch_back(three_notices):
    clock = Clock()
    sender = ScriptedSender()
    channel = worker(three_notices, sender, clock)
    sender.steps = [channel._stopping.set]  # stop is asked for during the first send

    done = channel.run_once()

    assert (done.delivered, done.released) == (1, 2)
    assert channel.run_once().claimed == 2  # due again at once, not a lease later
    channel.stop()
    assert sender.closed


def test_a_bug_in_a_sender_is_a_failed_attempt_not_a_dead_worker(three_notices):
    clock = Clock()

    def bug():
        raise KeyError("oops")

    def busy():
        raise SendFailedError(2, Channel.EMAIL, "ehs@a.example.cn", "421 busy", retry_after_s=30)

    done = worker(three_notices, ScriptedSender(bug, busy), clock).run_once()

    assert (done.delivered, done.retried) == (1, 2)
    first, second, _ = Outbox(three_notices).deliveries()
    assert first.last_error == "KeyError: 'oops'"
    assert first.next_attempt_at == T0 + timedelta(seconds=10)
    assert second.next_attempt_at == T0 + timedelta(seconds=30)  # as long as it asked


def test_a_woken_worker_looks_at_once_rather_than_at_its_next_poll(engine):
    Contacts(engine).add("ent-a", name="EHS", channel=Channel.EMAIL, target="ehs@a.example.cn")
    sender = ScriptedSender()
    channel = ChannelWorker(
        Outbox(engine), sender, RetryPolicy(), lease_s=60.0, batch=10, poll_interval_s=3600.0
    )
    fire(engine, "ent-a", "pm-1")
    channel.start()
    try:
        wait_for(lambda: sender.sent == ["alert-1:firing"])  # the first round, then an hour idle
        fire(engine, "ent-a", "pm-2")
        channel.wake()  # as the service does once the alert book wrote a notice
        wait_for(lambda: len(sender.sent) == 2)
    finally:
        channel.stop()
    assert sender.sent == ["alert-1:firing", "alert-2:firing"]
