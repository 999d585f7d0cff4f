"""``lantian-rules backtest``: how often rules would have fired over stored history.

Rules are replayed over a period of InfluxDB data; nothing is recorded.

- **stream rules**: the period's readings of the metrics the rules read (all of them for
  ``no_data``), an hour at a time for all sites, go to a fresh
  :class:`~rules.stream.StreamEngine` in reading-time order (a sample's ``ts``, an
  aggregate's end) with a tick every minute of that time; the registry's gateways are
  watched from the start. Placements are the readings' own tags: where the gateway stood
  then. Status messages are not stored, so ``gateway_offline`` is not replayed; out-of-range
  readings are dead letters, so ``out_of_range`` sees only what InfluxDB took;
- **window rules**: every clock hour and local day wholly inside the period, with
  :meth:`~rules.windows.WindowEvaluator.compute`, a local day at a time;
- **energy intensity**: every local day and month wholly inside the period, with
  :meth:`~rules.energy.EnergyEvaluator.evaluate` (submitted output from the SQL store);
- **annual targets**: once, as of the period's last local day, with
  :meth:`~rules.targets.TargetEvaluator.evaluate`.

Per rule: episodes fired and on how many subjects; or windows evaluated, exceeding (projected
to miss), at how many subjects, and with insufficient data.
"""

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine

from rules.energy import EnergyEvaluator, Period
from rules.files import RuleSet
from rules.model import FlatlineRule, NoDataRule, OutOfRangeRule, PmOrderRule, Rule, ThresholdRule
from rules.stream import StreamEngine
from rules.stream.episodes import end_ms
from rules.targets import PROJECTED_MISS, TargetEvaluator
from rules.windows import RegulatoryWindow, WindowEvaluator, WindowJob
from standards import REGULATORY_ZONE, day_bounds, hours_of_day, local_date, local_datetime
from store.connection import InfluxConnection
from store.influx import InfluxStore, quote_identifier
from store.sql import Placement, ProductionStore, Registry, RuleResult, RuleResults
from telemetry import CATALOG, Quality, Reading

_HOUR_MS = 3_600_000  # readings are read an hour at a time
_NS_PER_MS = 1_000_000  # InfluxQL integer time literals are nanoseconds
_FIELDS = '"value", "min", "max", "count", "valid", "time_unsynced"'
_TICK_MS = 60_000  # ticks of reading time: no_data fires within a minute of its hold
_WINDOWS = {  # kinds judged per window: what a window and a subject are called
    "window_mean": ("site windows", "site"),
    "aqi": ("site windows", "site"),
    "energy_intensity": ("enterprise periods", "enterprise"),
    "annual_target": ("years", "subject"),
}
_ALERTING = frozenset({"firing", "exceeding", PROJECTED_MISS})
_NOTES = {
    "gateway_offline": "not replayed: gateway status messages are not stored",
    "out_of_range": "out-of-range readings are dead letters, not in InfluxDB",
}


class BacktestSettings(BaseSettings):
    """Where history is: ``LANTIAN_RULES_INFLUX__URL``, ``LANTIAN_RULES_SQL_URL``, ...

    ``INFLUX__`` takes every :class:`~store.connection.InfluxConnection` field (``DATABASE``,
    ``USERNAME``, ``TOKEN``, ...). The service's other settings may be in the same environment
    or file; they are ignored.
    """

    model_config = SettingsConfigDict(
        env_prefix="LANTIAN_RULES_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    influx: InfluxConnection = InfluxConnection()
    sql_url: str = "sqlite:///var/lantian.db"


def backtest_settings(env_file: Path | None) -> BacktestSettings:
    """Settings from the environment, and from ``env_file`` when one is given."""
    return BacktestSettings() if env_file is None else BacktestSettings(_env_file=env_file)


def moment_ms(text: str) -> int:
    """``2026-11-01`` (local midnight, Asia/Shanghai) or an ISO time; naive times are local."""
    if "T" not in text and " " not in text:
        return day_bounds(date.fromisoformat(text)).start_ms
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(REGULATORY_ZONE))
    return round(moment.timestamp() * 1000)


