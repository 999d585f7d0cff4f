"""The rules service on a real Mosquitto and a real SQLite store: results, reloads, restarts."""

import logging
import time

import httpx
import pytest
from tests.rules.conftest import reading, utc, wait_for

from rules.broker import partition_of
from store.sql import RuleResults
from telemetry import GatewayState

pytestmark = pytest.mark.integration

RULES = """
version: "2026.1"
rules:
  - {id: pm25-spike, kind: threshold, metric: pm25, above: 150, for: 2m, clear_below: 115}
  - {id: offline, kind: gateway_offline}
  - {id: quiet, kind: no_data, subject: gateway, for: 1s, scope: {county: yanggu}}
"""
SPIKE = "site:site-hengtong-east/device:pm-1"


def spike(publisher, start=0, values=(160, 170, 165)):
    publisher.readings("gw-0001", [reading(v, start + n) for n, v in enumerate(values)])


def results_of(city_sql, **filters):
    return RuleResults(city_sql).results(**filters)


def test_telemetry_fires_and_resolves_a_threshold_recorded_in_the_sql_store(
    tmp_path, rules_service, publisher, city_sql
):
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(RULES)
    service = rules_service.start([rule_file])
    spike(publisher)
    [fired] = wait_for(lambda: results_of(city_sql, rule="pm25-spike"))
    assert (fired.subject, fired.outcome, fired.window_start) == (SPIKE, "firing", utc(0))
    assert (fired.county, fired.park, fired.enterprise, fired.gateway) == (
        "chiping",
        "xinfa-materials",
        "ent-hengtong-al",
        "gw-0001",
    )
    assert fired.rule_version == service.engine.rules["pm25-spike"]
    publisher.readings("gw-0001", [reading(120, 3), reading(100, 4)])
    [resolved] = wait_for(lambda: results_of(city_sql, rule="pm25-spike", outcome="resolved"))
    assert (resolved.window_start, resolved.window_end, resolved.revision) == (utc(0), utc(4), 2)

    metrics = httpx.get(f"http://127.0.0.1:{service.metrics_port}/metrics").text
    assert "lantian_rules_readings_evaluated_total 5.0" in metrics
    assert 'lantian_rules_results_changed_total{outcome="resolved"} 1.0' in metrics


def test_gateway_status_and_silence_fire_and_an_unknown_gateway_is_counted(
    tmp_path, rules_service, publisher, city_sql
):
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(RULES)
    service = rules_service.start([rule_file])
    publisher.status("gw-0001", GatewayState.OFFLINE, None)  # the last will: no time
    [offline] = wait_for(lambda: results_of(city_sql, rule="offline"))
    assert (offline.subject, offline.outcome) == ("gateway:gw-0001", "firing")
    publisher.status("gw-0001", GatewayState.ONLINE, int(time.time() * 1000))
    wait_for(lambda: results_of(city_sql, rule="offline", outcome="resolved"))

    # gw-0002 (Yanggu) is registered but sends nothing: quiet since the service watched it.
    [quiet] = wait_for(lambda: results_of(city_sql, rule="quiet"))
    assert (quiet.subject, quiet.evidence["seen"]) == ("gateway:gw-0002", False)

    publisher.readings("gw-0999", [reading(500, 0)])
    wait_for(lambda: service.counters.messages_rejected.labels("unknown_gateway")._value.get() == 1)


def test_an_edited_rule_file_is_reloaded_and_its_version_recorded(
    tmp_path, rules_service, publisher, city_sql
):
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(RULES)
    service = rules_service.start([rule_file])
    spike(publisher)
    [fired] = wait_for(lambda: results_of(city_sql, rule="pm25-spike"))
    assert fired.rule_version.startswith("2026.1+")

    rule_file.write_text(RULES.replace('"2026.1"', '"2026.2"'))
    wait_for(lambda: service.engine.rules["pm25-spike"].startswith("2026.2+"))
    publisher.readings("gw-0001", [reading(100, 3)])
    [resolved] = wait_for(lambda: results_of(city_sql, rule="pm25-spike", outcome="resolved"))
    assert resolved.window_start == fired.window_start  # the same episode, kept over the reload
    assert resolved.rule_version.startswith("2026.2+")


