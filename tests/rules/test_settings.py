"""Settings of the rules service: rule files from one variable, partitions that make sense."""

from pathlib import Path

import pytest
from pydantic import ValidationError

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
