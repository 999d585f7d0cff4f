"""A site's series of one metric at a resolution: which store holds it, and the daily resample.

- ``raw``: the readings as stored in the ``raw`` retention policy, one point each;
- ``minute``, ``hour``: the ``minute`` and ``hour`` rollups (:mod:`store.rollups`), every
  device and data flag of the site together in one point per period;
- ``day``: no policy holds days, so the hourly points are resampled with pandas into calendar
  days in Asia/Shanghai, the day GB 3095-2012 (§3.9 and Table 4) takes a 24-hour mean over:
  the mean of the day's hourly means, the smallest ``min``, the largest ``max``, the sum of
  ``count``.

Windows of ``minute``, ``hour`` and ``day`` are widened to whole periods (clock hours and days
in Asia/Shanghai), so no point summarises part of its period.
"""

from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from standards.windows import REGULATORY_ZONE, day_window
from store.influx import InfluxStore
from store.readings import site_series
from store.rollups import HOUR_POLICY, MINUTE_POLICY
from store.series import PeriodPoint, period_series

MINUTE_MS = 60_000
HOUR_MS = 3_600_000


class Resolution(StrEnum):
    """How finely a series is laid out."""

    RAW = "raw"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


class Aggregate(StrEnum):
    """Which statistic of a period a point carries."""

    MEAN = "mean"
    MIN = "min"
    MAX = "max"


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One point of a series; ``device`` and ``quality`` only for raw readings."""

    ts: int
    value: float
    count: int | None = None
    device: str | None = None
    quality: str | None = None


def aligned_window(resolution: Resolution, start_ms: int, end_ms: int) -> tuple[int, int]:
    """``[start_ms, end_ms)`` widened to whole periods of ``resolution`` (raw: unchanged).

    Clock hours in Asia/Shanghai (UTC+8) start on whole UTC hours, so minutes and hours align
    on the epoch; days on local midnight.
    """
    if resolution is Resolution.RAW:
        return start_ms, end_ms
    if resolution is Resolution.DAY:
        return day_window(start_ms).start_ms, day_window(end_ms - 1).end_ms
    period = MINUTE_MS if resolution is Resolution.MINUTE else HOUR_MS
    return start_ms // period * period, -(-end_ms // period) * period


def resolution_series(  # noqa: PLR0913 - keyword-only fields of one request
    influx: InfluxStore,
    *,
    site: str,
    metric_id: str,
    resolution: Resolution,
    aggregate: Aggregate,
    start_ms: int,
    end_ms: int,
    device: str | None = None,
) -> list[SeriesPoint]:
    """The site's series of ``metric_id`` within an aligned window, oldest first."""
    if resolution is Resolution.RAW:
        return [
            SeriesPoint(
                ts=reading.ts,
                value=_pick(aggregate, reading.value, reading.min, reading.max),
                count=reading.count,
                device=reading.device,
                quality=reading.quality.value,
            )
            for reading in site_series(
                influx,
                site=site,
                metric_id=metric_id,
                start_ms=start_ms,
                end_ms=end_ms,
                device=device,
            )
        ]
    policy = MINUTE_POLICY if resolution is Resolution.MINUTE else HOUR_POLICY
    points = period_series(
        influx,
        policy=policy,
        site=site,
        metric_id=metric_id,
        start_ms=start_ms,
        end_ms=end_ms,
        statistic=aggregate.value,
        device=device,
    )
    if resolution is Resolution.DAY:
        points = daily_points(points, aggregate)
    return [SeriesPoint(ts=p.ts, value=p.value, count=p.count) for p in points]


def daily_points(hourly: list[PeriodPoint], aggregate: Aggregate) -> list[PeriodPoint]:
    """Hourly points resampled into Asia/Shanghai calendar days (GB 3095-2012 daily mean).

    A day's mean is the mean of its hourly means, its min and max the hours' extremes, its
    count the hours' sum; days without any hour are left out.
    """
    if not hourly:
        return []
    index = pd.to_datetime([p.ts for p in hourly], unit="ms", utc=True).tz_convert(REGULATORY_ZONE)
    frame = pd.DataFrame(
        {"value": [p.value for p in hourly], "count": [p.count for p in hourly]},
        index=index,
        dtype="float64",
    )
    days = frame.resample("1D").agg({"value": aggregate.value, "count": "sum"})
    days = days[days["value"].notna()]
    starts = [round(moment.timestamp() * 1000) for moment in days.index]
    return [
        PeriodPoint(ts=ts, value=float(value), count=int(count))
        for ts, value, count in zip(starts, days["value"], days["count"], strict=True)
    ]


def _pick(aggregate: Aggregate, mean: float, low: float | None, high: float | None) -> float:
    if aggregate is Aggregate.MIN:
        return mean if low is None else low
    if aggregate is Aggregate.MAX:
        return mean if high is None else high
    return mean