def test_a_broken_edit_keeps_the_old_rules_and_is_reported(
    tmp_path, rules_service, publisher, city_sql, caplog
):
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(RULES)
    service = rules_service.start([rule_file])
    version = service.engine.rules["pm25-spike"]
    with caplog.at_level(logging.ERROR, logger="rules.files"):
        rule_file.write_text(RULES.replace("above: 150", "above: lots"))
        wait_for(lambda: service.counters.reload_failures._value.get() >= 1)
    assert f"{rule_file}:4: rule pm25-spike: rules[0].above: Input should be a valid number" in (
        caplog.text
    )
    spike(publisher)
    [fired] = wait_for(lambda: results_of(city_sql, rule="pm25-spike"))
    assert fired.rule_version == version


def test_a_restarted_service_resumes_open_episodes_and_takes_what_waited_in_the_broker(
    tmp_path, rules_service, publisher, city_sql
):
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(RULES)
    first = rules_service.start([rule_file], mqtt_client_id="rules-restart")
    spike(publisher)
    wait_for(lambda: results_of(city_sql, rule="pm25-spike"))
    rules_service.stop(first)

    spike(publisher)  # the same batch again while the service is down: a replay
    publisher.readings("gw-0001", [reading(100, 3)])
    second = rules_service.start([rule_file], mqtt_client_id="rules-restart")
    assert second.restored == 1
    [resolved] = wait_for(lambda: results_of(city_sql, rule="pm25-spike", outcome="resolved"))
    assert (resolved.window_start, resolved.window_end) == (utc(0), utc(3))
    assert len(results_of(city_sql, rule="pm25-spike")) == 1  # no second episode
    wait_for(lambda: second.counters.readings_ignored.labels("stale")._value.get() == 3)


def test_partitioned_workers_each_take_their_own_gateways(
    tmp_path, rules_service, publisher, city_sql
):
    assert partition_of("gw-0001", 2) != partition_of("gw-0004", 2)
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text("rules: [{id: spike, kind: threshold, metric: pm25, above: 150}]")
    workers = [
        rules_service.start([rule_file], partitions=2, partition=k, mqtt_client_id="rules-p")
        for k in (0, 1)
    ]
    for gateway in ("gw-0001", "gw-0004"):
        publisher.readings(gateway, [reading(200, 0)])
    wait_for(lambda: len(results_of(city_sql, rule="spike")) == 2)
    fired = results_of(city_sql, rule="spike")
    assert {r.gateway for r in fired} == {"gw-0001", "gw-0004"}
    for worker in workers:  # each evaluated the one reading of its own gateway
        assert worker.counters.readings_evaluated._value.get() == 1
    assert [w.settings.client_id for w in workers] == ["rules-p-0", "rules-p-1"]


def test_a_session_left_from_another_partitioning_ignores_gateways_it_no_longer_owns(
    tmp_path, rules_service, publisher, city_sql
):
    assert partition_of("gw-0001", 2) == 1
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text("rules: [{id: spike, kind: threshold, metric: pm25, above: 150}]")
    # One worker subscribed to every gateway under the session id partition 0 of 2 will use.
    rules_service.stop(rules_service.start([rule_file], mqtt_client_id="rules-q-0"))
    worker = rules_service.start([rule_file], partitions=2, partition=0, mqtt_client_id="rules-q")
    publisher.readings("gw-0001", [reading(200, 0)])
    publisher.readings("gw-0004", [reading(200, 0)])
    wait_for(lambda: results_of(city_sql, rule="spike"))
    wait_for(lambda: worker.counters.messages_rejected.labels("other_partition")._value.get() == 1)
    assert [r.gateway for r in results_of(city_sql, rule="spike")] == ["gw-0004"]
