"""Annual targets, pure: days required, level means, subjects, and the year's verdict."""

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from rules.annual_means import day_runs, level_days, required_days, too_few
from rules.model import AnnualTargetRule
from rules.targets import (
    ON_TRACK,
    PROJECTED_MISS,
    YearToDate,
    due,
    judge_year,
    level_of,
    subjects,
)
from standards import day_bounds
from store.sql import Placement

HENGTONG = Placement(
    "gw-0001", "site-hengtong-east", "ent-hengtong-al", "xinfa-materials", "chiping"
)
HENGTONG_WEST = Placement(
    "gw-0009", "site-hengtong-west", "ent-hengtong-al", "xinfa-materials", "chiping"
)
SHUICHENG = Placement("gw-0006", "site-shuicheng-yard", "ent-shuicheng-print", None, "dongchangfu")


def target_rule(**fields):
    return AnnualTargetRule.model_validate(
        {
            "id": "pm25-path",
            "kind": "annual_target",
            "metric": "pm25",
            "baseline": {"year": 2017, "value": 71},
            "target": {"year": 2030, "value": 35},
        }
        | fields
    )


def days(first: date, count: int, value: float = 40.0) -> dict[date, float]:
    return {first + timedelta(days=n): value for n in range(count)}


# --- days required --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "required"),
    [
        (date(2026, 1, 1), 1),  # 324 / 365, rounded up
        (date(2026, 1, 3), 3),
        (date(2026, 1, 5), 5),
        (date(2026, 7, 1), 162),  # 324 * 182 / 365 = 161.5
        (date(2026, 12, 31), 324),  # GB 3095-2012 Table 4
        (date(2028, 12, 31), 324),  # a leap year needs no more
    ],
)
def test_the_annual_minimum_is_pro_rated_to_the_days_elapsed(as_of, required):
    assert required_days(as_of) == required


def test_too_few_days_says_how_many_and_how_many_are_required():
    assert too_few(days(date(2026, 1, 1), 3), date(2026, 1, 3)) is None
    assert too_few(days(date(2026, 1, 1), 4), date(2026, 1, 5)) == (
        "4 daily values, 5 required by 2026-01-05 (GB 3095-2012 Table 4)"
    )


def test_at_the_years_end_every_month_needs_its_days():
    year = days(date(2026, 1, 1), 365)
    for n in range(5):  # February keeps 23 of 28 days: 360 in the year, but 25 are required
        del year[date(2026, 2, 1 + n)]

    assert too_few(year, date(2026, 12, 31)) == (
        "annual mean of 2026: insufficient data "
        "(2026-02 has 23, at least 25 required; GB 3095-2012 Table 4)"
    )
    assert too_few(days(date(2026, 1, 1), 365), date(2026, 12, 31)) is None


# --- levels ---------------------------------------------------------------------------------


def test_a_levels_daily_value_is_the_mean_of_its_sites_that_day():
    site_days = {
        "a": {date(2026, 1, 1): 40.0, date(2026, 1, 2): 50.0},
        "b": {date(2026, 1, 1): 70.0},
        "c": {date(2026, 1, 1): 1000.0},  # not a member
    }

    assert level_days(site_days, ["a", "b"]) == {date(2026, 1, 1): 55.0, date(2026, 1, 2): 50.0}
    assert level_days(site_days, ["z"]) == {}


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (
            "site",
            (
                "site:site-hengtong-east",
                ("chiping", "xinfa-materials", "ent-hengtong-al", "site-hengtong-east"),
            ),
        ),
        (
            "enterprise",
            ("enterprise:ent-hengtong-al", ("chiping", "xinfa-materials", "ent-hengtong-al", None)),
        ),
        ("park", ("park:xinfa-materials", ("chiping", "xinfa-materials", None, None))),
        ("county", ("county:chiping", ("chiping", None, None, None))),
        ("city", ("city", (None, None, None, None))),
    ],
)
def test_a_site_belongs_to_one_subject_per_level(level, expected):
    assert level_of(level, HENGTONG) == expected


def test_a_site_outside_any_park_has_no_park_subject():
    assert level_of("park", SHUICHENG) is None
    assert set(subjects("park", [HENGTONG, SHUICHENG])) == {"park:xinfa-materials"}


def test_subjects_gather_their_sites():
    found = subjects("enterprise", [HENGTONG_WEST, SHUICHENG, HENGTONG])

    assert found["enterprise:ent-hengtong-al"][1] == ["site-hengtong-east", "site-hengtong-west"]
    assert subjects("city", [HENGTONG, SHUICHENG])["city"][1] == [
        "site-hengtong-east",
        "site-shuicheng-yard",
    ]


