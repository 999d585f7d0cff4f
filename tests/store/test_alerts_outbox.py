"""Contacts and the notification outbox on SQLite and PostgreSQL: who gets which notice, and
how channel workers claim, deliver and retry it."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from store.sql import (
    BUREAU,
    AlertStore,
    Channel,
    ContactNotFoundError,
    Contacts,
    DeliveryState,
    InvalidContactError,
    NotFoundError,
    NoticeKind,
    Outbox,
    RuleResult,
    create_engine_for,
)

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
SECRET = "s3cret-s3cret-s3cret"  # noqa: S105 - test webhook secrets
NEW_SECRET = "n3w-s3cret-n3w-s3cret"  # noqa: S105


@pytest.fixture
def engine(sql_url):
    engine = create_engine_for(sql_url)
    yield engine
    engine.dispose()


@pytest.fixture
def contacts(engine, registry):
    registry.add_county("chiping", name="Chiping", name_zh="茌平区")
    for enterprise in ("ent-a", "ent-b"):
        registry.add_enterprise(enterprise, name=enterprise, county_id="chiping")
    return Contacts(engine, clock=lambda: T0)


@pytest.fixture
def sqlite_contacts(sqlite_url):
    """Contacts on SQLite alone, for checks made before the database is asked anything."""
    engine = create_engine_for(sqlite_url)
    yield Contacts(engine)
    engine.dispose()


@pytest.fixture
def outbox(engine):
    return Outbox(engine)


def fire(engine, *devices, enterprise="ent-a"):
    """Open and fire one alert per device at one site; returns the notices written."""
    base = RuleResult(
        rule="pm25-spike",
        rule_version="2026.1",
        kind="threshold",
        subject="",
        window_start=T0,
        outcome="firing",
        severity="major",
        enterprise=enterprise,
        site=f"site-{enterprise}",
    )
    with AlertStore(engine).transaction(T0) as alerts:
        ids = [
            alerts.open(dataclasses.replace(base, subject=f"site:x/device:{d}", device=d)).id
            for d in devices
        ]
        return ids, alerts.fire(ids)


# --- contacts -------------------------------------------------------------------------------


def test_an_mqtt_contact_goes_to_the_enterprise_s_own_topic(contacts):
    contact = contacts.add("ent-a", name="EHS desk", channel=Channel.MQTT)

    assert contact.target == "lantian/v1/ent/ent-a/alerts"
    assert contact.kinds == frozenset(NoticeKind)
    assert contacts.contacts("ent-a") == [contact]


def test_a_webhook_secret_is_kept_but_never_shown(contacts):
    contact = contacts.add(
        "ent-a",
        name="DCS",
        channel=Channel.WEBHOOK,
        target="https://dcs.example/hook",
        secret=SECRET,
    )

    assert SECRET not in repr(contact)
    assert contacts.contact(contact.id).secret == SECRET
    contacts.rotate_secret(contact.id, NEW_SECRET)
    assert contacts.contact(contact.id).secret == NEW_SECRET
    mail = contacts.add("ent-a", name="EHS", channel=Channel.EMAIL, target="ehs@a.example.cn")
    with pytest.raises(InvalidContactError, match="only webhooks"):
        contacts.rotate_secret(mail.id, NEW_SECRET)


@pytest.mark.parametrize(
    ("audience", "kwargs", "field"),
    [
        ("ent-a", {"channel": Channel.EMAIL, "target": "not-an-address"}, "target"),
        ("ent-a", {"channel": Channel.EMAIL, "target": "a b@example.cn"}, "target"),
        (
            "ent-a",
            {"channel": Channel.WEBHOOK, "target": "ftp://x.example", "secret": SECRET},
            "target",
        ),
        ("ent-a", {"channel": Channel.WEBHOOK, "target": "https://x.example"}, "secret"),
        (
            "ent-a",
            {"channel": Channel.WEBHOOK, "target": "https://x.example", "secret": "short"},
            "secret",
        ),
        ("ent-a", {"channel": Channel.EMAIL, "target": "a@b.cn", "secret": SECRET}, "secret"),
        ("ent-a", {"channel": Channel.MQTT, "target": "lantian/v1/ent/ent-b/alerts"}, "target"),
        ("ent-a", {"channel": Channel.EMAIL, "target": "a@b.cn", "kinds": []}, "kinds"),
        (BUREAU, {"channel": Channel.MQTT}, "channel"),
    ],
)
def test_contacts_that_cannot_be_delivered_to_are_refused(sqlite_contacts, audience, kwargs, field):
    with pytest.raises(InvalidContactError) as caught:
        sqlite_contacts.add(audience, name="someone", **kwargs)
    assert caught.value.field == field
    assert sqlite_contacts.contacts() == []


def test_a_contact_of_an_unknown_enterprise_is_refused(contacts):
    with pytest.raises(NotFoundError):
        contacts.add("ent-nowhere", name="x", channel=Channel.EMAIL, target="x@y.cn")


def test_the_same_target_twice_is_refused(contacts):
    contacts.add("ent-a", name="EHS", channel=Channel.EMAIL, target="ehs@a.example.cn")
    with pytest.raises(InvalidContactError, match="already"):
        contacts.add("ent-a", name="EHS 2", channel=Channel.EMAIL, target="ehs@a.example.cn")


def test_an_unknown_contact_is_not_found(contacts):
    with pytest.raises(ContactNotFoundError):
        contacts.set_enabled(99, enabled=False)


# --- fan-out to contacts --------------------------------------------------------------------


def test_a_notice_gets_a_delivery_for_every_enabled_contact_that_takes_its_kind(
    contacts, engine, outbox
):
    mail = contacts.add("ent-a", name="EHS", channel=Channel.EMAIL, target="ehs@a.example.cn")
    hook = contacts.add(
        "ent-a",
        name="DCS",
        channel=Channel.WEBHOOK,
        target="https://dcs.example/hook",
        secret=SECRET,
        kinds=[NoticeKind.FIRING, NoticeKind.RESOLVED],
    )
    off = contacts.add("ent-a", name="old", channel=Channel.EMAIL, target="old@a.example.cn")
    contacts.set_enabled(off.id, enabled=False)
    contacts.add("ent-b", name="other", channel=Channel.EMAIL, target="ehs@b.example.cn")
    duty = contacts.add(
        BUREAU, name="duty officer", channel=Channel.EMAIL, target="duty@epb.example.cn"
    )

    [alert_id], [notice] = fire(engine, "pm-1")
    with AlertStore(engine).transaction(T0 + timedelta(hours=1)) as alerts:
        [reminder] = alerts.remind([alert_id])
        [escalation] = alerts.escalate([alert_id])

    def targets(notification):
        return [
            (d.contact_id, d.target) for d in outbox.deliveries(notification_id=notification.id)
        ]

    assert targets(notice) == [(mail.id, mail.target), (hook.id, hook.target)]
    assert targets(reminder) == [(mail.id, mail.target)]
    assert targets(escalation) == [(duty.id, duty.target)]


def test_a_notice_without_contacts_stays_in_the_outbox_with_no_delivery(engine, outbox):
    [alert_id], [notice] = fire(engine, "pm-1")

    assert outbox.notifications(audience="ent-a") == [notice]
    assert outbox.deliveries() == []
    assert notice.alert_ids == (alert_id,)


# --- claiming, delivering, retrying ---------------------------------------------------------


@pytest.fixture
def delivery_ids(contacts, engine):
    contacts.add("ent-a", name="EHS", channel=Channel.EMAIL, target="ehs@a.example.cn")
    contacts.add(
        "ent-a", name="DCS", channel=Channel.WEBHOOK, target="https://d.example", secret=SECRET
    )
    fire(engine, "pm-1")
    fire(engine, "pm-2", enterprise="ent-b")  # no contacts: nothing to claim
    return [d.id for d in Outbox(engine).deliveries()]


def test_a_claim_leases_due_deliveries_of_one_channel(outbox, delivery_ids):
    [claimed] = outbox.claim(Channel.EMAIL, now=T0, lease_s=60)

    assert (claimed.channel, claimed.attempts, claimed.state) == (
        Channel.EMAIL,
        1,
        DeliveryState.PENDING,
    )
    assert (claimed.idempotency_key, claimed.kind) == ("alert-1:firing", NoticeKind.FIRING)
    assert claimed.payload["alerts"][0]["device"] == "pm-1"
    assert claimed.next_attempt_at == T0 + timedelta(seconds=60)
    assert outbox.claim(Channel.EMAIL, now=T0 + timedelta(seconds=59)) == []
    [again] = outbox.claim(Channel.EMAIL, now=T0 + timedelta(seconds=60))
    assert (again.id, again.attempts, again.idempotency_key) == (claimed.id, 2, "alert-1:firing")


def test_a_delivered_notice_is_not_claimed_again(outbox, delivery_ids):
    [claimed] = outbox.claim(Channel.WEBHOOK, now=T0)
    outbox.delivered(claimed.id, now=T0 + timedelta(seconds=1))

    assert outbox.claim(Channel.WEBHOOK, now=T0 + timedelta(days=1)) == []
    [done] = outbox.deliveries(state=DeliveryState.DELIVERED)
    assert (done.id, done.delivered_at) == (claimed.id, T0 + timedelta(seconds=1))


def test_a_failed_attempt_is_retried_when_asked_and_a_dead_one_never(outbox, delivery_ids):
    [claimed] = outbox.claim(Channel.WEBHOOK, now=T0)
    outbox.failed(claimed.id, "503 Service Unavailable", now=T0, retry_at=T0 + timedelta(minutes=2))

    assert outbox.claim(Channel.WEBHOOK, now=T0 + timedelta(minutes=1)) == []
    [retry] = outbox.claim(Channel.WEBHOOK, now=T0 + timedelta(minutes=2))
    assert (retry.attempts, retry.last_error) == (2, "503 Service Unavailable")

    outbox.failed(retry.id, "connection refused", now=T0, retry_at=None)
    assert outbox.claim(Channel.WEBHOOK, now=T0 + timedelta(days=1)) == []
    [dead] = outbox.deliveries(state=DeliveryState.DEAD)
    assert (dead.id, dead.last_error) == (claimed.id, "connection refused")


def test_a_late_failure_does_not_undo_a_delivery(outbox, delivery_ids):
    [claimed] = outbox.claim(Channel.EMAIL, now=T0)
    outbox.delivered(claimed.id, now=T0)
    outbox.failed(claimed.id, "timeout of an earlier attempt", now=T0, retry_at=None)

    assert outbox.deliveries(notification_id=claimed.notification_id)[0].state is (
        DeliveryState.DELIVERED
    )
