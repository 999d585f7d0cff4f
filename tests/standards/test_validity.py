"""GB 3095 Table 4 validity, flag handling, and the O3 daily maximum 8-hour mean."""

import pytest

from standards import (
    DAILY_MEAN,
    DAILY_MEAN_TSP,
    EIGHT_HOUR_MEAN,
    HJ212_FLAG_POLICY,
    HOURLY_MEAN,
    Averaging,
    FlagTreatment,
    Outcome,
    Pollutant,
    UnknownFlagError,
    daily_max_8h,
    rule_for,
    window_mean,
)
from telemetry import Quality


def normal(values):
    return [(float(v), "N") for v in values]


def test_20_hourly_values_make_a_daily_mean():
    result = window_mean(normal(range(1, 21)), DAILY_MEAN)
    assert result.outcome is Outcome.VALID
    assert result.valid
    assert result.value == 10.5
    assert (result.count, result.missing, result.excluded) == (20, 4, ())
    assert result.version == "GB 3095-2012"
    assert result.source == "GB 3095-2012 Table 4"


def test_19_hourly_values_are_insufficient_data_not_a_pass():
    result = window_mean(normal(range(1, 20)), DAILY_MEAN)
    assert result.outcome is Outcome.INSUFFICIENT
    assert result.outcome.value == "insufficient data"
    assert not result.valid
    assert result.value is None
    assert result.count == 19
    assert "19 of 24 hourly values" in result.reason
    assert "at least 20" in result.reason


def test_flagged_values_are_excluded_and_counted_apart_from_missing():
    values = [*normal([40] * 20), (999.0, "M"), (999.0, "M"), (0.0, "C")]
    result = window_mean(values, DAILY_MEAN)
    assert result.value == 40
    assert result.count == 20
    assert result.excluded == (("C", 1), ("M", 2))
    assert result.excluded_total == 3
    assert result.missing == 1
    assert "3 excluded by flag (C 1, M 2)" in result.reason


def test_exclusions_can_make_a_day_insufficient():
    values = [*normal([40] * 18), *[(40.0, "D")] * 4]
    result = window_mean(values, DAILY_MEAN)
    assert not result.valid
    assert (result.count, result.excluded, result.missing) == (18, (("D", 4),), 2)


@pytest.mark.parametrize("flag", ["F", "M", "S", "D", "C", "B"])
def test_flags_left_out_of_means(flag):
    result = window_mean([*normal([10] * 20), (1000.0, flag)], DAILY_MEAN)
    assert result.value == 10
    assert result.excluded == ((flag, 1),)


def test_over_range_values_are_included_and_make_the_mean_a_lower_bound():
    result = window_mean([*normal([10] * 19), (1000.0, "T")], DAILY_MEAN)
    assert result.valid
    assert result.value == pytest.approx((19 * 10 + 1000) / 20)
    assert result.over_range == 1
    assert result.lower_bound


def test_the_policy_covers_every_telemetry_quality_letter():
    assert set(HJ212_FLAG_POLICY) == {q.value for q in Quality}
    result = window_mean([*normal([1] * 20), (9.0, Quality.MAINTENANCE)], DAILY_MEAN)
    assert result.excluded == (("M", 1),)


def test_a_caller_may_include_manual_values():
    policy = {**HJ212_FLAG_POLICY, "S": FlagTreatment.INCLUDE}
    result = window_mean([*normal([10] * 19), (30.0, "S")], DAILY_MEAN, flags=policy)
    assert result.valid
    assert result.value == 11


def test_unknown_flags_are_refused():
    with pytest.raises(UnknownFlagError) as caught:
        window_mean([(1.0, "X")], DAILY_MEAN)
    assert caught.value.flag == "X"


def test_more_values_than_slots_is_an_error():
    with pytest.raises(ValueError, match="25 values"):
        window_mean(normal([1] * 25), DAILY_MEAN)


def test_nan_is_refused():
    with pytest.raises(ValueError, match="finite"):
        window_mean([(float("nan"), "N")], DAILY_MEAN)


def test_hourly_value_needs_45_minutes():
    assert window_mean(normal([5] * 45), HOURLY_MEAN).valid
    short = window_mean(normal([5] * 44), HOURLY_MEAN)
    assert not short.valid
    assert short.missing == 16
    assert HOURLY_MEAN.verify  # the reference marks the minute rule "verify"


def test_8_hour_mean_needs_6_hours():
    assert window_mean(normal([5] * 6), EIGHT_HOUR_MEAN).valid
    assert not window_mean(normal([5] * 5), EIGHT_HOUR_MEAN).valid


def test_tsp_daily_mean_needs_the_full_day():
    assert rule_for(Pollutant.TSP, Averaging.DAY) is DAILY_MEAN_TSP
    assert not window_mean(normal([5] * 23), DAILY_MEAN_TSP).valid
    assert window_mean(normal([5] * 24), DAILY_MEAN_TSP).valid


def test_rule_lookup():
    assert rule_for(Pollutant.PM25, Averaging.DAY) is DAILY_MEAN
    assert rule_for(Pollutant.O3, Averaging.EIGHT_HOURS) is EIGHT_HOUR_MEAN
    assert rule_for(Pollutant.SO2, Averaging.HOUR) is HOURLY_MEAN
    with pytest.raises(LookupError):
        rule_for(Pollutant.PM25, Averaging.YEAR)


def hours(values):
    return [None if v is None else (float(v), "N") for v in values]


def test_daily_max_8h_takes_the_windows_ending_8_to_24():
    result = daily_max_8h(hours(range(24)))
    assert result.valid
    assert result.value == 19.5  # hours 16..23
    assert result.count == 17
    assert result.version == "HJ 663-2013"


def test_daily_max_8h_first_window_runs_from_midnight_to_8():
    # A peak in hour 0 reaches only the window ending 08:00; none reaches into the day before.
    values = [800, *[0] * 23]
    assert daily_max_8h(hours(values)).value == 100


def test_daily_max_8h_with_too_few_windows_is_insufficient_unless_it_exceeds():
    values: list[int | None] = list(range(24))
    values[8] = values[9] = values[10] = None  # windows starting 3..8 lose three hours
    result = daily_max_8h(hours(values))
    assert result.count == 11
    assert not result.valid
    assert result.value is None
    assert result.missing == 3
    exceeding = daily_max_8h(hours(values), limit=19)
    assert exceeding.valid
    assert exceeding.value == 19.5
    assert "exceeds" in exceeding.reason
    assert not daily_max_8h(hours(values), limit=20).valid


def test_daily_max_8h_counts_flags_over_the_day():
    values = hours(range(24))
    values[3] = (500.0, "C")
    result = daily_max_8h(values)
    assert result.excluded == (("C", 1),)
    assert result.value == 19.5


def test_daily_max_8h_needs_24_hours():
    with pytest.raises(ValueError, match="24 clock hours"):
        daily_max_8h(hours(range(23)))
