"""Reading the rollups back: a site's series per clock period, latest values, minute counts.

:mod:`store.readings` reads raw readings; this module reads the ``minute`` and ``hour``
retention policies that :mod:`store.rollups` fills (same measurements, same tags, fields
``value``, ``min``, ``max``, ``count``, ``sum``). Every value a caller supplies is a bound
parameter; the measurement is checked against the telemetry catalog and the retention policy
against the module's own names, because InfluxQL cannot bind identifiers.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from store.influx import InfluxStore
from store.influxql import ParamValue, Series, quote_identifier
from store.rollups import HOUR_POLICY, MINUTE_POLICY, RAW_POLICY
from telemetry import CATALOG, Quality, metric

_NS_PER_MS = 1_000_000
_PERIODS = {MINUTE_POLICY: "1m", HOUR_POLICY: "1h"}


@dataclass(frozen=True, slots=True)
class PeriodPoint:
    """One clock period of a site's metric, every series (device, data flag) together.

    Attributes:
        ts: start of the period, UTC epoch ms.
        value: the statistic asked for (see :data:`STATISTICS`).
        count: device samples behind the period.
    """

    ts: int
    value: float
    count: int


# What each statistic selects. ``mean`` is the mean of the stored periods' means (each
# device's period weighs the same); ``min`` and ``max`` the samples' extremes, or the values'
# when the rollups hold none (a ``*_delta`` metric's aggregates have no min and max).
STATISTICS = {
    "mean": 'mean("value") AS "value"',
    "min": 'min("min") AS "value", min("value") AS "fallback"',
    "max": 'max("max") AS "value", max("value") AS "fallback"',
}


@dataclass(frozen=True, slots=True)
class LatestValue:
    """The newest reading of one metric and device at a site."""

    metric: str
    device: str
    ts: int
    value: float
    quality: Quality
    interval: str


@dataclass(frozen=True, slots=True)
class QualityMinute:
    """The mean of one minute's rollup points of one data flag at a site."""

    ts: int
    quality: str
    value: float


@dataclass(frozen=True, slots=True)
class MinuteCount:
    """How many minutes of one device and metric the ``minute`` policy holds in one clock hour."""

    hour_ts: int
    device: str
    metric: str
    minutes: int


def period_series(  # noqa: PLR0913 - keyword-only fields of one query
    influx: InfluxStore,
    *,
    policy: str,
    site: str,
    metric_id: str,
    start_ms: int,
    end_ms: int,
    statistic: str = "mean",
    device: str | None = None,
) -> list[PeriodPoint]:
    """One point per period (a minute or an hour, as ``policy`` holds) with data, oldest first.

    Only the statistic asked for is computed: each aggregate InfluxDB adds to the statement
    costs about as much as the first.

    Raises:
        ValueError: ``policy`` is not ``minute`` or ``hour``, or an unknown ``statistic``.
        UnknownMetricError: ``metric_id`` is not in the catalog.
    """
    if policy not in _PERIODS:
        raise ValueError(f"period series come from {sorted(_PERIODS)}, not {policy!r}")
    if statistic not in STATISTICS:
        raise ValueError(f"statistic is one of {sorted(STATISTICS)}, not {statistic!r}")
    source = f"{quote_identifier(policy)}.{quote_identifier(metric(metric_id).id)}"
    params: dict[str, ParamValue] = {
        "site": site,
        "start": start_ms * _NS_PER_MS,
        "end": end_ms * _NS_PER_MS,
    }
    device_clause = ""
    if device is not None:
        device_clause = ' AND "device" = $device'
        params["device"] = device
    influxql = (
        f'SELECT {STATISTICS[statistic]}, sum("count") AS "count" FROM {source}'  # noqa: S608 - checked, quoted
        f' WHERE "site" = $site AND time >= $start AND time < $end{device_clause}'
        f" GROUP BY time({_PERIODS[policy]}) fill(none)"
    )
    points = []
    for series in influx.query(influxql, params=params):
        for row in series.rows():
            value = row["value"] if row["value"] is not None else row.get("fallback")
            if value is not None:
                points.append(PeriodPoint(int(row["time"]), float(value), int(row["count"] or 0)))
    return points


def latest_values(influx: InfluxStore, *, site: str, since_ms: int) -> list[LatestValue]:
    """The newest raw-policy reading of every catalog metric and device at a site since then.

    One statement reads every measurement (``FROM /.*/``); measurements outside the catalog
    are left out. Sorted by metric, then device.
    """
    influxql = (
        f'SELECT last("value") AS "value" FROM {quote_identifier(RAW_POLICY)}./.*/'  # noqa: S608 - constant
        ' WHERE "site" = $site AND time >= $since GROUP BY "device", "quality", "interval"'
    )
    newest: dict[tuple[str, str], LatestValue] = {}
    for series in influx.query(influxql, params={"site": site, "since": since_ms * _NS_PER_MS}):
        if series.name not in CATALOG:
            continue
        for row in series.rows():
            candidate = LatestValue(
                metric=series.name,
                device=str(row["device"]),
                ts=int(row["time"]),
                value=float(row["value"]),
                quality=Quality(row["quality"]),
                interval=str(row.get("interval") or "raw"),
            )
            key = (candidate.metric, candidate.device)
            if key not in newest or candidate.ts > newest[key].ts:
                newest[key] = candidate
    return [newest[key] for key in sorted(newest)]