def test_a_year_is_cut_into_runs_of_local_days():
    runs = list(day_runs(date(2026, 1, 1), date(2026, 1, 18), 7))

    assert runs == [
        (day_bounds(date(2026, 1, 1)).start_ms, day_bounds(date(2026, 1, 8)).start_ms),
        (day_bounds(date(2026, 1, 8)).start_ms, day_bounds(date(2026, 1, 15)).start_ms),
        (day_bounds(date(2026, 1, 15)).start_ms, day_bounds(date(2026, 1, 18)).start_ms),
    ]


# --- the year's verdict ---------------------------------------------------------------------

# The path from 71 (2017) to 35 (2030) allows 71 - 36 * 9 / 13 = 46.076923 in 2026.
ALLOWED_2026 = 46.076923
AS_OF = date(2026, 3, 31)
WHERE = ("chiping", None, None, None)


def year(value, problem=None):
    return YearToDate(value, 90, problem, {"sites": ["site-hengtong-east"]}, "GB 3095-2012 Table 4")


@pytest.mark.parametrize(
    ("value", "margin", "outcome"),
    [
        (40.0, 0, ON_TRACK),
        (46.07, 0, ON_TRACK),
        (46.08, 0, PROJECTED_MISS),
        (52.0, 0, PROJECTED_MISS),
        (52.0, 6, ON_TRACK),  # 5.92 over the path, within the margin
        (52.0, 5.9, PROJECTED_MISS),
    ],
)
def test_the_projection_is_compared_with_the_path_and_the_margin(value, margin, outcome):
    result = judge_year(
        target_rule(margin=margin), "2026.1+abc", AS_OF, "county:chiping", WHERE, year(value)
    )

    assert (result.outcome, result.value, result.limit) == (outcome, value, ALLOWED_2026)


def test_the_years_result_starts_with_the_local_year_and_shows_the_projection():
    result = judge_year(target_rule(), "2026.1+abc", AS_OF, "county:chiping", WHERE, year(52.0))

    assert result.subject == "county:chiping"
    assert result.kind == "annual_target"
    assert result.rule_version == "2026.1+abc"
    assert result.standard == "GB 3095-2012 Table 4"
    assert result.window_start == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    assert result.window_end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert (result.county, result.park, result.enterprise, result.site) == WHERE
    evidence = result.evidence
    assert evidence["as_of"] == "2026-03-31"
    assert (evidence["year_to_date"], evidence["days_counted"], evidence["days_elapsed"]) == (
        52.0,
        90,
        90,
    )
    assert evidence["path"] == {
        "baseline": [2017, 71.0],
        "target": [2030, 35.0],
        "value_for_year": ALLOWED_2026,
    }
    assert evidence["projection"] == {
        "method": "year-to-date mean carried to year end",
        "projected": 52.0,
        "gap": 5.923077,
    }
    assert evidence["margin"] == 0.0
    assert evidence["sites"] == ["site-hengtong-east"]


def test_too_few_days_is_insufficient_and_shows_no_value():
    result = judge_year(
        target_rule(), "v", AS_OF, "city", WHERE, year(30.0, "4 daily values, 81 required")
    )

    assert (result.outcome, result.value) == ("insufficient_data", None)
    assert result.evidence["reason"] == "4 daily values, 81 required"
    assert "projection" not in result.evidence
    assert result.evidence["year_to_date"] == 30.0


def test_after_the_target_year_the_target_itself_is_allowed():
    result = judge_year(target_rule(), "v", date(2031, 6, 1), "city", WHERE, year(36.0))
    assert (result.limit, result.outcome) == (35.0, PROJECTED_MISS)


def test_the_target_is_evaluated_at_the_last_closed_local_day():
    just_after_midnight = day_bounds(date(2026, 1, 1)).start_ms + 1
    assert due(just_after_midnight) == date(2025, 12, 31)
    assert due(just_after_midnight - 2) == date(2025, 12, 30)


# --- the rule model -------------------------------------------------------------------------


def test_an_energy_intensity_target_belongs_to_an_enterprise():
    assert target_rule(metric="energy_intensity", level="enterprise").level == "enterprise"
    with pytest.raises(ValidationError, match="level: enterprise"):
        target_rule(metric="energy_intensity", level="city")


def test_a_target_must_come_after_its_baseline():
    with pytest.raises(ValidationError, match="after the baseline"):
        target_rule(target={"year": 2017, "value": 35})
