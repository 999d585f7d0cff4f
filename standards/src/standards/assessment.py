"""Annual assessment: annual means and percentiles of daily values, with their validity.

An annual statistic is valid with at least 324 daily values in the calendar year and at least
27 in every month, 25 in February (GB 3095-2012 Table 4); HJ 663-2013 applies the same rule to
the percentiles of daily values it assesses.

Percentiles are computed as HJ 663-2013 prescribes: sort the n daily values ascending as
X(1) ≤ … ≤ X(n); the rank is k = 1 + (n - 1) * p / 100; with s the integer part of k,

    m_p = X(s) + (X(s+1) - X(s)) * (k - s),   and m_p = X(n) when s = n.

That is linear interpolation between closest ranks (Hyndman and Fan's type 7, the default of
numpy and of spreadsheet PERCENTILE.INC). The reference notes do not quote the formula; it is
taken from monitoring software that cites HJ 663-2013 and is marked to verify.
"""

import calendar
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction
from types import MappingProxyType

from standards.errors import InvalidValueError
from standards.pollutants import Pollutant
from standards.validity import Outcome, WindowResult
from standards.versions import GB_3095_2012, HJ_663_2013

_P = Pollutant

ASSESSMENT_PERCENTILES: Mapping[Pollutant, int] = MappingProxyType(
    {
        _P.SO2: 98,  # HJ 663-2013: 98th percentile of 24-hour means
        _P.NO2: 98,  # HJ 663-2013: 98th percentile of 24-hour means
        _P.PM10: 95,  # HJ 663-2013: 95th percentile of 24-hour means
        _P.PM25: 95,  # HJ 663-2013: 95th percentile of 24-hour means
        _P.CO: 95,  # HJ 663-2013: 95th percentile of 24-hour means
        _P.O3: 90,  # HJ 663-2013: 90th percentile of daily maximum 8-hour means
    }
)


@dataclass(frozen=True, slots=True)
class AnnualRule:
    """How many daily values an annual statistic needs."""

    name: str
    minimum_days: int
    minimum_per_month: int
    minimum_february: int
    pollutants: frozenset[Pollutant]
    source: str
    version: str
    verify: str | None = None


ANNUAL = AnnualRule(
    name="annual statistic",
    minimum_days=324,  # GB 3095-2012 Table 4: at least 324 daily values a year
    minimum_per_month=27,  # GB 3095-2012 Table 4: at least 27 daily values a month
    minimum_february=25,  # GB 3095-2012 Table 4: at least 25 in February
    pollutants=frozenset({_P.SO2, _P.NO2, _P.CO, _P.O3, _P.PM10, _P.PM25}),
    source="GB 3095-2012 Table 4",
    version=GB_3095_2012.id,
)
ANNUAL_TSP = AnnualRule(
    name="annual mean (TSP)",
    minimum_days=60,  # GB 3095-2012 Table 4: TSP, at least 60 evenly spread daily values
    minimum_per_month=5,  # GB 3095-2012 Table 4: TSP, at least 5 a month
    minimum_february=5,  # GB 3095-2012 Table 4: TSP, no separate February rule
    pollutants=frozenset({_P.TSP}),
    source="GB 3095-2012 Table 4",
    version=GB_3095_2012.id,
    verify="the TSP rule, which is not in the project's reference notes",
)


def annual_rule_for(pollutant: Pollutant) -> AnnualRule:
    """The annual validity rule for ``pollutant``."""
    return ANNUAL_TSP if pollutant is Pollutant.TSP else ANNUAL


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile of ``values`` by the HJ 663-2013 formula (module docstring).

    Raises:
        ValueError: no values, or ``p`` outside 0..100.
    """
    if not values:
        msg = "a percentile of no values"
        raise ValueError(msg)
    if not 0 <= p <= 100:
        msg = f"percentile must be within 0..100, got {p}"
        raise ValueError(msg)
    ordered = sorted(values)
    n = len(ordered)
    k = 1 + Fraction(n - 1) * Fraction(repr(float(p))) / 100  # HJ 663-2013: k = 1 + (n-1)·p%
    s = math.floor(k)
    if s >= n:
        return ordered[-1]
    low, high = ordered[s - 1], ordered[s]  # X(s), X(s+1), 1-based in the standard
    return low + (high - low) * float(k - s)


def _check_year(daily: Mapping[date, float], year: int, rule: AnnualRule) -> list[str]:
    """Problems that make the year's daily values insufficient; empty when sufficient."""
    for day, value in daily.items():
        if day.year != year:
            msg = f"daily value for {day.isoformat()} given for the year {year}"
            raise ValueError(msg)
        if not math.isfinite(value):
            raise InvalidValueError(f"daily value of {day.isoformat()}", value)
    problems: list[str] = []
    if len(daily) < rule.minimum_days:
        problems.append(f"{len(daily)} daily values, at least {rule.minimum_days} required")
    per_month = Counter(day.month for day in daily)
    for month in range(1, 13):
        need = rule.minimum_february if month == 2 else rule.minimum_per_month
        if per_month[month] < need:
            problems.append(f"{year}-{month:02d} has {per_month[month]}, at least {need} required")
    return problems


def _annual_result(
    value: float | None, daily: Mapping[date, float], year: int, rule: AnnualRule, what: str
) -> WindowResult:
    problems = _check_year(daily, year, rule)
    days = 366 if calendar.isleap(year) else 365
    if problems:
        reason = f"{what} of {year}: insufficient data ({'; '.join(problems)}; {rule.source})"
    else:
        reason = f"{what} of {year}: {len(daily)} daily values, sufficient per {rule.source}"
    return WindowResult(
        value=None if problems else value,
        outcome=Outcome.INSUFFICIENT if problems else Outcome.VALID,
        count=len(daily),
        excluded=(),
        missing=days - len(daily),
        over_range=0,
        reason=reason,
        rule=rule.name,
        source=rule.source,
        version=rule.version,
    )


def annual_mean(
    daily: Mapping[date, float], year: int, *, rule: AnnualRule = ANNUAL
) -> WindowResult:
    """The annual mean of a year's valid daily means, keyed by local calendar date.

    Only valid daily means belong in ``daily``; days without one are left out and count
    against the year and month minimums.

    Raises:
        ValueError: a date outside ``year``.
        InvalidValueError: a NaN or infinite value.
    """
    value = math.fsum(daily.values()) / len(daily) if daily else None
    return _annual_result(value, daily, year, rule, "annual mean")


def annual_percentile(
    daily: Mapping[date, float],
    year: int,
    pollutant: Pollutant,
    *,
    p: float | None = None,
    rule: AnnualRule | None = None,
) -> WindowResult:
    """The assessment percentile of a year's valid daily values (daily maximum 8-hour for O3).

    ``p`` defaults to the pollutant's HJ 663-2013 percentile (:data:`ASSESSMENT_PERCENTILES`).
    The result's ``version`` is HJ 663-2013, whose formula computes it; ``reason`` also names
    the GB 3095 validity rule applied.

    Raises:
        KeyError: no default percentile for ``pollutant`` (TSP) and no ``p`` given.
        ValueError, InvalidValueError: as :func:`annual_mean`.
    """
    rank = ASSESSMENT_PERCENTILES[pollutant] if p is None else p
    chosen = rule or annual_rule_for(pollutant)
    value = percentile(list(daily.values()), rank) if daily else None
    result = _annual_result(value, daily, year, chosen, f"{pollutant} {rank:g}th percentile")
    return replace(
        result,
        source=f"{HJ_663_2013.id} percentile; validity {chosen.source}",
        version=HJ_663_2013.id,
    )
