"""``lantian-rules test``: rule tests run offline, their report, JUnit XML and load errors."""

import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from rules.cli import main
from rules.testing import run_file, run_tests

RULES = """
version: "t1"
rules:
  - {id: spike, kind: threshold, metric: pm25, above: 100, for: 2m, clear_below: 80}
  - {id: quiet, kind: no_data, for: 10m}
  - {id: pm25-hourly, kind: window_mean, metric: pm25, window: hour, limit: 75}
  - {id: energy, kind: energy_intensity, window: day, target: 5}
"""

HEAD = """
rule_files: [rules.yaml]
placements:
  gw-1: {county: chiping, park: xinfa-materials, enterprise: ent-a, site: site-a}
  gw-2: {county: yanggu, enterprise: ent-b, site: site-b}
tests:
"""

SPIKE = """
  - name: spike
    start: 2026-11-26T08:00:00+08:00
    rules: [spike]
    series:
      - {gateway: gw-1, device: pm-1, metric: pm25, values: "50 120x3 90 70"}
"""


def write(tmp_path: Path, tests: str, rules: str = RULES) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "rules.yaml").write_text(rules)
    path = tmp_path / "city.test.yaml"
    path.write_text(HEAD + tests)
    return path


def report_of(path: Path) -> list[str]:
    """The lines of the report for one file, without the file's heading and the totals."""
    reports = run_file(path)
    assert not reports.problems, reports.problems
    return [
        f"{'PASS' if c.passed else 'FAIL'} {c.name}: {c.summary}"
        + "".join(f"\n{x}" for x in c.lines)
        for c in reports.cases
    ]


def test_a_passing_file_prints_pass_per_test_and_exits_0(tmp_path, capsys):
    path = write(
        tmp_path,
        SPIKE
        + """    expect_results:
      - {rule: spike, subject: "site:site-a/device:pm-1", outcome: firing, at: 3m, start: 1m,
         value: 120, limit: 100, severity: warning}
      - {rule: spike, outcome: resolved, at: 6m, start: 1m, end: 6m,
         evidence: {cleared_by: {value: 70}, for_s: 120}}
""",
    )
    assert main(["test", str(path)]) == 0
    assert capsys.readouterr().out == (
        f"{path}:\n  PASS spike: 2 expectations met\n1 tests, 0 failed\n"
    )


def test_an_unmet_expectation_shows_the_nearest_result_and_what_differs(tmp_path):
    path = write(
        tmp_path,
        SPIKE
        + """    expect_results:
      - {rule: spike, outcome: firing, at: 2m, value: 120}
      - {rule: spike, outcome: resolved}
""",
    )
    firing = "spike site:site-a/device:pm-1 firing at +3m, start +1m, value 120, limit 100"
    assert report_of(path) == [
        (
            "FAIL spike: 1 expectation not met, 1 unexpected result\n"
            "expected, but no result matched:\n"
            "  spike outcome=firing at=+2m value=120\n"
            f"    nearest: {firing}\n"
            "    differs: at: expected +2m, got +3m\n"
            "given, but not expected (allow_extra: true accepts these):\n"
            f"  {firing}\n"
            "results of spike (2):\n"
            f"  {firing}\n"
            "  spike site:site-a/device:pm-1 resolved at +6m, start +1m, end +6m, value 120, "
            "limit 100"
        )
    ]


def test_a_firing_nobody_expected_fails_unless_the_test_allows_extra(tmp_path):
    strict = SPIKE + "    expect_results: [{rule: spike, outcome: resolved}]\n"
    lenient = strict.replace("name: spike", "name: lenient") + "    allow_extra: true\n"
    path = write(tmp_path, strict + lenient)
    assert report_of(path) == [
        (
            "FAIL spike: 1 unexpected result\n"
            "given, but not expected (allow_extra: true accepts these):\n"
            "  spike site:site-a/device:pm-1 firing at +3m, start +1m, value 120, limit 100"
        ),
        "PASS lenient: 1 expectation met",
    ]


def test_expectations_pair_one_to_one_whatever_their_order(tmp_path):
    # The first expectation would take the firing result if taken greedily, leaving the
    # second with nothing; the pairing gives each its own.
    path = write(
        tmp_path,
        SPIKE
        + """    expect_results:
      - {rule: spike, start: 1m}
      - {rule: spike, outcome: firing}
""",
    )
    assert report_of(path) == ["PASS spike: 2 expectations met"]


