"""What an energy intensity is made of: energy consumed and output produced, per enterprise.

Gateways publish a counter's consumption as the catalog's ``*_delta`` metric: the amount used in
the interval that starts at the reading's time (``energy_import_delta``, kWh per minute), with
``count``, the intervals a delta spans (more than one after a gap). :func:`read_deltas` sums
them per meter and data flag over a window, or per local day of it, for every enterprise in one
InfluxQL statement::

    SELECT sum("value") AS "quantity", count("value") AS "points", sum("count") AS "intervals"
    FROM "energy_import_delta" WHERE "interval" != 'raw' AND time >= $start AND time < $end
    GROUP BY [time(1d, 16h),] "enterprise", "site", "device", "interval", "quality" fill(none)

It reads the default (``raw``) policy, not the ``hour`` rollup: the gateways' aggregates are
there as soon as ingest wrote them, late data included, and only they carry ``count``. The time
a meter's readings account for (intervals x the ``interval`` tag's length) over the window's
length is its coverage; :class:`Consumption` is complete when every meter covers at least
:data:`COMPLETENESS`. A meter silent for the whole window is not seen at all.

Local days are ``GROUP BY time(1d, 16h)`` buckets: Asia/Shanghai is UTC+8 without daylight
saving (since 1991), so its midnights are 16:00 UTC; :func:`bucket_day` checks every bucket.

Output is what the enterprise submitted (:func:`submitted_output`, from the SQL store's
figures) or what an interval metric counted (:func:`metered_output`); an :class:`Output` says
whether it covers the whole window, and why it cannot be used at all (figures in mixed units).
"""

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from rules.model import Scope
from standards import day_bounds, local_date
from store.influx import InfluxStore, quote_identifier
from store.sql import MixedUnitsError, Placement, ProductionRecord, output_total
from telemetry import metric as catalog_metric

COMPLETENESS = 0.9  # energy.md: provincial practice, completeness ≥ 90 % of expected values
NS_PER_MS = 1_000_000  # InfluxQL integer time literals are nanoseconds
LOCAL_DAYS = "time(1d, 16h)"  # Asia/Shanghai days (UTC+8, no DST since 1991) start 16:00 UTC
_INTERVAL = re.compile(r"(\d+(?:\.\d+)?)s")  # the ``interval`` tag of an aggregate: ``60s``

Json = object


def rounded(value: float) -> float:
    """Six decimals: a float summed in another order must not make a new result revision."""
    return round(value, 6)


def bucket_day(ts_ms: int) -> date:
    """The local day of a ``GROUP BY`` :data:`LOCAL_DAYS` bucket starting at ``ts_ms``."""
    day = local_date(ts_ms)
    if day_bounds(day).start_ms != ts_ms:  # only if the zone ever left UTC+8
        raise ValueError(f"InfluxDB day bucket {ts_ms} does not start at a local midnight")
    return day


@dataclass(frozen=True, slots=True)
class MeterDelta:
    """One meter's summed interval amounts under one data flag, over a window or local day."""

    enterprise: str
    site: str
    device: str
    flag: str
    quantity: float
    covered_ms: int  # the time its readings account for
    day: date | None = None  # with ``daily``: the local day


def read_deltas(
    influx: InfluxStore, metric_id: str, start_ms: int, end_ms: int, *, daily: bool = False
) -> list[MeterDelta]:
    """Every meter's sum of an interval metric in ``[start_ms, end_ms)``: one statement.

    Raises:
        UnknownMetricError: ``metric_id`` is not in the catalog (measurements cannot be bound).
        InfluxError: as :meth:`store.influx.InfluxStore.query`.
    """
    measurement = quote_identifier(catalog_metric(metric_id).id)
    by_day = f"{LOCAL_DAYS}, " if daily else ""
    influxql = (
        'SELECT sum("value") AS "quantity", count("value") AS "points", sum("count") AS '  # noqa: S608 - a quoted catalog id; values are bound
        f'"intervals" FROM {measurement} WHERE "interval" != \'raw\' '
        f"AND time >= $start AND time < $end GROUP BY {by_day}"
        '"enterprise", "site", "device", "interval", "quality" fill(none)'
    )
    params = {"start": start_ms * NS_PER_MS, "end": end_ms * NS_PER_MS}
    deltas: list[MeterDelta] = []
    for series in influx.query(influxql, params=params):
        tags = series.tags
        length = _INTERVAL.fullmatch(tags.get("interval", ""))
        interval_ms = round(float(length.group(1)) * 1000) if length else 0
        deltas.extend(
            MeterDelta(
                enterprise=tags.get("enterprise", ""),
                site=tags.get("site", ""),
                device=tags.get("device", ""),
                flag=tags.get("quality", ""),
                quantity=float(row["quantity"]),
                covered_ms=max(int(row["points"] or 0), int(row["intervals"] or 0)) * interval_ms,
                day=bucket_day(int(row["time"])) if daily else None,
            )
            for row in series.rows()
            if row["quantity"] is not None
        )
    return deltas


