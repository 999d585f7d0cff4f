"""The webhook channel against a real HTTP receiver: signed bodies, retries with backoff while
it is down, dead on refusal or after the last attempt."""

import json
import socket
from datetime import timedelta

import pytest
from tests.rules.test_delivery_support import (
    SECRET,
    T0,
    Clock,
    WebhookReceiver,
    fire,
    register_city,
    worker,
)

from rules.delivery import WebhookDelivery, WebhookSender
from store.sql import Channel, Contacts, DeliveryState, Outbox, create_engine_for

NEW_SECRET = "whsec-rotated-9876543210"  # noqa: S105 - a test webhook secret


@pytest.fixture
def engine(sqlite_url):
    engine = create_engine_for(sqlite_url)
    register_city(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def clock():
    return Clock()


def hook(engine, receiver, clock, **retry):
    """A webhook contact of ent-a at ``receiver``, and a worker for the channel."""
    contacts = Contacts(engine)
    contact = contacts.add(
        "ent-a", name="DCS", channel=Channel.WEBHOOK, target=receiver.url, secret=SECRET
    )
    sender = WebhookSender(
        WebhookDelivery(timeout_s=2.0), lambda cid: contacts.contact(cid).secret, clock=clock
    )
    return contact, worker(engine, sender, clock, **retry)


def only_delivery(engine):
    (delivery,) = Outbox(engine).deliveries()
    return delivery


def test_a_notice_is_posted_signed_with_its_key_and_delivered(sql_url, receiver, clock):
    engine = create_engine_for(sql_url)
    register_city(engine)
    _, channel = hook(engine, receiver, clock)
    notice = fire(engine, "ent-a", "pm-1", "pm-2")

    done = channel.run_once()

    assert (done.claimed, done.delivered) == (1, 1)
    (posted,) = receiver.requests
    assert posted.signed
    assert posted.key == notice.idempotency_key == "alert-1:firing"
    assert posted.timestamp == str(int(T0.timestamp()))
    body = json.loads(posted.body)
    assert body["idempotency_key"] == body["key"] == "alert-1:firing"
    assert body["kind"] == "firing"
    assert body["enterprise"] == "ent-a"
    assert [alert["device"] for alert in body["alerts"]] == ["pm-1", "pm-2"]
    assert body["alerts"][0]["value"] == 182.5
    delivered = only_delivery(engine)
    assert (delivered.state, delivered.attempts, delivered.delivered_at) == (
        DeliveryState.DELIVERED,
        1,
        T0,
    )
    engine.dispose()


def test_a_receiver_that_is_down_gets_the_notice_when_it_returns(engine, receiver, clock):
    _, channel = hook(engine, receiver, clock, max_attempts=5)
    fire(engine)
    receiver.stop()

    assert channel.run_once().retried == 1
    first = only_delivery(engine)
    assert first.state is DeliveryState.PENDING
    assert first.next_attempt_at == T0 + timedelta(seconds=10)
    assert "ConnectError" in (first.last_error or "")

    clock.advance(9)
    assert channel.run_once().claimed == 0  # not due before its backoff
    clock.advance(1)
    assert channel.run_once().retried == 1
    assert only_delivery(engine).next_attempt_at == clock.now + timedelta(seconds=20)

    receiver.start()
    clock.advance(20)
    assert channel.run_once().delivered == 1
    delivered = only_delivery(engine)
    assert (delivered.state, delivered.attempts) == (DeliveryState.DELIVERED, 3)
    assert list(receiver.unique()) == ["alert-1:firing"]


def test_server_errors_are_retried_until_the_last_attempt_then_dead(engine, receiver, clock):
    _, channel = hook(engine, receiver, clock, max_attempts=3)
    fire(engine)
    receiver.statuses = [500, 503, 502, 200]

    waits = []
    for _ in range(3):
        done = channel.run_once()
        delivery = only_delivery(engine)
        waits.append((delivery.next_attempt_at - clock.now).total_seconds())
        clock.now = delivery.next_attempt_at

    assert done.dead == 1
    dead = only_delivery(engine)
    assert (dead.state, dead.attempts) == (DeliveryState.DEAD, 3)
    assert dead.last_error == f"webhook to {receiver.url}: HTTP 502 Bad Gateway"
    assert waits == [10.0, 20.0, 0.0]  # the third failure is final
    assert len(receiver.requests) == 3
    assert channel.run_once().claimed == 0  # dead stays dead


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422, 301])
def test_a_refusal_is_dead_at_once(engine, receiver, clock, status):
    _, channel = hook(engine, receiver, clock)
    fire(engine)
    receiver.statuses = [status]

    assert channel.run_once().dead == 1
    dead = only_delivery(engine)
    assert (dead.state, dead.attempts) == (DeliveryState.DEAD, 1)
    assert f"HTTP {status}" in (dead.last_error or "")


@pytest.mark.parametrize(("retry_after", "wait_s"), [(None, 10.0), ("45", 45.0), ("3600", 60.0)])
def test_too_many_requests_waits_as_asked_within_the_backoff_cap(
    engine, receiver, clock, retry_after, wait_s
):
    _, channel = hook(engine, receiver, clock)
    fire(engine)
    receiver.statuses = [429]
    if retry_after is not None:
        receiver.headers["Retry-After"] = retry_after

    assert channel.run_once().retried == 1
    assert only_delivery(engine).next_attempt_at == T0 + timedelta(seconds=wait_s)


def test_a_receiver_that_stalls_is_timed_out_and_retried(engine, clock):
    # A socket that accepts connections and never answers: a hung receiver.
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen()
        url = f"http://127.0.0.1:{hung.getsockname()[1]}/hook"
        contacts = Contacts(engine)
        contacts.add("ent-a", name="hung", channel=Channel.WEBHOOK, target=url, secret=SECRET)
        sender = WebhookSender(
            WebhookDelivery(timeout_s=0.2), lambda cid: contacts.contact(cid).secret, clock=clock
        )
        fire(engine)

        assert worker(engine, sender, clock).run_once().retried == 1

    assert "no answer in time (ReadTimeout)" in (only_delivery(engine).last_error or "")


def test_a_rotated_secret_signs_the_next_attempt(engine, receiver, clock):
    contact, channel = hook(engine, receiver, clock)
    fire(engine)
    receiver.statuses = [503]
    channel.run_once()
    assert receiver.requests[0].signed

    Contacts(engine).rotate_secret(contact.id, NEW_SECRET)
    receiver.secret = NEW_SECRET
    clock.advance(10)

    assert channel.run_once().delivered == 1
    assert [request.signed for request in receiver.requests] == [True, True]
    assert receiver.requests[0].signature != receiver.requests[1].signature


def test_a_signature_made_with_another_secret_is_refused_by_the_receiver(engine, receiver, clock):
    _, channel = hook(engine, receiver, clock)
    fire(engine)
    receiver.secret = NEW_SECRET  # the receiver expects a secret the platform does not have

    assert channel.run_once().dead == 1
    assert receiver.unique() == {}
    assert "HTTP 401" in (only_delivery(engine).last_error or "")
