"""Window rules, pure: limits in force, outcomes, evidence, and the AQI with its categories."""

from datetime import date
from typing import Any

import pytest
from tests.rules.conftest import rule_set

from rules.files import RuleFileError
from rules.model import AqiRule, WindowMeanRule
from rules.windows import (
    RegulatoryWindow,
    SitePlacement,
    aqi_result,
    daily_mean,
    empty_hour,
    hourly_mean,
    limit_in_force,
    window_mean_result,
)
from rules.windows.means import MinuteAggregate
from standards import hours_of_day

DAY = date(2026, 11, 26)
WINDOW = RegulatoryWindow.day(DAY)
SITE = SitePlacement(
    "site-hengtong-east", "ent-hengtong-al", "xinfa-materials", "chiping", ("gw-0001",)
)
OTHER_SITE = SitePlacement(
    "site-hengtong-west", "ent-hengtong-al", "xinfa-materials", "chiping", ("gw-0003", "gw-0004")
)

RULES = """
version: "2026.1"
permits:
  - {scope: {enterprise: ent-hengtong-al}, metric: pm25, window: day, limit: 60,
     effective_from: 2026-11-01, reference: "ENT-60"}
  - {scope: {site: site-hengtong-east}, metric: pm25, window: day, limit: 50,
     effective_from: 2026-11-26, effective_until: 2026-11-30, reference: "SITE-50"}
rules:
  - {id: pm25-daily, kind: window_mean, metric: pm25, window: day, severity: major}
  - {id: pm25-daily-strict, kind: window_mean, metric: pm10, window: day, limit: 100}
  - {id: pm25-hourly, kind: window_mean, metric: pm25, window: hour}
  - {id: aqi-daily, kind: aqi, window: day}
  - {id: aqi-hourly, kind: aqi, window: hour, alert_from: lightly_polluted}
"""
RULE_SET = rule_set(RULES)


def rule(rule_id: str) -> Any:
    return next(r for r in RULE_SET.file.rules if r.id == rule_id)


def day_mean(value: float, hours: int = 24, metric_day=DAY):
    clock = hours_of_day(metric_day)
    minutes = lambda h: [  # noqa: E731 - a table row builder
        MinuteAggregate(h.start_ms + n * 60_000, "pm-1", value, "N", True) for n in range(60)
    ]
    return daily_mean([hourly_mean(minutes(clock[n]), clock[n]) for n in range(hours)], metric_day)


def limit(day: date, site: SitePlacement = SITE, metric: str = "pm25", text: str = RULES):
    return limit_in_force(
        rule_set(text).file,
        metric=metric,
        window="day",
        rule_limit=None,
        placement=site,
        day=day,
    )


# --- the limit in force ---------------------------------------------------------------------


def test_the_site_permit_beats_the_enterprise_permit_while_in_force():
    found = limit(date(2026, 11, 26))
    assert (found.value, found.source, found.label) == (50, "permit", "permit SITE-50")
    assert limit(date(2026, 12, 1)).label == "permit ENT-60"  # the site permit ended
    assert limit(date(2026, 11, 26), OTHER_SITE).label == "permit ENT-60"


def test_before_any_permit_the_standard_applies_for_the_files_grade():
    found = limit(date(2026, 10, 31))
    assert (found.value, found.source) == (75, "standard")
    assert found.label == "GB 3095-2012 Grade II 24h"
    assert found.version == "GB 3095-2012"
    grade_one = limit(date(2026, 10, 31), text="grade: I\n")
    assert grade_one.value == 35


def test_the_rules_own_limit_beats_the_standard_and_yields_to_a_permit():
    file = rule_set(RULES).file
    kwargs: Any = {"metric": "pm25", "window": "day", "rule_limit": 70.0, "placement": SITE}
    assert limit_in_force(file, day=date(2026, 10, 1), **kwargs).source == "rule"
    assert limit_in_force(file, day=date(2026, 11, 2), **kwargs).source == "permit"


def test_the_reported_2026_revision_is_used_only_when_the_file_opts_in():
    later = date(2027, 1, 1)
    assert limit(later, metric="pm10").value == 150  # GB 3095-2012 Table 1
    drafted = limit(later, metric="pm10", text="draft_standards: true\n")
    assert drafted.value == 120  # GB 3095-2026 (reported), transition phase
    assert drafted.version == "GB 3095-2026"
    assert limit(date(2026, 2, 28), metric="pm10", text="draft_standards: true\n").value == 150


def test_gb_3095_sets_no_hourly_particulate_limit():
    found = limit_in_force(
        RULE_SET.file,
        metric="pm25",
        window="hour",
        rule_limit=None,
        placement=SITE,
        day=DAY,
    )
    assert (found.value, found.source) == (None, "none")


