"""Regulatory windows in Asia/Shanghai from UTC epoch milliseconds."""

import itertools
from datetime import UTC, date, datetime, timedelta

from standards import (
    day_bounds,
    day_window,
    hour_index,
    hour_window,
    hours_of_day,
    local_date,
    local_datetime,
    month_bounds,
    month_window,
    year_bounds,
    year_window,
)


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_16_00_utc_starts_the_next_local_day():
    assert local_date(ms("2026-11-25T16:00:00")) == date(2026, 11, 26)
    assert local_date(ms("2026-11-25T16:00:00") - 1) == date(2026, 11, 25)
    window = day_window(ms("2026-11-25T16:00:00"))
    assert window.start_ms == ms("2026-11-25T16:00:00")
    assert window.end_ms == ms("2026-11-26T16:00:00")
    assert window.start.isoformat() == "2026-11-26T00:00:00+08:00"


def test_windows_are_half_open():
    window = day_bounds(date(2026, 11, 26))
    assert window.start_ms in window
    assert window.end_ms - 1 in window
    assert window.end_ms not in window
    assert window.duration_ms == 86_400_000


def test_clock_hour():
    window = hour_window(ms("2026-11-25T16:30:00.250"))
    assert (window.start_ms, window.end_ms) == (
        ms("2026-11-25T16:00:00"),
        ms("2026-11-25T17:00:00"),
    )
    assert window.start.hour == 0
    assert hour_index(ms("2026-11-25T16:30:00")) == 0
    assert hour_index(ms("2026-11-26T15:59:59")) == 23


def test_local_datetime_keeps_milliseconds():
    assert local_datetime(ms("2026-01-01T00:00:00.123")).microsecond == 123_000


def test_hours_of_a_day_are_contiguous_and_start_at_local_midnight():
    day = hours_of_day(date(2026, 11, 26))
    assert len(day) == 24
    assert day[0].start_ms == ms("2026-11-25T16:00:00")
    assert day[-1].end_ms == ms("2026-11-26T16:00:00")
    assert all(a.end_ms == b.start_ms for a, b in itertools.pairwise(day))


def test_month_and_year_roll_over():
    december = month_bounds(2026, 12)
    assert december.start_ms == ms("2026-11-30T16:00:00")
    assert december.end_ms == ms("2026-12-31T16:00:00")
    assert month_window(ms("2026-12-31T15:59:59")) == december
    assert month_window(ms("2026-12-31T16:00:00")).start.date() == date(2027, 1, 1)
    year = year_bounds(2026)
    assert year.start_ms == ms("2025-12-31T16:00:00")
    assert year.end_ms == ms("2026-12-31T16:00:00")
    assert year_window(ms("2025-12-31T16:00:00")) == year
    assert year.duration_ms == 365 * 86_400_000


def test_february_of_a_leap_year():
    february = month_bounds(2028, 2)
    assert february.duration_ms == 29 * 86_400_000
    assert february.start + timedelta(days=29) == month_bounds(2028, 3).start
