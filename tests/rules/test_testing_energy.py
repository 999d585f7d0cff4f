"""``lantian-rules test`` for energy intensity and annual targets: production figures, daily
values and ``as_of`` stand in for the stores; the evaluators' pure core judges them."""

from pathlib import Path

import pytest

from rules.testing import RuleTestError, load_test_file, run_file

RULES = """
version: "t1"
rules:
  - {id: ei, kind: energy_intensity, window: day, target: 5}
  - {id: path, kind: annual_target, metric: pm25, level: site,
     baseline: {year: 2017, value: 71}, target: {year: 2030, value: 35}, margin: 1}
  - {id: ei-path, kind: annual_target, metric: energy_intensity, level: enterprise,
     baseline: {year: 2020, value: 2.5}, target: {year: 2025, value: 2.0}}
"""

HEAD = """
rule_files: [rules.yaml]
placements:
  gw-1: {county: chiping, enterprise: ent-a, site: site-a}
tests:
"""

# 24 hours of 1 kWh a minute: 1,440 kWh x 0.1229 = 176.976 kgce
DAY = """
  - name: day
    start: 2026-11-26T00:00:00+08:00
    rules: [ei]
    series:
      - {gateway: gw-1, device: em-1, metric: energy_import_delta, interval_s: 60,
         values: "1x1439"}
"""


def write(tmp_path: Path, tests: str) -> Path:
    (tmp_path / "rules.yaml").write_text(RULES)
    path = tmp_path / "city.test.yaml"
    path.write_text(HEAD + tests)
    return path


def summaries(path: Path) -> list[str]:
    report = run_file(path)
    assert not report.problems, report.problems
    return [
        f"{'PASS' if c.passed else 'FAIL'} {c.summary}" + "".join(f"\n{x}" for x in c.lines)
        for c in report.cases
    ]


@pytest.mark.parametrize(
    ("quantity", "outcome", "value"),
    [(30, "exceeding", 5.8992), (40, "compliant", 4.4244), (0, "insufficient_data", None)],
)
def test_a_day_of_energy_over_submitted_output(tmp_path, quantity, outcome, value):
    value_text = "null" if value is None else value
    path = write(
        tmp_path,
        DAY
        + f"""    production:
      - {{enterprise: ent-a, period: day, period_start: 2026-11-26, quantity: {quantity},
         unit: t}}
    expect_results:
      - {{rule: ei, subject: "enterprise:ent-a", outcome: {outcome}, start: 0, end: 24h,
         value: {value_text}, limit: 5, evidence: {{kgce: 176.976}}}}
""",
    )
    assert summaries(path) == ["PASS 1 expectation met"]


def test_missing_minutes_make_the_energy_incomplete(tmp_path):
    # 1,200 of 1,440 minutes: 83 % coverage, a lower bound of 1,200 x 0.1229 / 100 = 1.4748
    path = write(
        tmp_path,
        DAY.replace('"1x1439"', '"1x1199"')
        + """    production: [{enterprise: ent-a, period: day, period_start: 2026-11-26,
                  quantity: 100, unit: t}]
    expect_results:
      - {rule: ei, outcome: insufficient_data, value: null,
         evidence: {energy: {coverage: {site-a/em-1: 0.833333}}}}
""",
    )
    assert summaries(path) == ["PASS 1 expectation met"]


def test_an_unexpected_exceeding_energy_result_fails(tmp_path):
    path = write(
        tmp_path,
        DAY + "    production: [{enterprise: ent-a, period: day, period_start: 2026-11-26,"
        " quantity: 1, unit: t}]\n    expect_results: []\n",
    )
    [line] = summaries(path)
    assert line.startswith("FAIL 1 unexpected result")
    assert "ei enterprise:ent-a 2026-11-26: exceeding, value 176.976, limit 5" in line


YEAR = """
  - name: year
    start: 2026-01-01T00:00:00+08:00
    rules: [path]
    as_of: 2026-01-10
    daily:
      - {site: site-a, metric: pm25, start: 2026-01-01, values: "VALUES"}
    expect_results:
      - {rule: path, subject: "site:site-a", EXPECTED}
"""

