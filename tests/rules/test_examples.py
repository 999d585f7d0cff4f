"""The shipped example rules for Liaocheng: they check, their tests pass, and a wrong
expectation fails with a readable diff and a JUnit failure."""

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from rules.cli import main
from rules.testing import load_test_file

EXAMPLES = Path(__file__).resolve().parents[2] / "rules" / "examples"
RULES = EXAMPLES / "liaocheng.yaml"
TESTS = EXAMPLES / "liaocheng.test.yaml"


def test_the_example_rules_check(capsys):
    assert main(["check", str(RULES)]) == 0
    assert capsys.readouterr().out.startswith(f"OK {RULES}: version 2026.1+")


def test_the_example_tests_pass(capsys):
    assert main(["test", str(TESTS)]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert out.endswith("13 tests, 0 failed\n")


def test_the_console_command_exits_0_on_the_examples():
    done = subprocess.run(
        [sys.executable, "-m", "rules.cli", "test", str(TESTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_example_rule_has_a_test():
    loaded = load_test_file(TESTS)
    expected = {e.rule for test in loaded.file.tests for e in test.expect_results}
    expected |= {e.rule for test in loaded.file.tests for e in test.expect_windows}
    assert expected == set(loaded.rules())


def test_a_wrong_expectation_fails_with_a_diff_and_a_junit_failure(tmp_path, capsys):
    shutil.copy(RULES, tmp_path / RULES.name)
    tests = tmp_path / TESTS.name
    text = TESTS.read_text(encoding="utf-8")
    right = "outcome: exceeding,\n         value: 80, limit: 75"
    assert right in text
    tests.write_text(text.replace(right, right.replace("80", "81")), encoding="utf-8")
    junit = tmp_path / "rules.junit.xml"

    assert main(["test", str(tests), "--junit", str(junit)]) == 1

    out = capsys.readouterr().out
    name = "daily means against GB 3095-2012 Grade II and Hengtong's permit, with validity"
    assert f"  FAIL {name}: 1 expectation not met, 1 unexpected result\n" in out
    assert (
        "        pm25-daily site=site-hengtong-east window=2026-11-26 outcome=exceeding value=81 "
        "limit=75 standard=GB 3095-2012 Grade II 24h; validity GB 3095-2012 Table 4 "
        "valid_hours=24\n"
        "          nearest: pm25-daily site:site-hengtong-east 2026-11-26: exceeding, value 80, "
        "limit 75, count 24\n"
        "          differs: value: expected 81, got 80\n"
    ) in out
    assert out.endswith("13 tests, 1 failed\n")
    suite = ET.parse(junit).getroot().find("testsuite")  # noqa: S314 - our own output
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("13", "1", "0")
    failed = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == [name]
    failure = failed[0].find("failure")
    assert failure is not None
    assert "differs: value: expected 81, got 80" in (failure.text or "")
