"""Regulatory time windows: clock hours, calendar days, months and years in Asia/Shanghai.

Timestamps are UTC epoch milliseconds everywhere in Lantian; GB 3095's windows are calendar-
aligned in local time (Beijing time, UTC+8), not rolling. 2026-11-25T16:00Z is therefore the
first instant of 2026-11-26. Windows are half-open: ``start_ms`` belongs to the window,
``end_ms`` to the next one.

The zone is read through :mod:`zoneinfo` on first use, never at import.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

REGULATORY_ZONE = "Asia/Shanghai"  # GB 3095 windows are in Beijing time

_MS = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@cache
def local_zone() -> ZoneInfo:
    """The zone regulatory windows are computed in."""
    return ZoneInfo(REGULATORY_ZONE)


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open interval ``[start_ms, end_ms)`` of UTC epoch milliseconds.

    ``start`` is its first instant in local time (aware), the label a report prints.
    """

    start_ms: int
    end_ms: int
    start: datetime

    def __contains__(self, ts_ms: int) -> bool:
        return self.start_ms <= ts_ms < self.end_ms

    @property
    def duration_ms(self) -> int:
        """Length of the window in milliseconds."""
        return self.end_ms - self.start_ms


def local_datetime(ts_ms: int) -> datetime:
    """``ts_ms`` as an aware datetime in local time."""
    seconds, millis = divmod(ts_ms, _MS)
    utc = datetime.fromtimestamp(seconds, tz=UTC) + timedelta(milliseconds=millis)
    return utc.astimezone(local_zone())


def local_date(ts_ms: int) -> date:
    """The local calendar day ``ts_ms`` falls in."""
    return local_datetime(ts_ms).date()


def _epoch_ms(local: datetime) -> int:
    return (local - _EPOCH) // timedelta(milliseconds=1)


def _window(start: datetime, end: datetime) -> Window:
    return Window(_epoch_ms(start), _epoch_ms(end), start)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=local_zone())


def hour_window(ts_ms: int) -> Window:
    """The local clock hour ``ts_ms`` falls in."""
    start = local_datetime(ts_ms).replace(minute=0, second=0, microsecond=0)
    return _window(start, start + timedelta(hours=1))


def day_bounds(day: date) -> Window:
    """The local calendar day ``day``, midnight to midnight."""
    return _window(_midnight(day), _midnight(day + timedelta(days=1)))


def day_window(ts_ms: int) -> Window:
    """The local calendar day ``ts_ms`` falls in."""
    return day_bounds(local_date(ts_ms))


def hours_of_day(day: date) -> tuple[Window, ...]:
    """The 24 clock hours of a local calendar day, in order (index 0 is 00:00-01:00)."""
    midnight = _midnight(day)
    return tuple(
        _window(midnight + timedelta(hours=h), midnight + timedelta(hours=h + 1)) for h in range(24)
    )


def hour_index(ts_ms: int) -> int:
    """Which clock hour of its local day ``ts_ms`` falls in (0..23)."""
    return local_datetime(ts_ms).hour


def month_bounds(year: int, month: int) -> Window:
    """The local calendar month ``year``-``month``."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return _window(_midnight(first), _midnight(following))


def month_window(ts_ms: int) -> Window:
    """The local calendar month ``ts_ms`` falls in."""
    day = local_date(ts_ms)
    return month_bounds(day.year, day.month)


def year_bounds(year: int) -> Window:
    """The local calendar year ``year``."""
    return _window(_midnight(date(year, 1, 1)), _midnight(date(year + 1, 1, 1)))


def year_window(ts_ms: int) -> Window:
    """The local calendar year ``ts_ms`` falls in."""
    return year_bounds(local_date(ts_ms).year)