@dataclass
class RuleTally:
    """What one rule would have done over the period."""

    rule: str
    kind: str
    note: str | None = None  # why it was not replayed, or what limits the replay
    fired: int = 0  # stream: episodes that fired; windows: site windows exceeding
    subjects: set[str] = field(default_factory=set)  # those that fired or exceeded
    outcomes: Counter[str] = field(default_factory=Counter)  # window results by outcome

    def to_json(self) -> dict[str, object]:
        """The tally as ``--json`` prints it."""
        return {
            "rule": self.rule,
            "kind": self.kind,
            "replayed": self.kind != "gateway_offline",
            "note": self.note,
            "fired": self.fired,
            "subjects": sorted(self.subjects),
            "windows": sum(self.outcomes.values()),
            "outcomes": dict(sorted(self.outcomes.items())),
        }

    def text(self) -> str:
        """The tally in words."""
        if self.kind == "gateway_offline":
            return self.note or ""
        n = len(self.subjects)
        if self.kind in _WINDOWS:
            verb = "projected to miss" if self.kind == "annual_target" else "exceeding"
            windows, subject = _WINDOWS[self.kind]
            return (
                f"{verb} in {self.fired} of {sum(self.outcomes.values())} {windows}, "
                f"at {n} {subject}{'s' * (n != 1)}; "
                f"insufficient data in {self.outcomes['insufficient_data']}"
                + (f" ({self.note})" if self.note else "")
            )
        line = f"fired {self.fired} time{'s' * (self.fired != 1)}, on {n} subject{'s' * (n != 1)}"
        return line + (f" ({self.note})" if self.note else "")


@dataclass
class Backtest:
    """The whole replay: the period, what was read, and every rule's tally."""

    start_ms: int
    end_ms: int
    tallies: dict[str, RuleTally]
    readings: int = 0
    ignored: Counter[str] = field(default_factory=Counter)  # stale, unsynced, invalid, unplaced

    def to_json(self) -> str:
        """The report as JSON."""
        return json.dumps(
            {
                "from": local_datetime(self.start_ms).isoformat(),
                "to": local_datetime(self.end_ms).isoformat(),
                "readings": self.readings,
                "ignored": dict(sorted(self.ignored.items())),
                "rules": [tally.to_json() for tally in self.tallies.values()],
            },
            indent=2,
            ensure_ascii=False,
        )

    def text(self) -> str:
        """The report a person reads: one line per rule."""
        ignored = ", ".join(f"{n} {why}" for why, n in sorted(self.ignored.items()) if n)
        lines = [
            f"backtest {local_datetime(self.start_ms).isoformat(timespec='minutes')} to "
            f"{local_datetime(self.end_ms).isoformat(timespec='minutes')}: "
            f"{self.readings} readings replayed" + (f" ({ignored} ignored)" if ignored else "")
        ]
        width = max((len(t.rule) for t in self.tallies.values()), default=4)
        kinds = max((len(t.kind) for t in self.tallies.values()), default=4)
        lines += [
            f"  {t.rule:<{width}}  {t.kind:<{kinds}}  {t.text()}" for t in self.tallies.values()
        ]
        return "\n".join(lines) + "\n"


def backtest(
    influx: InfluxStore, sql: Engine, rule_sets: Sequence[RuleSet], *, start_ms: int, end_ms: int
) -> Backtest:
    """Replay ``rule_sets`` over ``[start_ms, end_ms)``; record nothing.

    Raises:
        InfluxError: InfluxDB failed.
        SQLAlchemyError: the registry could not be read.
    """
    tallies = {
        rule.id: RuleTally(rule.id, rule.kind, _NOTES.get(rule.kind))
        for rule_set in rule_sets
        for rule in rule_set.rules
    }
    report = Backtest(start_ms, end_ms, tallies)
    registry, results, production = Registry(sql), RuleResults(sql), ProductionStore(sql)
    _replay_stream(report, influx, registry, rule_sets)
    windows = WindowEvaluator(influx, results, registry)
    periods: list[Period] = []  # closed days and months, for energy intensity
    for day, jobs in _window_jobs(start_ms, end_ms):
        _count(report, windows.compute(jobs, rule_sets))
        if jobs[-1].window.size == "day":
            periods.append(Period.day(day))
            month = Period.month(day.year, day.month)
            if month.start_ms >= start_ms and month.end_ms == periods[-1].end_ms:
                periods.append(month)
    energy = EnergyEvaluator(influx, results, registry, production)
    _count(report, energy.evaluate(rule_sets, periods))
    if any(tally.kind == "annual_target" for tally in tallies.values()):
        as_of = local_date(end_ms - 1)  # the last local day closed in the period
        if day_bounds(as_of).end_ms > end_ms:
            as_of -= timedelta(days=1)
        targets = TargetEvaluator(influx, results, registry, production)
        _count(report, targets.evaluate(rule_sets, as_of))
        for tally in tallies.values():
            if tally.kind == "annual_target":
                tally.note = f"the year through {as_of.isoformat()}"
    return report


def _count(report: Backtest, results: Iterable[RuleResult]) -> None:
    for result in results:
        tally = report.tallies[result.rule]
        if result.kind in _WINDOWS:
            tally.outcomes[result.outcome] += 1
        if result.outcome in _ALERTING:
            tally.fired += 1
            tally.subjects.add(result.subject)


