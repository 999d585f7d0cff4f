"""The windows window rules judge: clock hours and calendar days in Asia/Shanghai.

A :class:`RegulatoryWindow` is one half-open interval ``[start_ms, end_ms)`` of UTC epoch
milliseconds that is a local clock hour or a local calendar day (GB 3095 windows are in Beijing
time; :mod:`standards.windows` computes them). A :class:`WindowJob` asks for one such window to
be evaluated, for every window rule of its size or only for those reading some metrics (late
data for one metric re-evaluates only what it can change).
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from standards import Window as Interval
from standards import day_bounds, day_window, hour_window, hours_of_day, local_date

Size = Literal["hour", "day"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(ts_ms: int) -> datetime:
    """``ts_ms`` as an aware UTC datetime, to the millisecond."""
    return _EPOCH + timedelta(milliseconds=ts_ms)


@dataclass(frozen=True, slots=True, order=True)
class RegulatoryWindow:
    """One local clock hour or calendar day, ordered by its start."""

    start_ms: int
    size: Size
    end_ms: int

    @classmethod
    def of(cls, size: Size, ts_ms: int) -> "RegulatoryWindow":
        """The window of ``size`` that ``ts_ms`` falls in."""
        interval = hour_window(ts_ms) if size == "hour" else day_window(ts_ms)
        return cls(interval.start_ms, size, interval.end_ms)

    @classmethod
    def hour(cls, ts_ms: int) -> "RegulatoryWindow":
        """The local clock hour ``ts_ms`` falls in."""
        return cls.of("hour", ts_ms)

    @classmethod
    def day(cls, day: date) -> "RegulatoryWindow":
        """The local calendar day ``day``."""
        interval = day_bounds(day)
        return cls(interval.start_ms, "day", interval.end_ms)

    @property
    def local_day(self) -> date:
        """The local calendar day the window lies in: the day limits and permits are taken on."""
        return local_date(self.start_ms)

    @property
    def label(self) -> str:
        """The window's local start as a report prints it: ``2026-11-26T08:00+08:00``."""
        return (
            hour_window(self.start_ms).start.isoformat(timespec="minutes")
            if self.size == "hour"
            else self.local_day.isoformat()
        )

    def hours(self) -> tuple[Interval, ...]:
        """The clock hours the window is made of: itself, or the day's 24."""
        if self.size == "hour":
            return (hour_window(self.start_ms),)
        return hours_of_day(self.local_day)

    def previous(self) -> "RegulatoryWindow":
        """The window of the same size just before this one."""
        return RegulatoryWindow.of(self.size, self.start_ms - 1)

    def following(self) -> "RegulatoryWindow":
        """The window of the same size just after this one."""
        return RegulatoryWindow.of(self.size, self.end_ms)


@dataclass(frozen=True, slots=True)
class WindowJob:
    """Evaluate ``window`` for the window rules of its size that read one of ``metrics``.

    ``metrics`` is ``None`` for every rule of that size (a window that just closed, or one
    swept again); late data names the metric it came in.
    """

    window: RegulatoryWindow
    metrics: frozenset[str] | None = None

    def wants(self, metrics: Collection[str]) -> bool:
        """Whether a rule reading ``metrics`` is to be evaluated in this job."""
        return self.metrics is None or not self.metrics.isdisjoint(metrics)
