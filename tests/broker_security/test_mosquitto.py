"""A real Mosquitto runs the generated files and enforces the topic contract.

The broker (the ``secured`` fixture) runs the rendered ``mosquitto.conf`` itself, with the
password and ACL files rendered from a SQLite store. Each check that something does *not*
arrive is ordered before a message that does: once the later one is in, the earlier would
have been delivered first (one connection, one session, QoS 1).
"""

import pytest

from telemetry import topics

pytestmark = pytest.mark.integration

WAIT_S = 5.0

NOT_AUTHORISED = 0x87  # MQTT 5.0, 3.2.2.2: CONNACK reason code "Not authorized"
BAD_PASSWORD = 0x86  # MQTT 5.0, 3.2.2.2: "Bad User Name or Password"


def test_anonymous_client_is_refused(connect):
    client = connect()

    assert client.reason.value == NOT_AUTHORISED


def test_wrong_password_and_unknown_user_are_refused(connect, secured):
    wrong = connect("gw-0001", secured.passwords["gw-0002"])
    unknown = connect("gw-0003", secured.passwords["gw-0001"])

    assert wrong.reason.value in {BAD_PASSWORD, NOT_AUTHORISED}
    assert unknown.reason.value in {BAD_PASSWORD, NOT_AUTHORISED}
    assert connect("gw-0001").accepted


def test_gateway_publishes_under_its_own_id_only(connect):
    monitor = connect("svc-monitor")
    assert monitor.subscribe(topics.subscription(topics.TopicKind.TELEMETRY)) == [1]
    gateway = connect("gw-0001")

    gateway.publish(topics.telemetry("gw-0001"), b"own")
    gateway.publish(topics.telemetry("gw-0002"), b"forged")
    gateway.publish(topics.telemetry("gw-0001"), b"marker")

    assert monitor.receive_until(b"marker") == [
        (topics.telemetry("gw-0001"), b"own"),
        (topics.telemetry("gw-0001"), b"marker"),
    ]


def test_enterprise_receives_its_own_alerts_and_no_other(connect):
    shiye = connect("ent@e-shiye")
    huagong = connect("ent@e-huagong")
    # Mosquitto 2.0 grants any subscription and checks read access on each message it would
    # deliver, so what counts is what arrives.
    shiye.subscribe(topics.alerts("e-huagong"), "lantian/v1/ent/+/alerts", topics.alerts("e-shiye"))
    assert huagong.subscribe(topics.alerts("e-huagong")) == [1]
    rules = connect("svc-rules")

    rules.publish(topics.alerts("e-huagong"), b"huagong-1")
    rules.publish(topics.alerts("e-shiye"), b"shiye-1")

    assert {topic for topic, _ in shiye.receive_until(b"shiye-1")} == {topics.alerts("e-shiye")}
    assert huagong.receive_until(b"huagong-1") == [(topics.alerts("e-huagong"), b"huagong-1")]


def test_ingest_reads_telemetry_through_a_shared_subscription_and_acks(connect):
    gateway = connect("gw-0001")
    assert gateway.subscribe(topics.ack("gw-0001")) == [1]
    ingest = connect("svc-ingest")
    assert ingest.subscribe(topics.shared_subscription("ingest", topics.TopicKind.TELEMETRY)) == [1]

    gateway.publish(topics.telemetry("gw-0001"), b"batch-1")
    assert ingest.receive_until(b"batch-1") == [(topics.telemetry("gw-0001"), b"batch-1")]
    ingest.publish(topics.ack("gw-0001"), b"watermark-1", retain=True)

    assert gateway.receive_until(b"watermark-1") == [(topics.ack("gw-0001"), b"watermark-1")]


def test_a_gateway_cannot_read_another_s_acks_nor_ingest_write_telemetry(connect):
    other = connect("gw-0002")
    other.subscribe(topics.ack("gw-0001"), topics.ack("gw-0002"))
    rules = connect("svc-rules")
    assert rules.subscribe(topics.subscription(topics.TopicKind.TELEMETRY)) == [1]
    ingest = connect("svc-ingest")

    ingest.publish(topics.ack("gw-0001"), b"for-gw-0001")
    ingest.publish(topics.telemetry("gw-0002"), b"forged-by-ingest")
    ingest.publish(topics.ack("gw-0002"), b"for-gw-0002")
    connect("gw-0002").publish(topics.telemetry("gw-0002"), b"real")

    assert other.receive_until(b"for-gw-0002") == [(topics.ack("gw-0002"), b"for-gw-0002")]
    assert rules.receive_until(b"real") == [(topics.telemetry("gw-0002"), b"real")]


def test_rules_reads_telemetry_and_retained_status(connect):
    gateway = connect("gw-0001")
    gateway.publish(topics.status("gw-0001"), b"online", retain=True)
    rules = connect("svc-rules")

    granted = rules.subscribe(
        topics.subscription(topics.TopicKind.TELEMETRY),
        topics.subscription(topics.TopicKind.STATUS),
    )
    assert granted == [1, 1]
    assert rules.receive_until(b"online") == [(topics.status("gw-0001"), b"online")]
    gateway.publish(topics.telemetry("gw-0001"), b"batch")
    assert rules.receive_until(b"batch") == [(topics.telemetry("gw-0001"), b"batch")]


def test_revoked_account_is_refused_after_regeneration_and_reload(connect, secured):
    connected = connect("gw-0002")
    staying = connect("gw-0001")
    assert connected.accepted

    secured.accounts.revoke("gw-0002")
    secured.regenerate()

    connected.disconnects.get(timeout=WAIT_S)  # Mosquitto drops it when it rereads the files
    assert connect("gw-0002").reason.value in {BAD_PASSWORD, NOT_AUTHORISED}
    assert connect("gw-0001").accepted
    assert staying.disconnects.empty()


def test_rotated_password_replaces_the_old_one_after_reload(connect, secured):
    old = secured.passwords["gw-0001"]

    new = secured.accounts.issue_gateway("gw-0001").password
    secured.regenerate()

    assert connect("gw-0001", old).reason.value in {BAD_PASSWORD, NOT_AUTHORISED}
    assert connect("gw-0001", new).accepted
