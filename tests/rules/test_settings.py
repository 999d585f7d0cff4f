"""Settings of the rules service: rule files from one variable, partitions that make sense."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from rules.alerts import AlertPolicy
from rules.settings import RulesSettings


@pytest.mark.parametrize(
    "value", ["a.yaml,rules/b.yaml", " a.yaml , rules/b.yaml ", '["a.yaml", "rules/b.yaml"]']
)
def test_rule_files_are_a_comma_separated_or_json_list(monkeypatch, value):
    monkeypatch.setenv("LANTIAN_RULES_RULE_FILES", value)
    assert RulesSettings().rule_files == [Path("a.yaml"), Path("rules/b.yaml")]


def test_a_worker_of_a_partition_has_a_client_id_of_its_own():
    settings = RulesSettings(rule_files=[Path("a.yaml")], partitions=3, partition=2)
    assert settings.client_id == "lantian-rules-2"
    assert RulesSettings(rule_files=[Path("a.yaml")]).client_id == "lantian-rules"


@pytest.mark.parametrize(
    "values",
    [{"rule_files": []}, {"rule_files": ["a.yaml"], "partitions": 2, "partition": 2}],
)
def test_settings_that_cannot_work_are_refused(values):
    with pytest.raises(ValidationError):
        RulesSettings(**values)


def test_alert_and_delivery_settings_come_from_nested_variables(monkeypatch):
    monkeypatch.setenv("LANTIAN_RULES_ALERTS__GROUP_WINDOW_S", "0")
    monkeypatch.setenv("LANTIAN_RULES_ALERTS__REMIND_EVERY_S", "null")
    monkeypatch.setenv("LANTIAN_RULES_DELIVERY__MQTT__PORT", "8883")
    settings = RulesSettings(rule_files=[Path("a.yaml")], mqtt_host="broker", mqtt_port=1884)
    assert settings.alerts == AlertPolicy(group_window_s=0, remind_every_s=None)
    mqtt = settings.delivery_settings().mqtt
    assert (mqtt.host, mqtt.port) == ("broker", 8883)  # the port given, the service's host


def test_delivery_over_mqtt_defaults_to_the_services_broker():
    settings = RulesSettings(
        rule_files=[Path("a.yaml")],
        mqtt_host="broker",
        mqtt_username="rules",
        mqtt_password="pw",  # noqa: S106 - a test password
    )
    mqtt = settings.delivery_settings().mqtt
    assert (mqtt.host, mqtt.port, mqtt.username) == ("broker", 1883, "rules")
    assert mqtt.password is not None
    assert mqtt.password.get_secret_value() == "pw"
    own = RulesSettings(rule_files=[Path("a.yaml")], delivery={"mqtt": {"host": "alerts"}})
    assert own.delivery_settings().mqtt.host == "alerts"
