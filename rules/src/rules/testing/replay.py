"""Running one test: its series through the stream engine and the window core, results out. Pure.

- **Readings.** Each series value becomes a :class:`~telemetry.Reading` at ``start + offset +
  slot * interval``: a raw sample, or an aggregate of ``interval_s`` stamped with its start.
- **Stream rules.** A fresh :class:`~rules.stream.StreamEngine` with the test's rules takes the
  readings, the status messages and the ticks (``eval_at``) in time order. A reading's time is
  when its value is known — a sample's ``ts``, an aggregate's end — as a gateway would publish
  it; at equal times readings come first, then status messages, then the tick, each in the
  order the file gives them. Gateways the test mentions (series, status, ``watch``) are
  watched from ``start``, as the service watches the registry's gateways.
- **Window rules.** The 60-second aggregates are the minute data, as ``interval = '60s'`` in
  InfluxDB; every clock hour and local day holding one of a rule's metrics, and every window an
  expectation names, is judged for every placed site in the rule's scope with the pure core
  (:func:`~rules.windows.hourly_mean`, :func:`~rules.windows.daily_mean`,
  :func:`~rules.windows.window_mean_result`, :func:`~rules.windows.aqi_result`), as if closed:
  what the test gives is all the data there is.
- **Energy intensity and annual targets.** :mod:`rules.testing.stored`: the test's aggregates
  as the meters' deltas, its ``production`` figures and ``daily`` values as the stores' data,
  judged with the evaluators' pure core; annual targets only when the test gives ``as_of``.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from rules.files import RuleSet
from rules.model import Rule, WindowMeanRule
from rules.stream import StreamEngine
from rules.stream.episodes import end_ms
from rules.testing.loading import LoadedTests
from rules.testing.model import RuleTestCase, SeriesSpec, moment_ms
from rules.testing.series import parse_series
from rules.testing.stored import energy_results, target_results
from rules.windows import (
    AQI_METRICS,
    InForce,
    MinuteAggregate,
    RegulatoryWindow,
    SitePlacement,
    aqi_result,
    daily_mean,
    empty_hour,
    hourly_mean,
    site_placements,
    validity_for,
    window_mean_result,
    window_rules,
)
from rules.windows.judge import SiteMean
from standards import Averaging, hour_window
from store.sql import Placement, RuleResult
from telemetry import Reading

_MINUTE_S = 60.0  # the gateways' minute aggregates, which window rules read


@dataclass(frozen=True, slots=True)
class Observed:
    """A result the rules gave, and when the stream engine gave it (``None`` for windows)."""

    result: RuleResult
    at_ms: int | None


@dataclass(frozen=True, slots=True)
class CaseRun:
    """What one test's input gave: every result in order, and the rules left unevaluated."""

    start_ms: int
    observed: tuple[Observed, ...]
    not_evaluated: tuple[str, ...]


def run_case(loaded: LoadedTests, case: RuleTestCase) -> CaseRun:
    """Evaluate the test's rules over its input."""
    rule_sets = _in_force(loaded.rule_sets, case.rules)
    start = case.start_ms
    readings = [
        (loaded.placements[spec.gateway], reading)
        for spec in case.series
        for reading in readings_of(spec, start, spec.interval or case.interval)
    ]
    observed = _stream(loaded, case, rule_sets, readings)
    observed += [Observed(r, None) for r in _windows(loaded, case, rule_sets, readings)]
    placements = list(loaded.placements.values())
    for evaluate in (energy_results, target_results):
        observed += [Observed(r, None) for r in evaluate(case, rule_sets, placements, readings)]
    skipped = (
        []
        if case.as_of is not None
        else [r.id for s in rule_sets for r in s.rules if r.kind == "annual_target"]
    )
    return CaseRun(start, tuple(observed), tuple(skipped))


def readings_of(spec: SeriesSpec, start_ms: int, interval: timedelta) -> list[Reading]:
    """The readings a series stands for."""
    first = start_ms + spec.offset // timedelta(milliseconds=1)
    step = interval // timedelta(milliseconds=1)
    return [
        Reading(
            device=spec.device,
            metric=spec.metric,
            value=sample.value,
            ts=first + sample.slot * step,
            quality=sample.quality,
            interval_s=spec.interval_s,
            valid=spec.valid,
            time_unsynced=True if spec.unsynced else None,
        )
        for sample in parse_series(spec.values)
    ]


def _in_force(rule_sets: Sequence[RuleSet], wanted: list[str] | None) -> list[RuleSet]:
    if wanted is None:
        return list(rule_sets)
    return [
        RuleSet(s.path, s.version, s.file.model_copy(update={"rules": _kept(s, set(wanted))}))
        for s in rule_sets
    ]


