"""Target paths and year-end projections."""

from datetime import date

import pytest

from standards import (
    LIAOCHENG_PM25_2017,
    Goal,
    TargetPath,
    assess_mean,
    assess_total,
    pm25_path,
    project_mean,
    project_total,
)


@pytest.fixture
def pm25():
    return pm25_path(2022, 35.0)


def test_liaocheng_baseline():
    assert LIAOCHENG_PM25_2017 == 71.0


def test_path_by_year(pm25):
    assert pm25.value_for_year(2017) == 71
    assert pm25.value_for_year(2022) == 35
    assert pm25.value_for_year(2019) == pytest.approx(71 - 36 * 2 / 5)
    assert pm25.value_for_year(2010) == 71  # before the baseline: the baseline
    assert pm25.value_for_year(2030) == 35  # after the target: the target holds


def test_path_by_date_reaches_each_annual_value_on_31_december(pm25):
    assert pm25.value_on(date(2019, 12, 31)) == pytest.approx(pm25.value_for_year(2019))
    midway = (pm25.value_for_year(2019) + pm25.value_for_year(2020)) / 2
    assert pm25.value_on(date(2020, 7, 1)) == pytest.approx(midway, abs=0.05)
    assert pm25.value_on(date(2018, 1, 1)) < 71


def test_path_from_a_reduction():
    path = TargetPath.from_reduction(
        "energy per GDP",
        "tce/10k yuan",
        baseline_year=2020,
        baseline_value=1.0,
        target_year=2025,
        reduction_percent=13.5,
    )
    assert path.target_value == pytest.approx(0.865)
    assert path.value_for_year(2023) == pytest.approx(1 - 0.135 * 3 / 5)


def test_target_year_must_follow_baseline():
    with pytest.raises(ValueError, match="must follow"):
        TargetPath("x", "u", 2022, 1, 2022, 1)


def test_run_rate_projection_of_a_total():
    assert project_total(90, date(2026, 3, 31)) == pytest.approx(365)
    assert project_total(366, date(2028, 12, 31)) == 366


def test_mean_projection():
    assert project_mean(40, date(2026, 6, 30)) == 40
    # 181 days at 40 and 184 at 60
    assert project_mean(40, date(2026, 6, 30), remaining_mean=60) == pytest.approx(
        (40 * 181 + 60 * 184) / 365
    )


def test_projected_to_miss(pm25):
    miss = assess_mean(pm25, 60.0, date(2020, 6, 30))
    assert miss.allowed == pytest.approx(pm25.value_for_year(2020))
    assert miss.will_miss
    assert miss.margin < 0
    made = assess_mean(pm25, 45.0, date(2020, 6, 30))
    assert not made.will_miss
    assert made.margin == pytest.approx(made.allowed - 45.0)


def test_a_winter_assumption_can_turn_the_decision(pm25):
    # A clean summer alone looks fine; last winter's level for the rest of the year does not.
    summer = assess_mean(pm25, 48.0, date(2020, 8, 31))
    assert not summer.will_miss
    with_winter = assess_mean(pm25, 48.0, date(2020, 8, 31), remaining_mean=75.0)
    assert with_winter.will_miss
    assert "75.0" in with_winter.method


def test_energy_total_against_a_cap():
    cap = TargetPath("site energy", "tce", 2024, 10_000, 2026, 9_000)
    projection = assess_total(cap, 2_400, date(2026, 3, 31))
    assert projection.projected == pytest.approx(2_400 * 365 / 90)
    assert projection.will_miss
    assert "run rate" in projection.method


def test_at_least_goal():
    share = TargetPath("clean share", "%", 2020, 10, 2025, 30, goal=Goal.AT_LEAST)
    assert share.misses(15, 2023)
    assert not share.misses(25, 2023)
    projection = assess_mean(share, 25, date(2023, 6, 30))
    assert not projection.will_miss
    assert projection.margin == pytest.approx(25 - 22)