YEAR_OK = YEAR.replace("VALUES", "45x9").replace("EXPECTED", "outcome: on_track")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ("45x9", "outcome: on_track, value: 45, limit: 46.076923"),
        ("47x9", "outcome: on_track, value: 47"),  # 0.92 above the path: within the margin
        ("48x9", "outcome: projected_miss, value: 48"),
        ("45x7 _ 45", "outcome: on_track, evidence: {days_counted: 9, days_required: 9}"),
        ("45x7 _x2", "outcome: insufficient_data, value: null"),  # 8 days of 9 required
        ("45x9 90x5", "value: 45"),  # days after as_of are not read
    ],
)
def test_a_year_to_date_against_the_path(tmp_path, values, expected):
    path = write(tmp_path, YEAR.replace("VALUES", values).replace("EXPECTED", expected))
    assert summaries(path) == ["PASS 1 expectation met"]


def test_an_enterprise_energy_path_from_daily_deltas_and_figures(tmp_path):
    # 2 days of 1 kWh a minute and 100 t each: 2 x 176.976 / 200 = 1.76976 kgce/t, on track
    path = write(
        tmp_path,
        """
  - name: energy path
    start: 2026-01-01T00:00:00+08:00
    rules: [ei-path]
    as_of: 2026-01-02
    series:
      - {gateway: gw-1, device: em-1, metric: energy_import_delta, interval_s: 60,
         values: "1x2879"}
    production:
      - {enterprise: ent-a, period: day, period_start: 2026-01-01, quantity: 100, unit: t}
      - {enterprise: ent-a, period: day, period_start: 2026-01-02, quantity: 100, unit: t}
    expect_results:
      - {rule: ei-path, subject: "enterprise:ent-a", outcome: on_track, value: 1.76976,
         evidence: {periods_reported: 2, periods_left_out: 0}}
""",
    )
    assert summaries(path) == ["PASS 1 expectation met"]


def test_an_unexpected_projected_miss_fails(tmp_path):
    text = YEAR.replace("VALUES", "60x9").split("    expect_results:")[0]
    path = write(tmp_path, text + "    expect_results: []\n")
    [line] = summaries(path)
    assert line.startswith("FAIL 1 unexpected result")
    assert "path site:site-a 2026-01-10: projected_miss, value 60" in line


def test_annual_targets_without_as_of_are_listed_as_not_evaluated(tmp_path):
    text = YEAR.replace("VALUES", "45x9").replace("    as_of: 2026-01-10\n", "")
    path = write(tmp_path, text.split("    expect")[0])
    report = run_file(path)
    assert report.not_evaluated == ("path",)
    assert [c.passed for c in report.cases] == [True]


@pytest.mark.parametrize(
    ("tests", "problem"),
    [
        (
            YEAR_OK.replace("    as_of: 2026-01-10\n", ""),
            (
                "13: tests[0].expect_results[0].rule: path is an annual_target rule: give the "
                "test's as_of"
            ),
        ),
        (
            YEAR_OK.replace("site: site-a", "site: site-z"),
            "12: tests[0].daily[0].site: site-z is not a placed site",
        ),
        (
            YEAR_OK.replace('"45x9"', '"M:45x9"'),
            (
                "12: tests[0].daily[0]: Value error, daily values carry no data flag: write 40, "
                "not M:40"
            ),
        ),
        (
            DAY + "    production: [{enterprise: ent-a, period: month, period_start: 2026-11-02,"
            " quantity: 1, unit: t}]\n",
            "13: tests[0].production[0]: Value error, a month's period_start is its 1st day",
        ),
        (
            DAY + "    expect_windows: [{rule: ei, window: 2026-11-26}]\n",
            "13: tests[0].expect_windows[0].rule: ei is a energy_intensity rule, not a window rule",
        ),
    ],
)
def test_load_errors_name_the_line(tmp_path, tests, problem):
    path = write(tmp_path, tests)
    with pytest.raises(RuleTestError) as raised:
        load_test_file(path)
    assert raised.value.lines == (f"{path}:{problem}",)