def _replay_stream(
    report: Backtest, influx: InfluxStore, registry: Registry, rule_sets: Sequence[RuleSet]
) -> None:
    metrics = sorted({metric for s in rule_sets for rule in s.rules for metric in _metrics(rule)})
    if not metrics:
        return
    engine = StreamEngine(rule_sets)
    placements = registry.placements()
    for placement in placements.values():
        engine.watch(placement, report.start_ms)
    tick = report.start_ms + _TICK_MS  # the next tick
    pending: list[tuple[int, Placement, Reading]] = []
    for start in range(report.start_ms, report.end_ms, _HOUR_MS):
        end = min(start + _HOUR_MS, report.end_ms)
        read = list(_read(influx, metrics, (start, end), placements, report.ignored))
        report.readings += len(read)
        pending += [(end_ms(r), p, r) for p, r in read]
        pending.sort(key=lambda e: (e[0], e[2].metric, e[1].site, e[2].device, e[2].ts))
        # Readings known before the hour's end go now; later ones (an aggregate of its last
        # minute) wait, so that no reading of the next hour comes before them.
        last = end == report.end_ms
        due = pending if last else [e for e in pending if e[0] < end]
        pending = [] if last else [e for e in pending if e[0] >= end]
        for at, placement, reading in due:
            while tick < at:
                _count(report, engine.tick(tick))
                tick += _TICK_MS
            _count(report, engine.on_reading(placement, reading))
    while tick <= report.end_ms:
        _count(report, engine.tick(tick))
        tick += _TICK_MS
    report.ignored.update(stale=engine.counts.stale, unsynced=engine.counts.unsynced)


def _metrics(rule: Rule) -> list[str]:
    """The metrics a stream rule reads (``no_data``: every one); none for other rules."""
    if isinstance(rule, ThresholdRule | FlatlineRule):
        return [rule.metric]
    if isinstance(rule, PmOrderRule):
        return ["pm25", "pm10"]
    if isinstance(rule, OutOfRangeRule):
        return list(rule.metrics or CATALOG)
    if isinstance(rule, NoDataRule):
        return list(CATALOG)
    return []  # gateway_offline reads status messages; window rules read elsewhere


def _read(
    influx: InfluxStore,
    metrics: Sequence[str],
    period: tuple[int, int],
    placements: dict[str, Placement],
    ignored: Counter[str],
) -> Iterator[tuple[Placement, Reading]]:
    """The readings of ``metrics`` with ``ts`` in ``period``, every site at once."""
    measurements = ", ".join(quote_identifier(metric) for metric in metrics)
    influxql = (
        f"SELECT {_FIELDS} FROM {measurements} "  # noqa: S608 - catalog ids, quoted
        "WHERE time >= $start AND time < $end GROUP BY *"
    )
    params = {"start": period[0] * _NS_PER_MS, "end": period[1] * _NS_PER_MS}
    for series in influx.query(influxql, params=params):
        placement = _placement(series.tags, placements)
        if placement is None:
            ignored["unplaced"] += len(series.values)
            continue
        for row in series.rows():
            try:
                yield placement, _reading(series.name, row)
            except (ValidationError, ValueError, TypeError, KeyError):
                ignored["invalid"] += 1


def _reading(metric: str, row: dict[str, Any]) -> Reading:
    interval = row.get("interval") or "raw"
    return Reading(
        device=row["device"],
        metric=metric,
        value=row["value"],
        ts=int(row["time"]),
        quality=Quality(row.get("quality") or "N"),
        min=row["min"],
        max=row["max"],
        count=row["count"],
        valid=row["valid"],
        interval_s=None if interval == "raw" else float(interval.removesuffix("s")),
        time_unsynced=True if row["time_unsynced"] else None,
    )


def _placement(tags: Mapping[str, str], known: dict[str, Placement]) -> Placement | None:
    """Where the readings were tagged as measured; the registry's when the tags are short."""
    gateway, site = tags.get("gateway", ""), tags.get("site", "")
    enterprise, county = tags.get("enterprise", ""), tags.get("county", "")
    if gateway and site and enterprise and county:
        return Placement(gateway, site, enterprise, tags.get("park") or None, county)
    return known.get(gateway)


def _window_jobs(start_ms: int, end_ms: int) -> Iterator[tuple[date, list[WindowJob]]]:
    """Per local day, its hours and the day itself that lie wholly in ``[start_ms, end_ms)``."""
    day = local_date(start_ms)
    while (bounds := day_bounds(day)).start_ms < end_ms:
        jobs = [
            WindowJob(RegulatoryWindow.hour(hour.start_ms))
            for hour in hours_of_day(day)
            if start_ms <= hour.start_ms and hour.end_ms <= end_ms
        ]
        if start_ms <= bounds.start_ms and bounds.end_ms <= end_ms:
            jobs.append(WindowJob(RegulatoryWindow.day(day)))
        if jobs:
            yield day, jobs
        day += timedelta(days=1)
