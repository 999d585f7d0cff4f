"""The rules service's alerts on a real Mosquitto and SQLite store: a threshold's results open and
resolve an alert, and its notices reach the enterprise's MQTT topic with their keys."""

from datetime import UTC, datetime

import httpx
import pytest
from tests.rules.conftest import HENGTONG, engine_for, feed, reading, wait_for
from tests.rules.test_delivery_support import MqttSubscriber

from rules.alerts import AlertPolicy
from store.sql import AlertState, AlertStore, Channel, Contacts, RuleResults
from telemetry import topics

pytestmark = pytest.mark.integration

RULES = """
version: "2026.1"
rules:
  - {id: pm25-spike, kind: threshold, metric: pm25, above: 150, clear_below: 115, severity: major}
"""
ENTERPRISE = HENGTONG.enterprise
SUBJECT = "site:site-hengtong-east/device:pm-1"
# Firing notices at once, resolved ones a second after the alert resolved; fast timers.
FAST = {
    "alerts": AlertPolicy(group_window_s=0, flap_window_s=1.0),
    "alerts_tick_s": 0.1,
    "delivery": {"poll_interval_s": 0.1},
}


@pytest.fixture
def subscriber(mosquitto, city_sql):
    """The enterprise's MQTT contact, and its control system subscribed to its alerts topic."""
    Contacts(city_sql).add(ENTERPRISE, name="control room", channel=Channel.MQTT)
    client = MqttSubscriber(mosquitto, topics.alerts(ENTERPRISE))
    yield client
    client.close()


def alert_in(city_sql, state: AlertState):
    found = AlertStore(city_sql).alerts(rule="pm25-spike", subject=SUBJECT, state=state)
    return found[0] if found else None


def notice(subscriber, key: str):
    return next((m for m in subscriber.messages if m.payload["key"] == key), None)


def test_telemetry_opens_an_alert_notified_on_mqtt_and_clearing_resolves_it(
    tmp_path, rules_service, publisher, city_sql, subscriber
):
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(RULES)
    service = rules_service.start([rule_file], **FAST)

    publisher.readings(HENGTONG.gateway, [reading(182.5, 0)])
    alert = wait_for(lambda: alert_in(city_sql, AlertState.FIRING))
    assert (alert.enterprise, alert.site, alert.severity, alert.value) == (
        ENTERPRISE,
        HENGTONG.site,
        "major",
        182.5,
    )
    fired = wait_for(lambda: notice(subscriber, f"alert-{alert.id}:firing"))
    assert fired.topic == topics.alerts(ENTERPRISE)
    assert (fired.qos, fired.user_properties) == (
        1,
        {"idempotency-key": f"alert-{alert.id}:firing", "kind": "firing"},
    )
    assert fired.payload["idempotency_key"] == f"alert-{alert.id}:firing"
    assert [a["id"] for a in fired.payload["alerts"]] == [alert.id]

    publisher.readings(HENGTONG.gateway, [reading(100, 1)])
    wait_for(lambda: alert_in(city_sql, AlertState.RESOLVED))
    # The resolved notice waits out the flap window, then goes at the next tick.
    resolved = wait_for(lambda: notice(subscriber, f"alert-{alert.id}:resolved"))
    assert resolved.payload["kind"] == "resolved"
    assert list(subscriber.unique()) == [f"alert-{alert.id}:firing", f"alert-{alert.id}:resolved"]

    metrics = httpx.get(f"http://127.0.0.1:{service.metrics_port}/metrics").text
    for line in (
        'lantian_rules_alert_actions_total{action="opened"} 1.0',
        'lantian_rules_alert_actions_total{action="fired"} 1.0',
        'lantian_rules_alert_actions_total{action="resolved"} 1.0',
        'lantian_rules_alert_notices_total{kind="firing"} 1.0',
        'lantian_rules_alert_notices_total{kind="resolved"} 1.0',
    ):
        assert line in metrics


def test_a_result_recorded_before_a_crash_opens_its_alert_when_the_service_starts(
    tmp_path, rules_service, city_sql, subscriber
):
    # The last batch before a crash was recorded, and its alert change was lost with the crash.
    found = feed(engine_for(RULES), [182.5])
    RuleResults(city_sql).record(found, now=datetime.now(UTC))
    assert AlertStore(city_sql).alerts() == []

    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(RULES)
    service = rules_service.start([rule_file], **FAST)

    assert service.restored == 1
    alert = wait_for(lambda: alert_in(city_sql, AlertState.FIRING))
    wait_for(lambda: notice(subscriber, f"alert-{alert.id}:firing"))
    assert len(AlertStore(city_sql).alerts()) == 1