def test_readings_come_before_a_tick_at_the_same_time_and_ticks_fire_silences(tmp_path):
    # Raw samples at 0m and 1m, then at 11m; a tick at 11m sees the reading first (quiet for
    # exactly 10 minutes is not yet reported); the tick at 21m finds 10 minutes of silence.
    path = write(
        tmp_path,
        """
  - name: silence
    start: 2026-11-26T08:00:00+08:00
    rules: [quiet]
    series: [{gateway: gw-1, device: pm-1, metric: pm10, values: "1 2 _x9 3"}]
    eval_at: [11m, "2026-11-26T08:21:00+08:00"]
    expect_results:
      - {rule: quiet, subject: "site:site-a/device:pm-1", outcome: firing, at: 21m,
         start: 11m, end: null}
""",
    )
    assert report_of(path) == ["PASS silence: 1 expectation met"]


def test_a_gateway_named_in_watch_fires_no_data_without_sending(tmp_path):
    rules = RULES + "  - {id: gateway-quiet, kind: no_data, subject: gateway, for: 5m}\n"
    path = write(
        tmp_path,
        """
  - name: never sent
    start: 2026-11-26T08:00:00+08:00
    rules: [gateway-quiet]
    watch: [gw-2]
    eval_at: [5m]
    expect_results:
      - {rule: gateway-quiet, subject: "gateway:gw-2", outcome: firing, start: 0m,
         evidence: {seen: false}}
""",
        rules,
    )
    assert report_of(path) == ["PASS never sent: 1 expectation met"]


def test_window_expectations_compare_means_validity_and_flags(tmp_path):
    path = write(
        tmp_path,
        """
  - name: hours
    start: 2026-11-26T08:00:00+08:00
    rules: [pm25-hourly]
    series:
      # 08:00: 44 usable minutes, 6 in maintenance, 10 missing; 09:00: 80 for 50 minutes
      - {gateway: gw-1, device: pm-1, metric: pm25, interval_s: 60,
         values: "50x43 M:999x5 _x10 80x49"}
      - {gateway: gw-2, device: pm-1, metric: pm25, interval_s: 60, valid: false,
         values: "60x59"}
    expect_windows:
      - {rule: pm25-hourly, site: site-a, window: "2026-11-26T08:00+08:00",
         outcome: insufficient_data, value: null, limit: 75, valid_minutes: 44,
         excluded: {M: 6}, missing: 10}
      - {rule: pm25-hourly, site: site-a, window: "2026-11-26T09:00:00+08:00",
         outcome: exceeding, value: 80.0000001, count: 50,
         standard: "rule limit; validity GB 3095-2012 Table 4"}
      - {rule: pm25-hourly, site: site-b, window: "2026-11-26T08:00+08:00",
         outcome: insufficient_data, evidence: {incomplete: 60}}
      - {rule: pm25-hourly, site: site-b, window: "2026-11-26T09:00+08:00",
         outcome: insufficient_data, count: 0}
""",
    )
    assert report_of(path) == ["PASS hours: 4 expectations met"]


def test_an_exceeding_window_nobody_expected_fails(tmp_path):
    path = write(
        tmp_path,
        """
  - name: hours
    start: 2026-11-26T08:00:00+08:00
    rules: [pm25-hourly]
    series: [{gateway: gw-1, device: pm-1, metric: pm25, interval_s: 60, values: "90x59"}]
    expect_windows:
      - {rule: pm25-hourly, site: site-b, window: "2026-11-26T08:00+08:00", value: null}
""",
    )
    assert report_of(path) == [
        (
            "FAIL hours: 1 unexpected result\n"
            "given, but not expected (allow_extra: true accepts these):\n"
            "  pm25-hourly site:site-a 2026-11-26T08:00+08:00: exceeding, value 90, limit 75, "
            "count 60"
        )
    ]


