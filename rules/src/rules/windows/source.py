"""Minute aggregates of every site from InfluxDB, made into site hours: the window rules' input.

One InfluxQL statement reads one metric over a run of consecutive clock hours for all sites at
once, grouped by site, device and data flag (docs/data-model.md)::

    SELECT "value", "valid", "time_unsynced" FROM "pm25"
    WHERE "interval" = '60s' AND time >= $start AND time < $end
    GROUP BY "site", "device", "quality"

It reads the gateways' own one-minute aggregates from the default (``raw``) retention policy,
not the continuous queries' ``minute`` rollup: only the aggregates carry ``valid`` and
``time_unsynced``, and they are there as soon as ingest wrote them, late data included. A run
of hours is cut into statements of at most ``hours_per_query`` hours, which bounds the rows one
answer holds (60 per site, device and hour).
"""

import bisect
from collections.abc import Collection, Iterable, Iterator, Sequence

from rules.windows.means import MinuteAggregate, SiteHour, hourly_mean, validity_for
from standards import Averaging
from standards import Window as Interval
from store.influx import InfluxStore, quote_identifier
from telemetry import metric as catalog_metric

MINUTE_INTERVAL = "60s"  # the ``interval`` tag of the gateways' one-minute aggregates
_NS_PER_MS = 1_000_000  # InfluxQL integer time literals are nanoseconds

HourTable = dict[int, dict[str, SiteHour]]
"""Site hours by the hour's start (epoch ms), then by site."""


class MinuteSource:
    """Reads minute aggregates for all sites and computes each site's hourly values.

    Raises (from :meth:`site_hours`): the :class:`~store.influx.InfluxStore` errors; an
    :class:`~store.errors.InfluxUnavailableError` means the hours should be tried again later.
    """

    def __init__(self, influx: InfluxStore, *, hours_per_query: int = 6) -> None:
        if hours_per_query < 1:
            raise ValueError(f"hours_per_query must be at least 1, got {hours_per_query}")
        self._influx = influx
        self._hours_per_query = hours_per_query
        self.queries = 0  # statements run, for the service's metrics and the benchmark
        self.rows = 0  # minute aggregates read

    def site_hours(
        self,
        metric: str,
        hours: Iterable[Interval],
        *,
        sites: Collection[str] | None = None,
    ) -> HourTable:
        """Every listed hour's value of ``metric`` at every site with data in it.

        ``sites`` keeps only those sites; ``None`` keeps all. A site without any aggregate in
        an hour is absent from that hour: the caller knows which sites it expected.

        Raises:
            UnknownMetricError: ``metric`` is not in the telemetry catalog (InfluxQL cannot
                bind a measurement name, so it is checked against the catalog).
        """
        measurement = quote_identifier(catalog_metric(metric).id)
        rule = validity_for(metric, Averaging.HOUR)
        table: HourTable = {}
        for run in _runs(sorted({h.start_ms: h for h in hours}.values(), key=_start)):
            for chunk in _chunks(run, self._hours_per_query):
                minutes = self._read(measurement, chunk, sites)
                for hour, by_site in zip(chunk, minutes, strict=True):
                    table[hour.start_ms] = {
                        site: hourly_mean(entries, hour, rule)
                        for site, entries in sorted(by_site.items())
                    }
        return table

    def _read(
        self, measurement: str, hours: Sequence[Interval], sites: Collection[str] | None
    ) -> list[dict[str, list[MinuteAggregate]]]:
        """The aggregates of consecutive ``hours``: per hour, by site."""
        influxql = (
            f'SELECT "value", "valid", "time_unsynced" FROM {measurement} '  # noqa: S608 - a catalog id, quoted
            'WHERE "interval" = $interval AND time >= $start AND time < $end '
            'GROUP BY "site", "device", "quality"'
        )
        params: dict[str, str | int] = {
            "interval": MINUTE_INTERVAL,
            "start": hours[0].start_ms * _NS_PER_MS,
            "end": hours[-1].end_ms * _NS_PER_MS,
        }
        self.queries += 1
        starts = [h.start_ms for h in hours]
        buckets: list[dict[str, list[MinuteAggregate]]] = [{} for _ in hours]
        for series in self._influx.query(influxql, params=params):
            site = series.tags.get("site", "")
            if not site or (sites is not None and site not in sites):
                continue
            device = series.tags.get("device", "")
            quality = series.tags.get("quality", "")
            time_at = series.columns.index("time")
            value_at = series.columns.index("value")
            valid_at = series.columns.index("valid")
            unsynced_at = series.columns.index("time_unsynced")
            for row in series.values:
                ts, value = row[time_at], row[value_at]
                if ts is None or value is None:
                    continue
                self.rows += 1
                aggregate = MinuteAggregate(
                    ts_ms=int(ts),
                    device=device,
                    value=float(value),
                    quality=quality,
                    valid=None if row[valid_at] is None else bool(row[valid_at]),
                    unsynced=row[unsynced_at] is True,
                )
                index = bisect.bisect_right(starts, aggregate.ts_ms) - 1
                buckets[index].setdefault(site, []).append(aggregate)
        return buckets


def _start(hour: Interval) -> int:
    return hour.start_ms


def _runs(hours: Sequence[Interval]) -> Iterator[list[Interval]]:
    """Consecutive hours, in runs without gaps."""
    run: list[Interval] = []
    for hour in hours:
        if run and run[-1].end_ms != hour.start_ms:
            yield run
            run = []
        run.append(hour)
    if run:
        yield run


def _chunks(run: list[Interval], size: int) -> Iterator[list[Interval]]:
    for start in range(0, len(run), size):
        yield run[start : start + size]