@dataclass(frozen=True, slots=True)
class Consumption:
    """An amount summed over a window from every meter, and how much of the window each covers."""

    quantity: float
    coverage: Mapping[str, float]  # ``site/device`` → share of the window covered, at most 1
    by_flag: Mapping[str, float]

    @property
    def complete(self) -> bool:
        """Whether every meter covers at least :data:`COMPLETENESS` of the window."""
        return bool(self.coverage) and min(self.coverage.values()) >= COMPLETENESS

    def to_json(self, unit: str) -> dict[str, Json]:
        """The consumption as evidence shows it."""
        return {
            "quantity": rounded(self.quantity),
            "unit": unit,
            "coverage": {meter: rounded(share) for meter, share in sorted(self.coverage.items())},
            "by_flag": {flag: rounded(q) for flag, q in sorted(self.by_flag.items())},
        }


def consumption(deltas: Iterable[MeterDelta], duration_ms: int) -> Consumption:
    """The sum of ``deltas`` over a window of ``duration_ms``."""
    covered: dict[str, int] = defaultdict(int)
    flags: dict[str, list[float]] = defaultdict(list)
    for delta in deltas:
        covered[f"{delta.site}/{delta.device}"] += delta.covered_ms
        flags[delta.flag].append(delta.quantity)
    return Consumption(
        quantity=math.fsum(q for amounts in flags.values() for q in amounts),
        coverage={meter: min(ms / duration_ms, 1.0) for meter, ms in covered.items()},
        by_flag={flag: math.fsum(amounts) for flag, amounts in flags.items()},
    )


def sites_in(scope: Scope, placements: Iterable[Placement]) -> dict[str, Placement]:
    """The in-scope sites, by id, each with a placement of one of its gateways.

    Only the levels above the site are used, and every gateway of a site shares them.
    """
    return {
        p.site: p
        for p in placements
        if scope.matches(county=p.county, park=p.park, enterprise=p.enterprise, site=p.site)
    }


def by_enterprise(
    deltas: Iterable[MeterDelta], sites: Mapping[str, Placement]
) -> dict[str, list[MeterDelta]]:
    """The deltas of in-scope ``sites``, by the enterprise their readings were tagged with."""
    grouped: dict[str, list[MeterDelta]] = defaultdict(list)
    for delta in deltas:
        if delta.site in sites:
            grouped[delta.enterprise].append(delta)
    return grouped


@dataclass(frozen=True, slots=True)
class Output:
    """The output an intensity divides by; ``quantity`` is ``None`` when nothing was reported."""

    quantity: float | None
    complete: bool
    evidence: dict[str, Json]
    problem: str | None = None  # why the figures cannot be used at all


def submitted_output(
    figures: Sequence[ProductionRecord], enterprise: str, start: date, end: date
) -> Output:
    """What ``enterprise`` submitted for the local days ``[start, end)``, from its figures."""
    try:
        total = output_total(figures, enterprise, start, end)
    except MixedUnitsError as exc:
        return Output(None, complete=False, evidence={"source": "submitted"}, problem=str(exc))
    evidence: dict[str, Json] = {
        "source": "submitted",
        "quantity": rounded(total.quantity),
        "unit": total.unit,
        "days_covered": total.days_covered,
        "days": total.days,
    }
    return Output(total.quantity if total.periods else None, total.complete, evidence)


def metered_output(metric_id: str, counted: Consumption) -> Output:
    """What an interval metric counted."""
    evidence = {"source": f"metric:{metric_id}", **counted.to_json(catalog_metric(metric_id).unit)}
    return Output(counted.quantity if counted.coverage else None, counted.complete, evidence)
