"""Year-to-date means of PM daily values, from InfluxDB, for annual targets.

A device's **daily value** is computed by InfluxDB from the gateways' one-minute aggregates in
the default (``raw``) policy, one statement per run of days (:func:`read_site_days`)::

    SELECT mean("hourly") AS "value", count("hourly") AS "hours" FROM (
      SELECT mean("value") AS "hourly", count("value") AS "minutes" FROM "pm25"
      WHERE "interval" = '60s' AND "valid" = true AND ("quality" = 'N' OR "quality" = 'T')
        AND time >= $start AND time < $end
      GROUP BY time(1h), "site", "device" fill(none))
    WHERE "minutes" >= 45 AND time >= $start AND time < $end
    GROUP BY time(1d, 16h), "site", "device" fill(none)

An hourly value needs 45 minute values and a daily value 20 hourly values (GB 3095-2012
Table 4, :data:`standards.HOURLY_MEAN`, :func:`standards.rule_for`); flags N and T enter a mean
(:data:`standards.HJ212_FLAG_POLICY`), a minute the gateway marked ``valid`` false does not.
Reading a year minute by minute in Python, as the window rules do for one day, would move
half a million rows per device; here InfluxDB returns one row per device and day. Two
differences from :mod:`rules.windows.means` follow: a site's daily value is the mean of its
devices' daily values (not of its minutes across devices), and minutes stamped while the
gateway's clock was unsynchronised are counted, because InfluxQL cannot test the
``time_unsynced`` field that normal readings lack. An aggregate without ``valid`` is not
counted (the gateways always send it).

A **level's** daily value (park, county, city) is the mean of its sites' daily values that day,
as a city's daily value averages its stations' (HJ 663-2013; verify against the text). The year
to date has **enough days** with GB 3095-2012 Table 4's 324 daily values a year pro-rated to the
days elapsed (:func:`required_days`), and at the year's last day the full annual rule
(324 days, 27 in every month, 25 in February: :func:`standards.annual_mean`).
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta

from rules.consumption import LOCAL_DAYS, NS_PER_MS, bucket_day
from standards import (
    ANNUAL,
    HJ212_FLAG_POLICY,
    HOURLY_MEAN,
    Averaging,
    FlagTreatment,
    Pollutant,
    annual_mean,
    day_bounds,
    rule_for,
)
from store.influx import InfluxStore, quote_identifier


def required_days(as_of: date) -> int:
    """Daily values the year needs through ``as_of``: GB 3095-2012 Table 4's 324 pro-rated."""
    elapsed = as_of.timetuple().tm_yday
    in_year = (date(as_of.year + 1, 1, 1) - date(as_of.year, 1, 1)).days
    return math.ceil(ANNUAL.minimum_days * elapsed / in_year)


def too_few(daily: Mapping[date, float], as_of: date) -> str | None:
    """Why the year's daily values through ``as_of`` are not enough; ``None`` when they are."""
    required = required_days(as_of)
    if len(daily) < required:
        return f"{len(daily)} daily values, {required} required by {as_of} ({ANNUAL.source})"
    if as_of.month == 12 and as_of.day == 31:
        annual = annual_mean(daily, as_of.year)
        return None if annual.valid else annual.reason
    return None


def level_days(
    site_days: Mapping[str, Mapping[date, float]], sites: Iterable[str]
) -> dict[date, float]:
    """Per day, the mean of the daily values ``sites`` have that day."""
    values: dict[date, list[float]] = defaultdict(list)
    for site in sites:
        for day, value in site_days.get(site, {}).items():
            values[day].append(value)
    return {day: math.fsum(v) / len(v) for day, v in sorted(values.items())}


def day_runs(first: date, end: date, days: int) -> Iterator[tuple[int, int]]:
    """``[first, end)`` in runs of at most ``days`` local days, as epoch-ms bounds."""
    while first < end:
        last = min(first + timedelta(days=days), end)
        yield day_bounds(first).start_ms, day_bounds(last).start_ms
        first = last


def read_site_days(
    influx: InfluxStore, metric_id: str, first: date, end: date, *, days_per_query: int = 7
) -> dict[str, dict[date, float]]:
    """Each site's valid daily means of ``pm25`` or ``pm10`` over ``[first, end)``, by site.

    Raises:
        ValueError: ``metric_id`` is not a pollutant.
        InfluxError: as :meth:`store.influx.InfluxStore.query`.
    """
    pollutant = Pollutant(metric_id)
    daily_rule = rule_for(pollutant, Averaging.DAY)
    included = sorted(
        flag for flag, how in HJ212_FLAG_POLICY.items() if how is FlagTreatment.INCLUDE
    )
    flags = " OR ".join(f'"quality" = $flag{n}' for n in range(len(included)))
    bounds = "time >= $start AND time < $end"
    measurement = quote_identifier(pollutant.value)
    influxql = (
        'SELECT mean("hourly") AS "value", count("hourly") AS "hours" FROM ('  # noqa: S608 - a quoted pollutant id; values are bound
        f'SELECT mean("value") AS "hourly", count("value") AS "minutes" FROM {measurement} '
        f'WHERE "interval" = \'60s\' AND "valid" = true AND ({flags}) AND {bounds} '
        'GROUP BY time(1h), "site", "device" fill(none)) '
        f'WHERE "minutes" >= $minutes AND {bounds} '
        f'GROUP BY {LOCAL_DAYS}, "site", "device" fill(none)'
    )
    devices: dict[tuple[str, date], list[float]] = defaultdict(list)
    for start_ms, end_ms in day_runs(first, end, days_per_query):
        params: dict[str, str | int] = {
            "start": start_ms * NS_PER_MS,
            "end": end_ms * NS_PER_MS,
            "minutes": HOURLY_MEAN.minimum,
            **{f"flag{n}": flag for n, flag in enumerate(included)},
        }
        for series in influx.query(influxql, params=params):
            for row in series.rows():
                if row["value"] is not None and int(row["hours"]) >= daily_rule.minimum:
                    devices[series.tags["site"], bucket_day(int(row["time"]))].append(
                        float(row["value"])
                    )
    sites: dict[str, dict[date, float]] = defaultdict(dict)
    for (site, day), values in sorted(devices.items()):
        sites[site][day] = math.fsum(values) / len(values)
    return dict(sites)
