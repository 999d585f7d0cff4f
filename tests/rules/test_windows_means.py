"""Window rules, pure: site minutes, hourly and daily validity, flags, Asia/Shanghai windows."""

from datetime import UTC, date, datetime

import pytest

from rules.windows import (
    MinuteAggregate,
    RegulatoryWindow,
    SiteHour,
    WindowJob,
    daily_mean,
    empty_hour,
    hourly_mean,
    validity_for,
)
from standards import (
    DAILY_MEAN,
    DAILY_MEAN_TSP,
    HOURLY_MEAN,
    Averaging,
    hour_window,
    hours_of_day,
)

DAY = date(2026, 11, 26)
DAY_START = int(datetime(2026, 11, 25, 16, 0, tzinfo=UTC).timestamp() * 1000)  # 00:00 local
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
HOUR = hour_window(DAY_START + 8 * HOUR_MS)  # 08:00-09:00 local


def minute(n, value=40.0, quality="N", *, device="pm-1", valid=True, unsynced=False, hour=HOUR):
    return MinuteAggregate(
        ts_ms=hour.start_ms + n * MINUTE_MS,
        device=device,
        value=value,
        quality=quality,
        valid=valid,
        unsynced=unsynced,
    )


def hour_of(values, start_hour=HOUR) -> SiteHour:
    return hourly_mean(
        [minute(n, v, hour=start_hour) for n, v in enumerate(values)], start_hour, HOURLY_MEAN
    )


# --- one hour ---------------------------------------------------------------------------------


def test_an_hour_with_45_minutes_is_valid_and_its_value_is_their_mean():
    hour = hourly_mean([minute(n, 30.0 + n % 2) for n in range(45)], HOUR)
    assert hour.mean.valid
    assert hour.value == pytest.approx((23 * 30.0 + 22 * 31.0) / 45)
    assert (hour.mean.count, hour.mean.missing) == (45, 15)


def test_an_hour_with_44_minutes_is_insufficient_and_has_no_value():
    hour = hourly_mean([minute(n, 500.0) for n in range(44)], HOUR)
    assert not hour.mean.valid
    assert hour.value is None
    assert hour.mean.outcome == "insufficient data"
    assert "44 of 60 minute values usable" in hour.mean.reason


def test_flagged_minutes_are_excluded_and_counted_by_flag_apart_from_missing():
    minutes = [
        *(minute(n, 40.0) for n in range(45)),
        *(minute(n, 900.0, "M") for n in range(45, 50)),  # maintenance
        *(minute(n, 900.0, "C") for n in range(50, 52)),  # calibration
        *(minute(n, 900.0, "D") for n in range(52, 53)),  # fault
        *(minute(n, 900.0, "F") for n in range(53, 54)),  # stopped
    ]
    hour = hourly_mean(minutes, HOUR)
    assert hour.value == 40.0
    assert hour.mean.excluded == (("C", 2), ("D", 1), ("F", 1), ("M", 5))
    assert hour.mean.missing == 6


def test_exclusion_can_make_an_hour_insufficient_never_compliant():
    minutes = [*(minute(n) for n in range(40)), *(minute(n, quality="C") for n in range(40, 60))]
    hour = hourly_mean(minutes, HOUR)
    assert hour.value is None
    assert (hour.mean.count, hour.mean.excluded_total, hour.mean.missing) == (40, 20, 0)


def test_over_range_minutes_are_included_and_make_the_value_a_lower_bound():
    minutes = [
        *(minute(n, 100.0) for n in range(50)),
        *(minute(n, 1000.0, "T") for n in range(50, 60)),
    ]
    hour = hourly_mean(minutes, HOUR)
    assert hour.value == pytest.approx(250.0)
    assert hour.mean.over_range == 10
    assert hour.mean.lower_bound


def test_a_minute_the_gateway_marked_invalid_is_missing_and_counted_as_incomplete():
    minutes = [*(minute(n) for n in range(45)), *(minute(n, valid=False) for n in range(45, 60))]
    hour = hourly_mean(minutes, HOUR)
    assert hour.mean.valid
    assert (hour.mean.count, hour.mean.missing, hour.incomplete) == (45, 15, 15)
    short = hourly_mean([*minutes[:44], minute(44, valid=False)], HOUR)
    assert short.value is None
    assert short.incomplete == 1


def test_a_minute_without_validity_is_taken_as_complete():
    hour = hourly_mean([minute(n, valid=None) for n in range(45)], HOUR)
    assert hour.mean.valid


def test_minutes_stamped_with_an_unsynchronised_clock_are_missing_and_counted():
    minutes = [*(minute(n) for n in range(44)), *(minute(n, unsynced=True) for n in range(44, 60))]
    hour = hourly_mean(minutes, HOUR)
    assert hour.value is None
    assert (hour.unsynced, hour.mean.missing) == (16, 16)


def test_several_devices_give_one_minute_the_mean_of_their_usable_values():
    minutes = [
        *(minute(n, 30.0, device="pm-1") for n in range(60)),
        *(minute(n, 50.0, device="pm-2") for n in range(60)),
    ]
    hour = hourly_mean(minutes, HOUR)
    assert hour.value == 40.0
    assert hour.mean.count == 60  # minutes, not aggregates
    assert hour.devices == ("pm-1", "pm-2")