# --- window mean outcomes ---------------------------------------------------------------------


def test_a_mean_strictly_above_the_limit_exceeds_and_one_equal_to_it_complies():
    rule_ = rule("pm25-daily")
    assert window_mean_result(rule_, RULE_SET, WINDOW, SITE, day_mean(50.0)).outcome == "compliant"
    over = window_mean_result(rule_, RULE_SET, WINDOW, SITE, day_mean(50.01))
    assert over.outcome == "exceeding"
    assert over.value == pytest.approx(50.01)
    assert over.limit == 50
    assert over.standard == "permit SITE-50; validity GB 3095-2012 Table 4"


def test_the_result_names_the_site_its_placement_window_and_versions():
    result = window_mean_result(rule("pm25-daily"), RULE_SET, WINDOW, SITE, day_mean(40.0))
    assert result.key == ("pm25-daily", "site:site-hengtong-east", result.window_start)
    assert result.window_start.isoformat() == "2026-11-25T16:00:00+00:00"
    assert result.window_end is not None
    assert result.window_end.isoformat() == "2026-11-26T16:00:00+00:00"
    assert (result.kind, result.severity, result.rule_version) == (
        "window_mean",
        "major",
        RULE_SET.version,
    )
    assert (result.county, result.park, result.enterprise, result.site, result.gateway) == (
        "chiping",
        "xinfa-materials",
        "ent-hengtong-al",
        "site-hengtong-east",
        "gw-0001",
    )
    evidence: Any = result.evidence
    assert evidence["rule_file_version"] == RULE_SET.version
    assert evidence["window_local"] == "2026-11-26"
    assert evidence["limit"]["reference"] == "SITE-50"
    assert evidence["versions"] == {"limit": None, "validity": "GB 3095-2012"}
    assert len(evidence["hours"]) == 24
    assert evidence["hours"][0] == {
        "start_ms": WINDOW.start_ms,
        "value": 40.0,
        "valid": True,
        "count": 60,
        "excluded": {},
        "missing": 0,
        "incomplete": 0,
        "unsynced": 0,
        "over_range": 0,
    }


def test_a_site_with_two_gateways_names_none_of_them():
    result = window_mean_result(rule("pm25-daily"), RULE_SET, WINDOW, OTHER_SITE, day_mean(1.0))
    assert result.gateway is None


def test_insufficient_data_is_its_own_outcome_never_compared():
    result = window_mean_result(rule("pm25-daily"), RULE_SET, WINDOW, SITE, day_mean(900.0, 19))
    assert (result.outcome, result.value) == ("insufficient_data", None)
    assert result.limit == 50  # the limit that would apply, for the report
    evidence: Any = result.evidence
    assert evidence["count"] == 19
    assert "requires at least 20" in evidence["validity"]["reason"]


def test_a_mean_nothing_sets_a_limit_for_is_recorded_but_not_judged():
    hour = RegulatoryWindow.hour(WINDOW.start_ms)
    clock = hour.hours()[0]
    mean = hourly_mean(
        [MinuteAggregate(clock.start_ms + n * 60_000, "pm-1", 300.0, "N") for n in range(60)],
        clock,
    )
    result = window_mean_result(rule("pm25-hourly"), RULE_SET, hour, SITE, mean)
    assert (result.outcome, result.value, result.limit) == ("no_limit", 300.0, None)
    assert result.standard == "validity GB 3095-2012 Table 4"


# --- AQI ---------------------------------------------------------------------------------------


def test_the_daily_aqi_is_the_larger_iaqi_with_its_primary_pollutant():
    # HJ 633-2012 Table 1: PM2.5 80 → 100 + 50·5/40 = 106.25 → 107; PM10 120 → 85.
    result = aqi_result(
        rule("aqi-daily"),
        RULE_SET,
        WINDOW,
        SITE,
        means={"pm25": day_mean(80.0), "pm10": day_mean(120.0)},
    )
    assert (result.value, result.outcome, result.limit) == (107.0, "compliant", 150.0)
    assert result.standard == "HJ 633-2012; validity GB 3095-2012 Table 4"
    evidence: Any = result.evidence
    assert evidence["category"] == {
        "level": 3,
        "key": "lightly_polluted",
        "name_zh": "轻度污染",
        "name_en": "Lightly polluted",
        "colour": "#FF7E00",
    }
    assert evidence["primary"] == ["pm25"]
    assert evidence["exceeding_pollutants"] == ["pm25"]
    assert [(s["pollutant"], s["iaqi"]) for s in evidence["sub_indices"]] == [
        ("pm25", 107),
        ("pm10", 85),
    ]


