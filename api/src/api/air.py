"""A site's hourly and daily means and AQI, from the ``minute`` rollup, with GB 3095 validity.

The steps, each from :mod:`standards`:

1. **one value per minute**: the mean of the minute's rollup points whose HJ 212-2017 flag
   may enter a mean (``standards.flags``: N, T; a T makes it a lower bound); a minute with
   only excluded flags counts as excluded under the first of them A-Z;
2. **hourly mean** of each Asia/Shanghai clock hour: ``standards.window_mean`` with
   GB 3095-2012 Table 4's rule, at least 45 minute values of 60;
3. **daily mean** of each calendar day: the mean of the day's valid hourly means, valid with
   at least 20 of 24 (GB 3095-2012 Table 4);
4. **AQI** (HJ 633-2012): the larger of the PM2.5 and PM10 IAQIs (formula 2). HJ 633-2012
   Table 1 has PM breakpoints for 24-hour means only; the daily AQI indexes the daily means
   against them (the daily report), the hourly AQI the hourly means (the real-time report, as
   the rules engine does, docs/rules.md). A pollutant without a valid mean takes no part.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from standards import (
    HJ212_FLAG_POLICY,
    OVER_RANGE,
    AqiResult,
    Averaging,
    FlagTreatment,
    Pollutant,
    aqi,
    aqi_standard_for,
)
from standards.validity import DAILY_MEAN, HOURLY_MEAN, WindowResult, window_mean
from standards.windows import Window, day_bounds, hours_of_day, local_date
from store.influx import InfluxStore
from store.series import QualityMinute, quality_minutes

_HOUR_MS = 3_600_000
AQI_METRICS: tuple[str, ...] = (Pollutant.PM25.value, Pollutant.PM10.value)


@dataclass(frozen=True, slots=True)
class SiteWindow:
    """One hour or day of a site: each metric's mean under its validity rule, and the AQI."""

    window: Window
    means: Mapping[str, WindowResult]
    aqi: AqiResult | None


def minute_values(rows: Iterable[QualityMinute]) -> dict[int, tuple[float, str]]:
    """One (value, flag) per minute: the included flags' mean, else the first excluded flag A-Z."""
    by_minute: dict[int, list[QualityMinute]] = defaultdict(list)
    for row in rows:
        by_minute[row.ts].append(row)
    values: dict[int, tuple[float, str]] = {}
    for ts, group in by_minute.items():
        included = [r for r in group if HJ212_FLAG_POLICY.get(r.quality) is FlagTreatment.INCLUDE]
        if included:
            flag = OVER_RANGE if any(r.quality == OVER_RANGE for r in included) else "N"
            values[ts] = (sum(r.value for r in included) / len(included), flag)
        else:
            first = min(group, key=lambda r: r.quality)  # the value is never used, only counted
            values[ts] = (first.value, first.quality)
    return values


def by_hour(minutes: Mapping[int, tuple[float, str]]) -> dict[int, list[tuple[float, str]]]:
    """Minute values grouped by the start of their clock hour (whole UTC hours in UTC+8)."""
    grouped: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for ts, value in minutes.items():
        grouped[ts // _HOUR_MS * _HOUR_MS].append(value)
    return grouped


def hourly_means(
    minutes_by_hour: Mapping[int, list[tuple[float, str]]], hours: Sequence[Window]
) -> list[WindowResult]:
    """Each clock hour's mean of its minute values (GB 3095-2012 Table 4: 45 of 60)."""
    return [window_mean(minutes_by_hour.get(hour.start_ms, []), HOURLY_MEAN) for hour in hours]


def daily_mean(hours: Sequence[WindowResult]) -> WindowResult:
    """A day's mean of its valid hourly means (GB 3095-2012 Table 4: 20 of 24)."""
    return window_mean(
        [
            (hour.value, OVER_RANGE if hour.lower_bound else "N")
            for hour in hours
            if hour.value is not None
        ],
        DAILY_MEAN,
    )


def site_aqi(means: Mapping[str, WindowResult], day: date) -> AqiResult | None:
    """The AQI of the valid PM means (24-hour breakpoints of HJ 633-2012 Table 1); None: none."""
    concentrations = {
        (Pollutant(metric), Averaging.DAY): result.value
        for metric, result in means.items()
        if metric in AQI_METRICS and result.value is not None
    }
    if not concentrations:
        return None
    return aqi(concentrations, standard=aqi_standard_for(day))


def site_days(
    influx: InfluxStore, *, site: str, days: Sequence[date], metrics: Sequence[str] = AQI_METRICS
) -> tuple[list[SiteWindow], list[SiteWindow]]:
    """The hourly and the daily windows of consecutive local ``days`` at a site."""
    if not days:
        return [], []
    start_ms, end_ms = day_bounds(days[0]).start_ms, day_bounds(days[-1]).end_ms
    minutes = {
        metric: by_hour(
            minute_values(
                quality_minutes(
                    influx, site=site, metric_id=metric, start_ms=start_ms, end_ms=end_ms
                )
            )
        )
        for metric in metrics
    }
    hourly: list[SiteWindow] = []
    daily: list[SiteWindow] = []
    for day in days:
        hours = hours_of_day(day)
        per_metric = {metric: hourly_means(minutes[metric], hours) for metric in metrics}
        for index, hour in enumerate(hours):
            means = {metric: per_metric[metric][index] for metric in metrics}
            hourly.append(SiteWindow(hour, means, site_aqi(means, day)))
        day_means = {metric: daily_mean(per_metric[metric]) for metric in metrics}
        daily.append(SiteWindow(day_bounds(day), day_means, site_aqi(day_means, day)))
    return hourly, daily


def local_days(start_ms: int, end_ms: int) -> list[date]:
    """The local calendar days ``[start_ms, end_ms)`` touches, in order."""
    first, last = local_date(start_ms), local_date(end_ms - 1)
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