def test_a_device_in_maintenance_is_backed_up_by_another_at_the_site():
    minutes = [
        *(minute(n, 900.0, "M", device="pm-1") for n in range(60)),
        *(minute(n, 50.0, device="pm-2") for n in range(45)),
    ]
    hour = hourly_mean(minutes, HOUR)
    assert hour.value == 50.0
    assert hour.mean.excluded == (("M", 15),)  # only the minutes pm-2 did not cover


def test_a_minute_flagged_differently_by_two_devices_counts_under_the_first_device():
    minutes = [minute(0, quality="M", device="pm-b"), minute(0, quality="C", device="pm-a")]
    assert hourly_mean(minutes, HOUR).mean.excluded == (("C", 1),)


def test_an_unknown_flag_is_excluded_never_trusted():
    hour = hourly_mean([*(minute(n) for n in range(45)), minute(45, quality="X")], HOUR)
    assert hour.mean.excluded == (("X", 1),)


def test_a_minute_outside_the_hour_is_refused():
    with pytest.raises(ValueError, match="outside the hour"):
        hourly_mean([minute(60)], HOUR)


def test_the_same_minutes_in_any_order_give_exactly_the_same_hour():
    minutes = [minute(n, 10.0 + n * 0.1, device=f"pm-{n % 3}") for n in range(60)]
    assert hourly_mean(minutes, HOUR) == hourly_mean(list(reversed(minutes)), HOUR)


# --- one day ----------------------------------------------------------------------------------


def day_of(hourly_values):
    """A day whose first hours have these values (every minute), the rest no data."""
    clock = hours_of_day(DAY)
    hours = [hour_of([v] * 60, clock[n]) for n, v in enumerate(hourly_values)]
    return daily_mean(hours, DAY, DAILY_MEAN)


def test_a_day_with_20_hourly_values_is_valid_and_its_value_is_their_mean():
    day = day_of([10.0] * 10 + [20.0] * 10)
    assert day.mean.valid
    assert day.value == 15.0
    assert (day.mean.count, day.mean.missing) == (20, 4)
    assert len(day.hours) == 24


def test_a_day_with_19_hourly_values_is_insufficient():
    day = day_of([1000.0] * 19)
    assert day.value is None
    assert day.mean.outcome == "insufficient data"


def test_an_insufficient_hour_is_a_missing_hourly_value_of_the_day():
    clock = hours_of_day(DAY)
    hours = [hour_of([50.0] * 60, clock[n]) for n in range(20)]
    hours[3] = hour_of([50.0] * 44, clock[3])
    day = daily_mean(hours, DAY)
    assert day.value is None
    assert day.mean.count == 19
    assert day.hours[3].value is None


def test_tsp_needs_every_hour_of_the_day():
    assert validity_for("tsp", Averaging.DAY) is DAILY_MEAN_TSP
    assert validity_for("pm25", Averaging.DAY) is DAILY_MEAN
    assert validity_for("temperature", Averaging.HOUR) is HOURLY_MEAN
    clock = hours_of_day(DAY)
    hours = [hour_of([50.0] * 60, clock[n]) for n in range(23)]
    assert daily_mean(hours, DAY, DAILY_MEAN_TSP).value is None


def test_a_day_of_lower_bound_hours_is_a_lower_bound():
    clock = hours_of_day(DAY)
    hours = [
        hourly_mean([minute(n, 1000.0, "T", hour=clock[h]) for n in range(60)], clock[h])
        for h in range(24)
    ]
    day = daily_mean(hours, DAY)
    assert day.value == 1000.0
    assert day.mean.lower_bound


def test_an_hour_of_another_day_is_refused():
    stray = empty_hour(hour_window(DAY_START - HOUR_MS))
    with pytest.raises(ValueError, match="not hours of 2026-11-26"):
        daily_mean([stray], DAY)


# --- windows in Asia/Shanghai -----------------------------------------------------------------


def test_a_calendar_day_runs_from_local_midnight_which_is_16_00_utc_the_day_before():
    window = RegulatoryWindow.day(DAY)
    assert window.start_ms == DAY_START
    assert window.end_ms == DAY_START + 24 * HOUR_MS
    assert RegulatoryWindow.of("day", DAY_START - 1) == window.previous()
    assert RegulatoryWindow.of("day", DAY_START - 1).local_day == date(2026, 11, 25)
    assert window.following().local_day == date(2026, 11, 27)
    assert window.label == "2026-11-26"
    assert [h.start_ms for h in window.hours()] == [DAY_START + n * HOUR_MS for n in range(24)]


def test_a_clock_hour_is_labelled_in_local_time():
    window = RegulatoryWindow.hour(DAY_START + 8 * HOUR_MS + 59 * MINUTE_MS)
    assert (window.start_ms, window.end_ms) == (HOUR.start_ms, HOUR.end_ms)
    assert window.label == "2026-11-26T08:00+08:00"
    assert window.local_day == DAY
    assert RegulatoryWindow.hour(DAY_START).previous().local_day == date(2026, 11, 25)


def test_a_job_for_late_data_wants_only_rules_reading_its_metric():
    job = WindowJob(RegulatoryWindow.day(DAY), frozenset({"pm25"}))
    assert job.wants(["pm25", "pm10"])
    assert not job.wants(["tsp"])
    assert WindowJob(job.window).wants(["tsp"])