@pytest.mark.parametrize(
    ("tests", "problem"),
    [
        (
            SPIKE.replace("gw-1", "gw-9"),
            "12: tests[0].series[0].gateway: gw-9 has no entry in placements",
        ),
        (
            SPIKE.replace("120x3", "120x"),
            (
                "12: tests[0].series[0].values: Value error, column 4: the count after x must "
                "be a whole number, as in 35x4 (at '120x')"
            ),
        ),
        (
            SPIKE.replace("rules: [spike]", "rules: [spike, nope]"),
            "10: tests[0].rules[1]: no enabled rule 'nope' in the rule files under test",
        ),
        (
            SPIKE + "    production:\n      - {enterprise: ent-z, period: day, period_start: "
            "2026-11-26, quantity: 1, unit: t}\n",
            "14: tests[0].production[0].enterprise: ent-z has no placed site",
        ),
        (
            SPIKE + "    expect_results: [{rule: quiet}]\n",
            "13: tests[0].expect_results[0].rule: quiet is not among this test's rules",
        ),
        (
            SPIKE.replace("rules: [spike]", "rules: [pm25-hourly]")
            + "    expect_windows: [{rule: pm25-hourly, window: 2026-11-26}]\n",
            (
                "13: tests[0].expect_windows[0].window: pm25-hourly judges each hour, and "
                "2026-11-26 is a day"
            ),
        ),
        (
            SPIKE.replace("start: 2026-11-26T08:00:00+08:00", "start: 2026-11-26T08:00:00"),
            "9: tests[0].start: Input should have timezone info",
        ),
        (
            SPIKE + "    eval_at: [soon]\n",
            "13: tests[0].eval_at[0]: Value error, a duration such as 90s, 12m or 1h30m",
        ),
        (
            SPIKE + "    expect: []\n",
            "13: tests[0].expect: Extra inputs are not permitted",
        ),
        (
            SPIKE.replace("2026-11-26T08", "1999-11-26T08"),
            "8: tests[0]: Value error, start must lie between 2000 and 2100, as reading times do",
        ),
        (
            SPIKE + SPIKE,
            "2: <document>: Value error, test name 'spike' is used twice",
        ),
    ],
)
def test_problems_are_named_by_file_line_and_field(tmp_path, capsys, tests, problem):
    path = write(tmp_path, tests)
    assert main(["test", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"ERROR {path}: the test file cannot be used"
    assert out[1] == f"  {path}:{problem}"


def test_readings_the_payload_contract_refuses_fail_the_test_not_the_run(tmp_path):
    path = write(tmp_path, SPIKE.replace('values: "50', 'offset: 40000d, values: "50'))
    assert report_of(path) == ["FAIL spike: bad input\nts: Input should be less than 4102444800000"]


def test_a_broken_rule_file_brings_its_own_problem_lines(tmp_path, capsys):
    path = write(tmp_path, SPIKE, RULES.replace("for: 10m", "for: ten minutes"))
    assert main(["test", str(path)]) == 1
    assert capsys.readouterr().out.splitlines()[1] == (
        f"  {tmp_path / 'rules.yaml'}:5: rule quiet: rules[1].for: Value error, a duration "
        "such as 30s, 10m, 2h or 1d (got 'ten minutes')"
    )


def test_junit_xml_has_a_suite_per_file_a_case_per_test_and_is_the_same_every_run(tmp_path, capsys):
    failing = SPIKE.replace("name: spike", "name: wrong") + "    expect_results: [{rule: nope}]\n"
    good = write(tmp_path / "good", SPIKE + "    allow_extra: true\n")
    broken = write(tmp_path / "broken", failing)
    bad = write(tmp_path / "bad", SPIKE + "    expect_results: [{rule: spike, value: 1}]\n")
    junit = tmp_path / "junit.xml"
    assert main(["test", str(good), str(broken), str(bad), "--junit", str(junit)]) == 1
    first = junit.read_bytes()
    assert run_tests([good, broken, bad], io.StringIO(), junit=junit) == 1
    assert junit.read_bytes() == first
    root = ET.fromstring(first)  # noqa: S314 - our own output
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("errors")) == (
        "testsuites",
        "3",
        "1",
        "1",
    )
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [p.as_posix() for p in (good, broken, bad)]
    assert [(c.tag, c.get("name"), list(c)) for c in suites[0]] == [("testcase", "spike", [])]
    error = suites[1].find("testcase/error")
    assert error is not None
    assert error.get("message") == "the test file cannot be used"
    assert "no enabled rule 'nope'" in (error.text or "")
    failure = suites[2].find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == "1 expectation not met, 1 unexpected result"
    assert "differs: value: expected 1, got 120" in (failure.text or "")
