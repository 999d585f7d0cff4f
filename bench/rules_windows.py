"""Window rules over a city: one closed hour of every site's minute aggregates, one run.

The city of :mod:`bench.rules_city` is registered; for each site, sensor ``pm-1`` has the
gateways' one-minute aggregates of PM2.5 and PM10 for a recent closed clock hour and the hour
before it (the AQI's previous category reads it), written to a real InfluxDB as ingest writes
them. Three rules — the PM2.5 and PM10 hourly means and the hourly AQI — are evaluated by
:class:`~rules.windows.WindowScheduler` exactly as the rules service's window thread calls it,
at the moment the hour has settled, with a lookback that makes that hour the one window due.

Timed: the first run (every result new: SQL inserts), then the same hour again after late data
was noted for both metrics (every result unchanged: compared, nothing written), and the parts
of a run: reading the minute aggregates (two InfluxQL statements, one per metric),
computing the means and judging them, recording.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bench.rules_city import site_id
from rules.files import parse_rule_file
from rules.windows import RegulatoryWindow, WindowJob, WindowScheduler
from rules.windows.periods import utc
from store.influx import InfluxStore
from store.readings import reading_point
from store.sql import Placement, Registry, RuleResults, create_engine_for
from telemetry import Reading
from telemetry.yaml_source import parse

RULES = """\
version: "bench"
rules:
  - {id: pm25-hourly, kind: window_mean, metric: pm25, window: hour}
  - {id: pm10-hourly, kind: window_mean, metric: pm10, window: hour, limit: 150}
  - {id: aqi-hourly, kind: aqi, window: hour}
"""
_MINUTE_MS = 60_000
_HOUR_MS = 3_600_000
_SETTLE_S = 300.0
_T = TypeVar("_T")
_RULE_SET = parse_rule_file(Path("bench-windows.yaml"), RULES.encode(), parse(RULES))


@dataclass(frozen=True, slots=True)
class WindowData:
    """The hour written for every site, and what writing it took."""

    hour: RegulatoryWindow
    sites: int
    points: int  # minute aggregates written (the hour and the one before)
    write_s: float  # preparation, not part of any run


@dataclass(frozen=True, slots=True)
class WindowRun:
    """What the window phase measured, in seconds."""

    first_s: float  # the run that recorded every result new
    again_s: float  # the same hour again: every result compared, none changed
    read_s: float  # of a run: the minute aggregates out of InfluxDB
    compute_s: float  # of a run: reading, computing and judging (no recording)
    record_s: float  # of a run: recording unchanged results
    results: int
    changed_again: int  # results the second run changed: 0 expected


def write_hour(influx: InfluxStore, sql_url: str, sites: int) -> WindowData:
    """Write a recent closed hour and the hour before for the first ``sites`` sites."""
    hour = RegulatoryWindow.hour(int(time.time() * 1000) - 2 * _HOUR_MS)
    if hour.following().start_ms == RegulatoryWindow.of("day", hour.start_ms).end_ms:
        hour = hour.previous()  # the hour must not close its day: one window is due, not two
    sql = create_engine_for(sql_url)
    try:
        placements = {p.site: p for p in Registry(sql).placements().values()}
    finally:
        sql.dispose()
    points, write_s = _write_hours(influx, [placements[site_id(n)] for n in range(sites)], hour)
    return WindowData(hour, sites, points, write_s)


def first_run(influx: InfluxStore, sql_url: str, hour: RegulatoryWindow) -> Callable[[], int]:
    """One window run over ``hour`` with a scheduler of its own: results recorded (the first
    time, new); as the rules service's window thread runs it when the hour has settled."""

    def run() -> int:
        sql = create_engine_for(sql_url)
        try:
            scheduler, now_ms = _scheduler(influx, Registry(sql), RuleResults(sql), hour)
            return len(scheduler.run_once(now_ms))
        finally:
            sql.dispose()

    return run


def run_windows(influx: InfluxStore, sql_url: str, hour: RegulatoryWindow) -> WindowRun:
    """Time the scheduler over ``hour``: a first run, the hour again, and a run's parts."""
    sql = create_engine_for(sql_url)
    try:
        registry, results = Registry(sql), RuleResults(sql)
        scheduler, now_ms = _scheduler(influx, registry, results, hour)
        first_s, recorded = _timed(lambda: scheduler.run_once(now_ms))
        for metric in ("pm25", "pm10"):
            scheduler.note_late(metric, hour.start_ms)
        again_s, again = _timed(lambda: scheduler.run_once(now_ms))
        source = scheduler.evaluator.source
        hours = [*hour.previous().hours(), *hour.hours()]
        sites = {p.site for p in registry.placements().values()}
        read_s, _ = _timed(
            lambda: [source.site_hours(m, hours, sites=sites) for m in ("pm25", "pm10")]
        )
        compute_s, computed = _timed(
            lambda: scheduler.evaluator.compute([WindowJob(hour)], [_RULE_SET])
        )
        record_s, _ = _timed(lambda: results.record(computed, now=utc(now_ms)))
    finally:
        sql.dispose()
    return WindowRun(
        first_s=first_s,
        again_s=again_s,
        read_s=read_s,
        compute_s=compute_s,
        record_s=record_s,
        results=len(recorded),
        changed_again=sum(item.changed for item in again),
    )


def _scheduler(
    influx: InfluxStore, registry: Registry, results: RuleResults, hour: RegulatoryWindow
) -> tuple[WindowScheduler, int]:
    """A scheduler with the window rules, and the moment at which ``hour`` alone is due."""
    scheduler = WindowScheduler(
        influx, results, registry, lambda: [_RULE_SET], settle_s=_SETTLE_S, lookback_h=1
    )
    now_ms = hour.end_ms + round(_SETTLE_S * 1000) + 1
    if scheduler.due(now_ms) != [WindowJob(hour)]:
        raise RuntimeError(f"expected the one hour due, not {scheduler.due(now_ms)}")
    return scheduler, now_ms


def _write_hours(
    influx: InfluxStore, placements: list[Placement], hour: RegulatoryWindow
) -> tuple[int, float]:
    """PM2.5 and PM10 minute aggregates of ``hour`` and the hour before; (points, seconds)."""
    started = time.perf_counter()
    points = [
        reading_point(
            placement,
            Reading(
                device="pm-1",
                metric=metric,
                value=round((30.0 + n % 60) * factor + minute % 7, 1),
                ts=hour.start_ms - _HOUR_MS + minute * _MINUTE_MS,
                interval_s=60,
                count=60,
                valid=True,
            ),
        )
        for n, placement in enumerate(placements)
        for minute in range(120)
        for metric, factor in (("pm25", 1.0), ("pm10", 1.6))
    ]
    influx.write(points)
    return len(points), time.perf_counter() - started


def _timed(step: Callable[[], _T]) -> tuple[float, _T]:
    started = time.perf_counter()
    found = step()
    return time.perf_counter() - started, found