def _kept(rule_set: RuleSet, wanted: set[str]) -> list[Rule]:
    return [rule for rule in rule_set.file.rules if rule.id in wanted]


def _stream(
    loaded: LoadedTests,
    case: RuleTestCase,
    rule_sets: list[RuleSet],
    readings: list[tuple[Placement, Reading]],
) -> list[Observed]:
    engine = StreamEngine(rule_sets)
    start = case.start_ms
    mentioned = [s.gateway for s in case.series] + [s.gateway for s in case.status] + case.watch
    for gateway in dict.fromkeys(mentioned):
        engine.watch(loaded.placements[gateway], start)
    events: list[tuple[int, int, int]] = []  # time, rank, index into its list
    events += [(end_ms(r), 0, n) for n, (_, r) in enumerate(readings)]
    events += [(moment_ms(s.at, start), 1, n) for n, s in enumerate(case.status)]
    events += [(moment_ms(t, start), 2, n) for n, t in enumerate(case.eval_at)]
    observed: list[Observed] = []
    for time, rank, n in sorted(events):
        if rank == 0:
            placement, reading = readings[n]
            results = engine.on_reading(placement, reading)
        elif rank == 1:
            status = case.status[n]
            placement = loaded.placements[status.gateway]
            results = engine.on_status(placement, online=status.state == "online", ts_ms=time)
        else:
            results = engine.tick(time)
        observed += [Observed(result, time) for result in results]
    return observed


class _Minutes:
    """The test's minute aggregates, by metric, site and clock hour; site means made once."""

    def __init__(self, readings: Iterable[tuple[Placement, Reading]]) -> None:
        self._hours: dict[tuple[str, str], dict[int, list[MinuteAggregate]]] = {}
        self._means: dict[tuple[str, RegulatoryWindow, str], SiteMean] = {}
        for placement, r in readings:
            if r.interval_s != _MINUTE_S:
                continue
            aggregate = MinuteAggregate(
                r.ts, r.device, r.value, r.quality.value, r.valid, unsynced=bool(r.time_unsynced)
            )
            by_hour = self._hours.setdefault((r.metric, placement.site), {})
            by_hour.setdefault(hour_window(r.ts).start_ms, []).append(aggregate)

    def windows(self, metrics: Sequence[str], size: str) -> set[RegulatoryWindow]:
        """The windows of ``size`` holding data of one of ``metrics``."""
        return {
            RegulatoryWindow.of("hour" if size == "hour" else "day", start)
            for (metric, _), hours in self._hours.items()
            if metric in metrics
            for start in hours
        }

    def mean(self, metric: str, window: RegulatoryWindow, site: str) -> SiteMean:
        """A site's hourly or daily mean of ``metric``."""
        key = (metric, window, site)
        if key not in self._means:
            by_hour = self._hours.get((metric, site), {})
            rule = validity_for(metric, Averaging.HOUR)
            hours = [
                hourly_mean(by_hour[h.start_ms], h, rule)
                if h.start_ms in by_hour
                else empty_hour(h, rule)
                for h in window.hours()
            ]
            self._means[key] = (
                hours[0]
                if window.size == "hour"
                else daily_mean(hours, window.local_day, validity_for(metric, Averaging.DAY))
            )
        return self._means[key]


def _windows(
    loaded: LoadedTests,
    case: RuleTestCase,
    rule_sets: list[RuleSet],
    readings: list[tuple[Placement, Reading]],
) -> list[RuleResult]:
    minutes = _Minutes(readings)
    sites = site_placements(loaded.placements.values()).values()
    rules, _ = window_rules(rule_sets)
    work: list[tuple[RegulatoryWindow, int, InForce]] = []
    for order, in_force in enumerate(rules):
        rule = in_force.rule
        windows = minutes.windows(in_force.metrics, rule.window.value)
        windows |= {
            RegulatoryWindow.of(w.window.size, w.window.start_ms)
            for w in case.expect_windows
            if w.rule == rule.id
        }
        work += [(window, order, in_force) for window in windows]
    return [
        _judge(in_force, window, site, minutes)
        for window, _, in_force in sorted(work, key=lambda w: (w[0], w[1]))
        for site in sites
        if site.within(in_force.rule.scope)
    ]


def _judge(
    in_force: InForce, window: RegulatoryWindow, site: SitePlacement, minutes: _Minutes
) -> RuleResult:
    rule, rule_set = in_force.rule, in_force.rule_set
    if isinstance(rule, WindowMeanRule):
        return window_mean_result(
            rule, rule_set, window, site, minutes.mean(rule.metric, window, site.site)
        )
    previous = window.previous()
    return aqi_result(
        rule,
        rule_set,
        window,
        site,
        means={m: minutes.mean(m, window, site.site) for m in AQI_METRICS},
        previous={m: minutes.mean(m, previous, site.site) for m in AQI_METRICS},
    )
