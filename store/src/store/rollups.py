"""Retention policies and rollups: raw readings, minute and hour aggregates, in one place.

Readings (:mod:`store.readings`) go to the default retention policy ``raw``. Continuous queries
(CQs) roll them up into the policies ``minute`` and ``hour``, which are kept longer. A rollup point
has the same measurement and the same tags as the points it summarises, and the fields ``value``
(the mean), ``min``, ``max``, ``count`` (device samples behind it) and ``sum`` (of the values, which
is what a ``*_delta`` metric's consumption over the window is):

- ``rollup_minute_samples`` summarises raw samples (``interval`` = ``raw``) per minute: mean, min,
  max, count and sum of ``value``;
- ``rollup_minute_aggregates`` summarises the gateways' own aggregates (``interval`` = ``60s``)
  per minute: mean and sum of ``value``, min of ``min``, max of ``max``, sum of ``count``, so the
  extremes the gateway saw between its samples survive;
- ``rollup_hour`` summarises minute points per hour: mean of ``value``, min of ``min``, max of
  ``max``, sums of ``count`` and ``sum``.

``GROUP BY *`` keeps every tag a tag (``SELECT ... INTO`` without it would store them as fields),
and ``INTO "<db>"."<policy>".:MEASUREMENT`` writes each measurement into its namesake. A CQ only
recomputes its ``RESAMPLE ... FOR`` window; points written later than that (a gateway replaying
its spool after an outage) are rolled up by :func:`backfill`, which runs the very same
``SELECT ... INTO`` text as the CQ with a time range added. docs/data-model.md has the layout.
"""

import re
from dataclasses import dataclass

from store.errors import InfluxQueryError
from store.influx import InfluxStore
from store.influxql import check_duration, quote_identifier

RAW_POLICY = "raw"
MINUTE_POLICY = "minute"
HOUR_POLICY = "hour"

_NS_PER_MS = 1_000_000
_NS_PER_UNIT = {"ns": 1, "u": 1_000, "µ": 1_000, "ms": _NS_PER_MS, "s": 1_000 * _NS_PER_MS}
_NS_PER_UNIT |= {"m": 60 * _NS_PER_UNIT["s"], "h": 3600 * _NS_PER_UNIT["s"]}
_NS_PER_UNIT |= {"d": 24 * _NS_PER_UNIT["h"], "w": 7 * 24 * _NS_PER_UNIT["h"]}
_DURATION_PART = re.compile(r"([0-9]+)(ns|u|µ|ms|s|m|h|d|w)")

# Shard groups of the slow-growing rollups span more time than InfluxDB's default (7 days for
# any policy over six months), so three years of minutes are 37 shards, not 157.
_SHARD_DURATION = {MINUTE_POLICY: "30d", HOUR_POLICY: "52w"}

# Names of the CQs this module owns: one with this prefix that is no longer defined is dropped.
_CQ_PREFIX = "rollup_"


