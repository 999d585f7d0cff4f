"""Targets, the straight path to them, and whether this year is projected to miss it.

A target is configuration: a baseline (year, value), a target (year, value), and whether the
value must end at most (PM2.5, energy intensity) or at least the target. The path between is a
straight line in value: :meth:`TargetPath.value_for_year` gives the value allowed for a year,
the baseline before the baseline year and the target after the target year.

For a date inside a year, :meth:`TargetPath.value_on` treats each annual value as reached on the
last day of its year, when the annual figure is complete: on 2020-12-31 the path is exactly the
2020 value, and on 1 July it is about halfway between the 2019 and 2020 values.

Projections to year end are deliberately simple, so anyone can check them by hand:

- a **total** (energy consumed so far) is scaled by the run rate:
  projected = year-to-date * days in year / days elapsed (the as-of day included);
- a **mean or ratio** (PM2.5 annual mean, energy per unit output) keeps its year-to-date value,
  or, given an assumption for the rest of the year (e.g. last year's mean over the same
  remaining days, which carries the winter peak), the day-weighted mix of the two.

A year is **projected to miss** when the projection is worse than the path's value for it.
"""

import calendar
import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from standards.errors import InvalidValueError


class Goal(StrEnum):
    """Which side of the path is good."""

    AT_MOST = "at_most"  # reductions: concentration, energy intensity, total consumption caps
    AT_LEAST = "at_least"  # increases: shares of clean energy, days of good air


@dataclass(frozen=True, slots=True)
class TargetPath:
    """A linear path from a baseline to a target.

    Raises:
        ValueError: the target year is not after the baseline year.
    """

    name: str
    unit: str
    baseline_year: int
    baseline_value: float
    target_year: int
    target_value: float
    goal: Goal = Goal.AT_MOST
    source: str = ""

    def __post_init__(self) -> None:
        if self.target_year <= self.baseline_year:
            msg = f"target year {self.target_year} must follow baseline {self.baseline_year}"
            raise ValueError(msg)

    @classmethod
    def from_reduction(  # noqa: PLR0913 - a target is these six facts
        cls,
        name: str,
        unit: str,
        *,
        baseline_year: int,
        baseline_value: float,
        target_year: int,
        reduction_percent: float,
        source: str = "",
    ) -> "TargetPath":
        """A path to ``reduction_percent`` below the baseline (e.g. -13.5 % from 2020 to 2025)."""
        target = baseline_value * (1 - reduction_percent / 100)
        return cls(name, unit, baseline_year, baseline_value, target_year, target, source=source)

    def _at(self, t: float) -> float:
        """The path at fractional year ``t`` (``t == y`` is the value for year ``y``)."""
        span = self.target_year - self.baseline_year
        done = min(max(t - self.baseline_year, 0.0), span) / span
        return self.baseline_value + (self.target_value - self.baseline_value) * done

    def value_for_year(self, year: int) -> float:
        """The value allowed for ``year``."""
        return self._at(year)

    def value_on(self, day: date) -> float:
        """The path on ``day``, each annual value being reached on its year's last day."""
        days = 366 if calendar.isleap(day.year) else 365
        return self._at(day.year - 1 + day.timetuple().tm_yday / days)

    def misses(self, value: float, year: int) -> bool:
        """Whether ``value`` for ``year`` is on the wrong side of the path."""
        allowed = self.value_for_year(year)
        return value > allowed if self.goal is Goal.AT_MOST else value < allowed


def _elapsed(as_of: date) -> tuple[int, int]:
    """Days of the year elapsed through ``as_of`` (inclusive), and days in the year."""
    return as_of.timetuple().tm_yday, 366 if calendar.isleap(as_of.year) else 365


def project_total(ytd_total: float, as_of: date) -> float:
    """Year-end total at the year-to-date run rate."""
    if not math.isfinite(ytd_total):
        raise InvalidValueError("year-to-date total", ytd_total, "a finite number")
    elapsed, days = _elapsed(as_of)
    return ytd_total * days / elapsed


def project_mean(ytd_mean: float, as_of: date, remaining_mean: float | None = None) -> float:
    """Year-end mean: the year-to-date mean, or its day-weighted mix with ``remaining_mean``."""
    if not math.isfinite(ytd_mean):
        raise InvalidValueError("year-to-date mean", ytd_mean, "a finite number")
    if remaining_mean is None:
        return ytd_mean
    elapsed, days = _elapsed(as_of)
    return (ytd_mean * elapsed + remaining_mean * (days - elapsed)) / days


@dataclass(frozen=True, slots=True)
class Projection:
    """A year-end projection against the path, and the decision it leads to."""

    path: str
    year: int
    as_of: date
    year_to_date: float
    projected: float
    allowed: float
    goal: Goal
    method: str

    @property
    def margin(self) -> float:
        """How far the projection is on the good side of the path (negative: missing)."""
        gap = self.allowed - self.projected
        return gap if self.goal is Goal.AT_MOST else -gap

    @property
    def will_miss(self) -> bool:
        """Whether the year is projected to miss the path."""
        return self.margin < 0


def _projection(
    path: TargetPath, as_of: date, ytd: float, projected: float, method: str
) -> Projection:
    allowed = path.value_for_year(as_of.year)
    return Projection(
        path=path.name,
        year=as_of.year,
        as_of=as_of,
        year_to_date=ytd,
        projected=projected,
        allowed=allowed,
        goal=path.goal,
        method=method,
    )


def assess_total(path: TargetPath, ytd_total: float, as_of: date) -> Projection:
    """Project a year-to-date total (e.g. tce consumed) to year end and compare with the path."""
    elapsed, days = _elapsed(as_of)
    method = f"run rate: year-to-date x {days} / {elapsed} days"
    return _projection(path, as_of, ytd_total, project_total(ytd_total, as_of), method)


def assess_mean(
    path: TargetPath, ytd_mean: float, as_of: date, remaining_mean: float | None = None
) -> Projection:
    """Project a year-to-date mean or ratio to year end and compare with the path."""
    method = (
        "year-to-date mean carried to year end"
        if remaining_mean is None
        else f"day-weighted mix with {remaining_mean} assumed for the remaining days"
    )
    projected = project_mean(ytd_mean, as_of, remaining_mean)
    return _projection(path, as_of, ytd_mean, projected, method)


LIAOCHENG_PM25_2017 = 71.0  # µg/m³, Liaocheng 2018-2022 plan: PM2.5 annual mean in 2017
LIAOCHENG_PM10_2017 = 136.0  # µg/m³, Liaocheng 2018-2022 plan: PM10 annual mean in 2017
FYP14_ENERGY_INTENSITY_REDUCTION = 13.5  # %, 14th Five-Year Plan: energy per GDP, 2020 → 2025


def pm25_path(
    target_year: int,
    target_value: float,
    *,
    baseline_year: int = 2017,
    baseline_value: float = LIAOCHENG_PM25_2017,
) -> TargetPath:
    """Liaocheng's PM2.5 annual-mean path, from its 2017 baseline unless told otherwise."""
    return TargetPath(
        name="PM2.5 annual mean",
        unit="µg/m³",
        baseline_year=baseline_year,
        baseline_value=baseline_value,
        target_year=target_year,
        target_value=target_value,
        source="baseline: Liaocheng 2018-2022 plan (2017 annual mean)",
    )
