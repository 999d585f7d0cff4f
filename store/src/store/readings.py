"""How readings are laid out in InfluxDB, in one place for the writers and the readers.

Ingest writes through :func:`reading_points`; the API and the dashboards read with the queries
built here, so the layout can change in one module. The layout (see docs/data-model.md):

- measurement: the metric id from the telemetry catalog (``pm25``, ``energy_import``, ...), so a
  Grafana panel reads one metric with one plain ``SELECT ... FROM "pm25"``;
- tags: ``county``, ``park``, ``enterprise``, ``site``, ``gateway``, ``device``, ``quality``
  (identifiers only; the registry supplies all but the last three) and ``interval``: ``raw``
  for a sample as read, ``60s`` (the length) for an aggregate over a clock interval — so a
  sample taken exactly at an interval's start never overwrites that interval's aggregate, and a
  query asks for one or the other;
- fields: ``value`` (float), and for aggregated readings ``min``, ``max`` (float), ``count``
  (integer) and ``valid`` (boolean); ``time_unsynced`` (boolean ``true``, only on readings the
  gateway stamped while its clock was not synchronised: a field, not a tag, so the flag neither
  splits a series nor stops a replay from overwriting its own point);
- time: the reading's own UTC epoch-ms timestamp from the source, so a replayed batch overwrites
  its own points (same series, same time) instead of adding new ones.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from store.influx import InfluxStore, Point
from store.lineprotocol import encode_point
from store.sql import Placement
from telemetry import Quality, Reading, metric

VALUE = "value"
RAW = "raw"


def reading_tags(placement: Placement, reading: Reading) -> dict[str, str]:
    """Tags of one reading: where it was measured, by which device, with which quality flag."""
    tags = {
        "county": placement.county,
        "park": placement.park or "",
        "enterprise": placement.enterprise,
        "site": placement.site,
        "gateway": placement.gateway,
        "device": reading.device,
        "quality": reading.quality.value,
        "interval": interval_tag(reading.interval_s),
    }
    return {key: value for key, value in tags.items() if value}


def interval_tag(interval_s: float | None) -> str:
    """The ``interval`` tag: ``raw`` for samples, the length (``60s``) for aggregates."""
    return RAW if interval_s is None else f"{interval_s:g}s"


def reading_point(placement: Placement, reading: Reading) -> Point:
    """The InfluxDB point of one reading."""
    fields: dict[str, float | int | bool] = {VALUE: reading.value}
    if reading.min is not None:
        fields["min"] = reading.min
    if reading.max is not None:
        fields["max"] = reading.max
    if reading.count is not None:
        fields["count"] = reading.count
    if reading.valid is not None:
        fields["valid"] = reading.valid
    if reading.time_unsynced:
        fields["time_unsynced"] = True
    return Point(
        measurement=reading.metric,
        tags=reading_tags(placement, reading),
        fields=fields,
        time_ms=reading.ts,
    )


def reading_points(placement: Placement, readings: Iterable[Reading]) -> Iterator[Point]:
    """The InfluxDB points of a gateway's readings."""
    for reading in readings:
        yield reading_point(placement, reading)


# A series of one placement: metric, device, quality letter and interval length.
_SeriesKey = tuple[str, str, str, float | None]


