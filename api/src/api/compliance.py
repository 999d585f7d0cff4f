"""A site's monthly compliance: daily means against the 24-hour limits in force, and daily AQI.

Per Asia/Shanghai calendar day of the month and pollutant (PM2.5, PM10):

- the **daily mean** and its validity, as :mod:`api.air` computes them (GB 3095-2012 Table 4:
  20 valid hourly values of 24, each with 45 minutes of 60);
- the **limit in force**: what the rules engine applied to that site and day, when a daily
  ``window_mean`` result is recorded (it resolves permits, rule limits and the standard,
  docs/rules.md "Which limit"); otherwise the 24-hour Grade II limit of GB 3095-2012
  Table 1 from :func:`standards.limit_for` (every Liaocheng site lies in a class-2 area);
- **exceeding** (超标) when a valid mean is strictly above the limit; an invalid day is never
  compliant and never exceeding, it is counted apart;
- the day's **AQI** and HJ 633-2012 category from the daily means.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from api.air import AQI_METRICS, SiteWindow, site_days
from standards import Averaging, Grade, Pollutant, limit_for
from standards.windows import local_date, month_bounds
from store.influx import InfluxStore
from store.sql import RuleResult

Cell = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class DayLimit:
    """The 24-hour limit of one pollutant on one day, and what set it."""

    value: float
    source: str


def standard_limit(metric: str, day: date) -> DayLimit:
    """The GB 3095 24-hour Grade II limit in force on ``day``."""
    limit = limit_for(Pollutant(metric), Averaging.DAY, Grade.SECOND, on=day)
    return DayLimit(limit.value, f"{limit.version} Grade {limit.grade} 24h ({limit.source})")


def recorded_limits(results: Iterable[RuleResult]) -> dict[tuple[date, str], DayLimit]:
    """The limits the rules engine applied to daily means, by local day and metric."""
    limits: dict[tuple[date, str], DayLimit] = {}
    for result in results:
        metric = result.evidence.get("metric")
        if (
            result.kind != "window_mean"
            or result.evidence.get("window") != "day"
            or not isinstance(metric, str)
            or result.limit is None
        ):
            continue
        day = local_date(int(result.window_start.timestamp() * 1000))
        limits[day, metric] = DayLimit(result.limit, result.standard or f"rule {result.rule}")
    return limits


def month_days(year: int, month: int) -> list[date]:
    """The calendar days of a month."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def month_span(year: int, month: int) -> tuple[datetime, datetime]:
    """The month's first and following instant, as UTC datetimes."""
    bounds = month_bounds(year, month)
    return (
        datetime.fromtimestamp(bounds.start_ms / 1000, UTC),
        datetime.fromtimestamp(bounds.end_ms / 1000, UTC),
    )


def compliance_rows(
    influx: InfluxStore,
    *,
    site: str,
    days: list[date],
    limits: Mapping[tuple[date, str], DayLimit],
) -> list[dict[str, Cell]]:
    """One row per day: each pollutant's mean, validity, limit and verdict; the AQI."""
    _, daily = site_days(influx, site=site, days=days)
    return [_row(window, day, limits) for window, day in zip(daily, days, strict=True)]


def _row(
    window: SiteWindow, day: date, limits: Mapping[tuple[date, str], DayLimit]
) -> dict[str, Cell]:
    row: dict[str, Cell] = {"day": day.isoformat()}
    for metric in AQI_METRICS:
        mean = window.means[metric]
        limit = limits.get((day, metric)) or standard_limit(metric, day)
        row[f"{metric}_mean"] = None if mean.value is None else round(mean.value, 1)
        row[f"{metric}_valid"] = mean.valid
        row[f"{metric}_hours"] = mean.count
        row[f"{metric}_limit"] = limit.value
        row[f"{metric}_limit_source"] = limit.source
        row[f"{metric}_exceeding"] = None if mean.value is None else mean.value > limit.value
    result = window.aqi
    row["aqi"] = None if result is None else result.value
    row["aqi_category"] = None if result is None else result.category.name_zh
    row["aqi_category_en"] = None if result is None else result.category.name_en
    row["primary"] = (
        None if result is None else ",".join(p.value for p in result.primary_pollutants)
    )
    return row


def compliance_summary(rows: list[dict[str, Cell]]) -> dict[str, Cell]:
    """Counts over the month: valid and exceedance days per pollutant, days per AQI category."""
    summary: dict[str, Cell] = {"days": len(rows)}
    for metric in AQI_METRICS:
        summary[f"{metric}_valid_days"] = sum(row[f"{metric}_valid"] is True for row in rows)
        summary[f"{metric}_exceedance_days"] = sum(
            row[f"{metric}_exceeding"] is True for row in rows
        )
    summary["exceedance_days"] = sum(
        any(row[f"{metric}_exceeding"] is True for metric in AQI_METRICS) for row in rows
    )
    categories = Counter(str(row["aqi_category"]) for row in rows if row["aqi"] is not None)
    for name, count in sorted(categories.items()):
        summary[f"aqi_days_{name}"] = count
    summary["aqi_days_without_data"] = sum(row["aqi"] is None for row in rows)
    return summary