def test_the_aqi_exceeds_from_the_rules_alert_category_on():
    # PM2.5 160 → 200 + 100·10/100 = 210, 重度污染, at or above 中度污染: exceeding.
    result = aqi_result(rule("aqi-daily"), RULE_SET, WINDOW, SITE, means={"pm25": day_mean(160)})
    assert (result.value, result.outcome) == (210.0, "exceeding")
    # PM2.5 115 is the breakpoint of IAQI 150, the top of 轻度污染: not above the limit.
    top = aqi_result(rule("aqi-daily"), RULE_SET, WINDOW, SITE, means={"pm25": day_mean(115)})
    assert (top.value, top.outcome) == (150.0, "compliant")
    # PM2.5 116 → 150 + 50·1/35 = 151.4 → 152, 中度污染.
    edge = aqi_result(rule("aqi-daily"), RULE_SET, WINDOW, SITE, means={"pm25": day_mean(116)})
    assert (edge.value, edge.outcome) == (152.0, "exceeding")


def test_the_hourly_aqi_indexes_the_hours_mean_against_the_24_hour_breakpoints():
    hour = RegulatoryWindow.hour(WINDOW.start_ms)
    clock = hour.hours()[0]
    mean = hourly_mean(
        [MinuteAggregate(clock.start_ms + n * 60_000, "pm-1", 75.0, "N") for n in range(60)],
        clock,
    )
    result = aqi_result(rule("aqi-hourly"), RULE_SET, hour, SITE, means={"pm25": mean})
    assert (result.value, result.outcome, result.limit) == (100.0, "compliant", 100.0)
    evidence: Any = result.evidence
    assert evidence["category"]["key"] == "good"
    assert "24-hour PM breakpoints" in evidence["method"]


def test_without_any_valid_mean_the_aqi_is_insufficient():
    result = aqi_result(
        rule("aqi-daily"),
        RULE_SET,
        WINDOW,
        SITE,
        means={"pm25": day_mean(500.0, 19), "pm10": day_mean(500.0, 0)},
    )
    assert (result.outcome, result.value) == ("insufficient_data", None)
    evidence: Any = result.evidence
    assert evidence["concentrations"]["pm25"]["valid"] is False


def test_a_pollutant_without_a_valid_mean_takes_no_part():
    result = aqi_result(
        rule("aqi-daily"),
        RULE_SET,
        WINDOW,
        SITE,
        means={"pm25": day_mean(500.0, 19), "pm10": day_mean(50.0)},
    )
    assert result.value == 50.0
    evidence: Any = result.evidence
    assert evidence["primary"] == []  # HJ 633-2012: no primary pollutant at AQI 50 or below


def test_the_previous_windows_category_shows_a_change_of_category():
    previous_day = date(2026, 11, 25)
    result = aqi_result(
        rule("aqi-daily"),
        RULE_SET,
        WINDOW,
        SITE,
        means={"pm25": day_mean(160.0)},
        previous={"pm25": day_mean(30.0, metric_day=previous_day)},
    )
    evidence: Any = result.evidence
    assert evidence["previous_category"]["key"] == "excellent"
    assert evidence["category"]["key"] == "heavily_polluted"
    assert evidence["category_changed"] is True
    unknown = aqi_result(
        rule("aqi-daily"),
        RULE_SET,
        WINDOW,
        SITE,
        means={"pm25": day_mean(160.0)},
        previous={"pm25": daily_mean([empty_hour(hours_of_day(previous_day)[0])], previous_day)},
    )
    assert unknown.evidence["previous_category"] is None
    assert unknown.evidence["category_changed"] is None


def test_the_draft_aqi_table_is_used_only_when_the_file_opts_in():
    drafted = rule_set(RULES.replace('version: "2026.1"', "draft_standards: true"))
    window = RegulatoryWindow.day(date(2027, 1, 1))
    means = {"pm25": day_mean(60.0, metric_day=date(2027, 1, 1))}
    aqi_rule = rule("aqi-daily")
    # HJ 633-2012: 50 + 50·25/40 = 81.25 → 82; HJ 633-2026 (reported): 60 is the IAQI 100 point.
    assert aqi_result(aqi_rule, RULE_SET, window, SITE, means=means).value == 82.0
    result = aqi_result(aqi_rule, drafted, window, SITE, means=means)
    assert result.value == 100.0
    assert result.standard == "HJ 633-2026; validity GB 3095-2012 Table 4"


def test_an_unknown_alert_category_is_an_error_in_the_rule_file():
    with pytest.raises(RuleFileError, match="alert_from: Value error, an AQI category"):
        rule_set("rules:\n  - {id: a, kind: aqi, window: day, alert_from: bad_air}\n")


def test_rule_types_are_what_the_evaluator_dispatches_on():
    assert isinstance(rule("pm25-daily"), WindowMeanRule)
    assert isinstance(rule("aqi-daily"), AqiRule)