def quality_minutes(
    influx: InfluxStore, *, site: str, metric_id: str, start_ms: int, end_ms: int
) -> list[QualityMinute]:
    """Per minute and data flag, the mean of the ``minute`` policy's points at a site.

    Devices with the same flag in a minute are averaged together; a minute with readings of
    two flags gives two rows. Oldest first.
    """
    source = f"{quote_identifier(MINUTE_POLICY)}.{quote_identifier(metric(metric_id).id)}"
    influxql = (
        f'SELECT mean("value") AS "value" FROM {source}'  # noqa: S608 - checked, quoted
        ' WHERE "site" = $site AND time >= $start AND time < $end'
        ' GROUP BY time(1m), "quality" fill(none)'
    )
    params: dict[str, ParamValue] = {
        "site": site,
        "start": start_ms * _NS_PER_MS,
        "end": end_ms * _NS_PER_MS,
    }
    rows = [
        QualityMinute(ts=int(row["time"]), quality=str(row["quality"]), value=float(row["value"]))
        for series in influx.query(influxql, params=params)
        for row in series.rows()
        if row["value"] is not None
    ]
    return sorted(rows, key=lambda row: (row.ts, row.quality))


def minute_counts(
    influx: InfluxStore, *, gateway: str, start_ms: int, end_ms: int
) -> list[MinuteCount]:
    """Minutes of the gateway's one-minute aggregates the ``minute`` policy holds, per hour.

    Counts points of series with ``interval`` other than ``raw`` (the gateways' aggregates, one
    per device, metric and minute), every data flag together, per clock hour, device and
    metric. Hours without any are absent.
    """
    influxql = (
        f'SELECT count("value") AS "minutes" FROM {quote_identifier(MINUTE_POLICY)}./.*/'  # noqa: S608 - constant
        ' WHERE "gateway" = $gateway AND "interval" != \'raw\''
        ' AND time >= $start AND time < $end GROUP BY time(1h), "device" fill(none)'
    )
    params: dict[str, ParamValue] = {
        "gateway": gateway,
        "start": start_ms * _NS_PER_MS,
        "end": end_ms * _NS_PER_MS,
    }
    return _counts(influx.query(influxql, params=params))


def _counts(result: Iterable[Series]) -> list[MinuteCount]:
    counts: list[MinuteCount] = []
    for series in result:
        if series.name not in CATALOG:
            continue
        counts.extend(
            MinuteCount(int(row["time"]), str(row["device"]), series.name, int(row["minutes"]))
            for row in series.rows()
            if row["minutes"]
        )
    return sorted(counts, key=lambda c: (c.hour_ts, c.device, c.metric))


def _number(value: object) -> float | None:
    # JSON answers drop ".0", so a float field may come back as an int (see store.influxql).
    return None if value is None else float(value)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class DayTotal:
    """The sum of a ``*_delta`` metric over one Asia/Shanghai calendar day."""

    day_ts: int  # the day's first instant, UTC epoch ms (16:00 UTC the day before)
    quantity: float


def enterprise_daily_totals(
    influx: InfluxStore, *, enterprise: str, metric_id: str, start_ms: int, end_ms: int
) -> list[DayTotal]:
    """Per local day, the ``hour`` rollup's ``sum`` of the enterprise's gateway aggregates.

    A ``*_delta`` metric's ``sum`` is the amount used in the hour (docs/data-model.md); raw
    samples are left out so a meter sending both is not counted twice. Days are
    ``GROUP BY time(1d, 16h)`` buckets: Asia/Shanghai midnights are 16:00 UTC (UTC+8, no
    daylight saving since 1991). Days without data are absent.
    """
    source = f"{quote_identifier(HOUR_POLICY)}.{quote_identifier(metric(metric_id).id)}"
    influxql = (
        f'SELECT sum("sum") AS "quantity" FROM {source}'  # noqa: S608 - checked, quoted
        ' WHERE "enterprise" = $enterprise AND "interval" != \'raw\''
        " AND time >= $start AND time < $end GROUP BY time(1d, 16h) fill(none)"
    )
    params: dict[str, ParamValue] = {
        "enterprise": enterprise,
        "start": start_ms * _NS_PER_MS,
        "end": end_ms * _NS_PER_MS,
    }
    return [
        DayTotal(int(row["time"]), float(row["quantity"]))
        for series in influx.query(influxql, params=params)
        for row in series.rows()
        if row["quantity"] is not None
    ]