def duration_ms(duration: str) -> int | None:
    """An InfluxQL duration (``400d``, ``1h30m``) in milliseconds; None for ``INF``."""
    check_duration(duration)
    if duration.upper() == "INF":
        return None
    parts = _DURATION_PART.findall(duration)
    return sum(int(number) * _NS_PER_UNIT[unit] for number, unit in parts) // _NS_PER_MS


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each retention policy keeps its points, as InfluxQL durations (``INF``: forever)."""

    raw: str = "400d"
    minute: str = "1095d"
    hour: str = "INF"

    def __post_init__(self) -> None:
        for duration in (self.raw, self.minute, self.hour):
            check_duration(duration)


@dataclass(frozen=True, slots=True)
class Rollup:
    """One continuous query: which points it reads, what it computes, where it writes.

    Attributes:
        name: the CQ's name.
        source: the retention policy it reads.
        target: the retention policy it writes.
        period: the window of one output point, ``GROUP BY time(period)``.
        every: how often InfluxDB runs it, ``RESAMPLE EVERY``.
        recompute: how far back each run recomputes, ``RESAMPLE FOR``; a point written later
            than this after its time is only rolled up by :func:`backfill`.
        fields: each output field with the aggregate it is, in order.
        condition: an InfluxQL condition on tags choosing the source series; None takes all.
    """

    name: str
    source: str
    target: str
    period: str
    every: str
    recompute: str
    fields: tuple[tuple[str, str], ...]
    condition: str | None = None

    @property
    def period_ms(self) -> int:
        """The window of one output point, in milliseconds."""
        period = duration_ms(self.period)
        if period is None:
            raise ValueError(f"rollup {self.name}: a period cannot be INF")
        return period


MINUTE_FROM_SAMPLES = Rollup(
    name="rollup_minute_samples",
    source=RAW_POLICY,
    target=MINUTE_POLICY,
    period="1m",
    every="1m",
    recompute="10m",
    fields=(
        ("value", 'mean("value")'),
        ("min", 'min("value")'),
        ("max", 'max("value")'),
        ("count", 'count("value")'),
        ("sum", 'sum("value")'),
    ),
    condition="\"interval\" = 'raw'",
)
MINUTE_FROM_AGGREGATES = Rollup(
    name="rollup_minute_aggregates",
    source=RAW_POLICY,
    target=MINUTE_POLICY,
    period="1m",
    every="1m",
    recompute="10m",
    fields=(
        ("value", 'mean("value")'),
        ("min", 'min("min")'),
        ("max", 'max("max")'),
        ("count", 'sum("count")'),
        ("sum", 'sum("value")'),
    ),
    condition="\"interval\" != 'raw'",
)
# Every 10 minutes, the current and the previous two hours: the last minute of an hour is final
# 10 minutes after it ends, and this CQ still recomputes that hour an hour later.
HOUR_FROM_MINUTES = Rollup(
    name="rollup_hour",
    source=MINUTE_POLICY,
    target=HOUR_POLICY,
    period="1h",
    every="10m",
    recompute="2h",
    fields=(
        ("value", 'mean("value")'),
        ("min", 'min("min")'),
        ("max", 'max("max")'),
        ("count", 'sum("count")'),
        ("sum", 'sum("sum")'),
    ),
)
ROLLUPS = (MINUTE_FROM_SAMPLES, MINUTE_FROM_AGGREGATES, HOUR_FROM_MINUTES)

# A reading written at most this long after its time is still rolled up by the CQs: the next
# minute run starts within a period and recomputes ``recompute`` back; one more period of margin
# covers a run InfluxDB starts late. (The hour CQ recomputes far longer than that.) 8 minutes.
LATE_AFTER_MS = (
    duration_ms(MINUTE_FROM_SAMPLES.recompute) or 0
) - 2 * MINUTE_FROM_SAMPLES.period_ms


def rollups_into(policy: str) -> tuple[Rollup, ...]:
    """The rollups that write into retention policy ``policy``."""
    return tuple(rollup for rollup in ROLLUPS if rollup.target == policy)


def select_into(
    rollup: Rollup, database: str, *, measurement: str | None = None, bounded: bool = False
) -> str:
    """The rollup's ``SELECT ... INTO`` statement, the body of its CQ.

    Args:
        rollup: what to compute.
        database: the database read and written.
        measurement: one measurement to read; None reads all of them, as the CQ does.
        bounded: add ``time >= $start AND time < $end`` (epoch-ns bound parameters), as
            :func:`backfill` runs it; a CQ gets its time range from InfluxDB.
    """
    db = quote_identifier(database)
    selections = ", ".join(
        f"{aggregate} AS {quote_identifier(field)}" for field, aggregate in rollup.fields
    )
    source = "/.*/" if measurement is None else quote_identifier(measurement)
    conditions = [rollup.condition] if rollup.condition else []
    if bounded:
        conditions.append("time >= $start AND time < $end")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return (
        f"SELECT {selections} INTO {db}.{quote_identifier(rollup.target)}.:MEASUREMENT"  # noqa: S608 - identifiers quoted, constant conditions
        f" FROM {db}.{quote_identifier(rollup.source)}.{source}{where}"
        f" GROUP BY time({rollup.period}), *"
    )


def continuous_query(rollup: Rollup, database: str) -> str:
    """The ``CREATE CONTINUOUS QUERY`` statement of a rollup."""
    return (
        f"CREATE CONTINUOUS QUERY {quote_identifier(rollup.name)} ON {quote_identifier(database)}"
        f" RESAMPLE EVERY {rollup.every} FOR {rollup.recompute}"
        f" BEGIN {select_into(rollup, database)} END"
    )


def create_retention_policies(influx: InfluxStore, retention: Retention) -> None:
    """Create ``raw`` (the default), ``minute`` and ``hour``, or bring them to these durations."""
    influx.create_retention_policy(RAW_POLICY, retention.raw, default=True)
    for policy, duration in ((MINUTE_POLICY, retention.minute), (HOUR_POLICY, retention.hour)):
        influx.create_retention_policy(
            policy, duration, shard_duration=_shard_duration(policy, duration)
        )


def ensure_continuous_queries(influx: InfluxStore) -> list[str]:
    """Create the rollups' CQs, replace those whose definition differs, drop retired ones.

    Definitions are compared with what ``SHOW CONTINUOUS QUERIES`` reports, which the server
    rewrites (fewer quotes); CQs of other names are left alone. Returns the names of the CQs
    created, replaced or dropped, so an unchanged database gives an empty list.
    """
    existing = influx.continuous_queries()
    wanted = {rollup.name: continuous_query(rollup, influx.database) for rollup in ROLLUPS}
    changed: list[str] = []
    for name in sorted(existing.keys() - wanted.keys()):
        if name.startswith(_CQ_PREFIX):
            influx.drop_continuous_query(name)
            changed.append(name)
    for name, statement in wanted.items():
        current = existing.get(name)
        if current is not None and _canonical(current) == _canonical(statement):
            continue
        if current is not None:
            influx.drop_continuous_query(name)
        influx.query(statement)
        changed.append(name)
    return changed


def prepare_retention(influx: InfluxStore, retention: Retention) -> list[str]:
    """Retention policies and CQs as this module defines them; returns the CQs changed."""
    create_retention_policies(influx, retention)
    return ensure_continuous_queries(influx)


def backfill(  # noqa: PLR0913 - keyword-only options of one statement
    influx: InfluxStore,
    rollup: Rollup,
    *,
    start_ms: int,
    end_ms: int,
    measurement: str | None = None,
    max_buckets: int = 1440,
) -> int:
    """Run a rollup's CQ body over ``[start_ms, end_ms)``, widened to whole periods.

    Whole periods only, so a window is never overwritten by a summary of part of its points.
    Long ranges go in several statements of at most ``max_buckets`` periods each. Points
    older than the target policy keeps are dropped by InfluxDB; the others are written.

    Returns:
        How many points InfluxDB wrote.

    Raises:
        InfluxError: as :meth:`InfluxStore.query`; a retry repeats the same idempotent writes.
    """
    if max_buckets < 1:
        raise ValueError(f"max_buckets must be at least 1, got {max_buckets}")
    period = rollup.period_ms
    start = start_ms // period * period
    end = -(-end_ms // period) * period
    statement = select_into(rollup, influx.database, measurement=measurement, bounded=True)
    written = 0
    for chunk_start in range(start, end, period * max_buckets):
        chunk_end = min(chunk_start + period * max_buckets, end)
        params = {"start": chunk_start * _NS_PER_MS, "end": chunk_end * _NS_PER_MS}
        try:
            result = influx.query(statement, params=params)
        except InfluxQueryError as exc:
            if not exc.beyond_retention:
                raise
            continue
        written += sum(int(row["written"]) for series in result for row in series.rows())
    return written


def _shard_duration(policy: str, duration: str) -> str | None:
    # A shard group longer than the policy keeps data is refused; leave such a one to InfluxDB.
    shard = _SHARD_DURATION[policy]
    kept = duration_ms(duration)
    shard_ms = duration_ms(shard)
    if kept is not None and shard_ms is not None and kept < 2 * shard_ms:
        return None
    return shard


def _canonical(statement: str) -> str:
    # The server keeps a CQ re-written from its parse tree: identifiers lose needless quotes,
    # whitespace is single spaces, and it compares definitions case-insensitively.
    return " ".join(statement.replace('"', "").split()).lower()
