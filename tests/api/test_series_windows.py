"""Pure parts of the series: windows widened to whole periods, hours resampled into local days."""

from datetime import UTC, date, datetime

import pytest

from api.air import by_hour, daily_mean, hourly_means, minute_values
from api.series import Aggregate, Resolution, aligned_window, daily_points
from standards.windows import hours_of_day
from store.series import PeriodPoint, QualityMinute

HOUR_MS = 3_600_000
# 2026-11-10 00:00 Asia/Shanghai is 2026-11-09 16:00 UTC.
MIDNIGHT = int(datetime(2026, 11, 9, 16, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("resolution", "start", "end", "widened"),
    [
        (Resolution.RAW, 123, 456, (123, 456)),
        (Resolution.MINUTE, 60_001, 119_999, (60_000, 120_000)),
        (Resolution.MINUTE, 60_000, 120_000, (60_000, 120_000)),
        (Resolution.HOUR, HOUR_MS + 1, 2 * HOUR_MS + 1, (HOUR_MS, 3 * HOUR_MS)),
        # 10:00 local on the 10th to 01:00 local on the 11th: both whole local days
        (Resolution.DAY, MIDNIGHT + 10 * HOUR_MS, MIDNIGHT + 25 * HOUR_MS,
         (MIDNIGHT, MIDNIGHT + 48 * HOUR_MS)),
        (Resolution.DAY, MIDNIGHT, MIDNIGHT + 24 * HOUR_MS, (MIDNIGHT, MIDNIGHT + 24 * HOUR_MS)),
    ],
)  # fmt: skip
def test_windows_are_widened_to_whole_periods(resolution, start, end, widened):
    assert aligned_window(resolution, start, end) == widened


def test_hours_fall_into_the_local_day_they_belong_to():
    hourly = [
        PeriodPoint(MIDNIGHT - HOUR_MS, 100.0, 360),  # 23:00 on the 9th, local
        PeriodPoint(MIDNIGHT, 10.0, 360),
        PeriodPoint(MIDNIGHT + 23 * HOUR_MS, 20.0, 300),
        PeriodPoint(MIDNIGHT + 24 * HOUR_MS, 7.0, 60),  # 00:00 on the 11th
    ]

    means = daily_points(hourly, Aggregate.MEAN)
    peaks = daily_points(hourly, Aggregate.MAX)

    assert [(p.ts, p.value, p.count) for p in means] == [
        (MIDNIGHT - 24 * HOUR_MS, 100.0, 360),
        (MIDNIGHT, 15.0, 660),
        (MIDNIGHT + 24 * HOUR_MS, 7.0, 60),
    ]
    assert [p.value for p in peaks] == [100.0, 20.0, 7.0]
    assert daily_points([], Aggregate.MIN) == []


def test_a_minute_takes_its_included_flags_and_is_excluded_only_without_them():
    t = MIDNIGHT
    rows = [
        QualityMinute(t, "M", 500.0),
        QualityMinute(t, "N", 10.0),
        QualityMinute(t, "T", 30.0),
        QualityMinute(t + 60_000, "M", 400.0),
        QualityMinute(t + 60_000, "C", 300.0),
        QualityMinute(t + 120_000, "N", 12.0),
    ]

    assert minute_values(rows) == {
        t: (20.0, "T"),  # the mean of N and T; over range makes it a lower bound
        t + 60_000: (300.0, "C"),  # excluded, under the first excluded flag
        t + 120_000: (12.0, "N"),
    }


def test_hourly_and_daily_means_follow_gb_3095_table_4():
    # GB 3095-2012 Table 4: 45 minute values make an hour, 20 hourly values a day.
    minutes = {MIDNIGHT + n * 60_000: (10.0, "N") for n in range(20 * 60)}
    minutes |= {MIDNIGHT + 20 * HOUR_MS + n * 60_000: (40.0, "N") for n in range(44)}
    hours = hourly_means(by_hour(minutes), hours_of_day(date(2026, 11, 10)))

    assert [h.valid for h in hours] == [True] * 20 + [False] * 4
    assert hours[20].count == 44
    day = daily_mean(hours)
    assert (day.valid, day.value, day.count) == (True, 10.0, 20)
    assert daily_mean(hours[:19]).valid is False