class ReadingLines:
    """Line protocol of readings, built straight from them: ingest's hot path.

    Gives exactly the lines of ``encode_point(reading_point(placement, reading))``, several
    times faster. A reading's series (its tags) repeats from batch to batch, so the checked and
    escaped tag part of each line is built once by :func:`~store.lineprotocol.encode_point` and
    kept; only the values and the time are formatted per reading. That is safe without further
    checks because a decoded :class:`~telemetry.Reading` has a metric id of lowercase letters,
    digits and ``_`` (nothing to escape), finite float values and an int64 time.

    The series are kept per placement, so a batch's placement is hashed once rather than once
    per reading. Holds at most ``max_series`` series; past that, it starts over.
    """

    def __init__(self, max_series: int = 100_000) -> None:
        self._max_series = max_series
        self._kept = 0
        self._series: dict[Placement, dict[_SeriesKey, str]] = {}

    def line(self, placement: Placement, reading: Reading) -> str:
        """The line of one reading, without a trailing newline.

        Raises:
            LineProtocolError: the reading's series cannot be written (see store.lineprotocol).
        """
        return self.lines(placement, (reading,))[0]

    def lines(self, placement: Placement, readings: Iterable[Reading]) -> list[str]:
        """The lines of a gateway's readings, in order, without trailing newlines.

        Raises:
            LineProtocolError: a reading's series cannot be written; :meth:`line` tells which.
        """
        kept = self._kept_for(placement)
        out: list[str] = []
        for reading in readings:
            # ``_value_`` is the quality letter as a plain str: cheaper to hash than the member.
            key = (reading.metric, reading.device, reading.quality._value_, reading.interval_s)
            series = kept.get(key)
            if series is None:
                series = self._series_of(placement, reading)
                kept = self._keep(placement, key, series)
            if (
                reading.min is None
                and reading.max is None
                and reading.count is None
                and reading.valid is None
                and not reading.time_unsynced
            ):  # a sample: its value and time only
                out.append(f"{series} {VALUE}={reading.value!r} {reading.ts}")
            else:
                out.append(f"{series} {_aggregate_fields(reading)} {reading.ts}")
        return out

    def _kept_for(self, placement: Placement) -> dict[_SeriesKey, str]:
        kept = self._series.get(placement)
        if kept is None:
            kept = self._series[placement] = {}
        return kept

    def _keep(self, placement: Placement, key: _SeriesKey, series: str) -> dict[_SeriesKey, str]:
        if self._kept >= self._max_series:
            self._series.clear()
            self._kept = 0
        kept = self._kept_for(placement)
        kept[key] = series
        self._kept += 1
        return kept

    @staticmethod
    def _series_of(placement: Placement, reading: Reading) -> str:
        # The full encoder checks and escapes the measurement and every tag once per series.
        probe = Point(reading.metric, reading_tags(placement, reading), {VALUE: 0.0}, 0)
        line = encode_point(probe)
        return line[: line.rindex(" ", 0, line.rindex(" "))]


def _aggregate_fields(reading: Reading) -> str:
    fields = f"{VALUE}={reading.value!r}"
    if reading.min is not None:
        fields += f",min={reading.min!r}"
    if reading.max is not None:
        fields += f",max={reading.max!r}"
    if reading.count is not None:
        fields += f",count={reading.count}i"
    if reading.valid is not None:
        fields += ",valid=true" if reading.valid else ",valid=false"
    if reading.time_unsynced:
        fields += ",time_unsynced=true"
    return fields


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading as read back from InfluxDB for one site."""

    ts: int
    device: str
    value: float
    quality: Quality
    interval: str = RAW  # ``raw``, or the aggregate's interval length such as ``60s``
    min: float | None = None
    max: float | None = None
    count: int | None = None
    valid: bool | None = None


def site_series(  # noqa: PLR0913 - keyword-only fields of one query
    influx: InfluxStore,
    *,
    site: str,
    metric_id: str,
    start_ms: int,
    end_ms: int,
    device: str | None = None,
    interval: str | None = None,
) -> list[StoredReading]:
    """One metric's readings at one site within ``[start_ms, end_ms)``, oldest first.

    ``interval`` keeps only raw samples (``raw``) or only aggregates of one length (``60s``);
    None keeps both.

    Raises:
        UnknownMetricError: ``metric_id`` is not in the catalog. The measurement name is checked
            against the catalog because InfluxQL cannot bind identifiers; every other value a
            caller supplies is a bound parameter.
    """
    measurement = metric(metric_id).id
    params: dict[str, str | int] = {
        "site": site,
        "start": start_ms * _NS_PER_MS,
        "end": end_ms * _NS_PER_MS,
    }
    clauses = ""
    if device is not None:
        clauses += ' AND "device" = $device'
        params["device"] = device
    if interval is not None:
        clauses += ' AND "interval" = $interval'
        params["interval"] = interval
    columns = f'"{VALUE}", "min", "max", "count", "valid", "device", "quality", "interval"'
    influxql = (
        f'SELECT {columns} FROM "{measurement}" '  # noqa: S608 - a catalog id, checked above
        f'WHERE "site" = $site AND time >= $start AND time < $end{clauses} '
        "ORDER BY time ASC"
    )
    return [
        StoredReading(
            ts=int(row["time"]),
            device=str(row["device"]),
            value=float(row[VALUE]),
            quality=Quality(row["quality"]),
            interval=str(row["interval"] or RAW),
            min=_optional_float(row["min"]),
            max=_optional_float(row["max"]),
            count=None if row["count"] is None else int(row["count"]),
            valid=None if row["valid"] is None else bool(row["valid"]),
        )
        for series in influx.query(influxql, params=params)
        for row in series.rows()
    ]


def _optional_float(value: object) -> float | None:
    # JSON answers drop ".0", so a float field may come back as an int (see store.influxql).
    return None if value is None else float(value)  # type: ignore[arg-type]


_NS_PER_MS = 1_000_000  # InfluxQL integer time literals are nanoseconds
