"""The rules service's second thread: the rules judged over stored data, in rounds.

Stream rules judge readings as they arrive (:mod:`rules.service`); the rules below read
InfluxDB and the SQL store, and run on a thread of their own so a slow query never holds up a
stream result. Every ``window_interval_s`` (60 s) a round runs, with the rule sets the stream
thread has in force (edited files are reloaded there, without a restart):

- **window rules** (``window_mean``, ``aqi``): :meth:`WindowScheduler.run_once` — closed hours
  and days once settled, the lookback at start, windows marked again by late data
  (:meth:`PeriodicRules.note_late`, called by the stream thread), sweeps when configured;
- **energy intensity**: :meth:`EnergyEvaluator.run` over :func:`rules.energy.due` (the days
  and months closed in the last 35 days) every ``energy_interval_s``, and when the rule files
  change;
- **annual targets**: :meth:`TargetEvaluator.run` through :func:`rules.targets.due`
  (yesterday) once per local day, at start, and when the rule files change.

What each run records goes to the alert book (:class:`~rules.alerting.ServiceAlerts`) right
after; between rounds the thread runs the book's timers every ``alerts_tick_s``.

Each is guarded on its own: a failure (InfluxDB or the SQL store unavailable, or a defect) is
logged and counted (``lantian_rules_window_failures_total{evaluator}``) and what it was to do
is due again the next round; it never ends the service. Results go through
:meth:`store.sql.RuleResults.record`, so a run that finds nothing new records nothing new.

With N partitions, window rules of a site run in the worker that owns the site's first gateway
(by id), the one that receives that gateway's late data; a site with several gateways relies on
sweeps (``window_resweep_s``) for late data of the others. Energy intensity and annual targets
are city-wide and light: partition 0 alone runs them.
"""

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

from sqlalchemy.exc import SQLAlchemyError

from rules import energy, targets
from rules.alerting import ServiceAlerts
from rules.broker import partition_of
from rules.counters import RulesCounters
from rules.energy import EnergyEvaluator
from rules.files import RuleSet
from rules.model import AnnualTargetRule, EnergyIntensityRule
from rules.settings import RulesSettings
from rules.targets import TargetEvaluator
from rules.windows import WindowScheduler
from store.influx import InfluxError, InfluxStore
from store.sql import ProductionStore, Recorded, Registry, RuleResults
from telemetry import Reading

log = logging.getLogger(__name__)

# Asia/Shanghai is UTC+8 (no daylight saving since 1991): its clock hours are UTC hours, so
# ``ts // _HOUR_MS`` numbers local hours too.
_HOUR_MS = 3_600_000


class PeriodicRules:
    """Window rules, energy intensity and annual targets, run in rounds on a thread.

    :meth:`note_late` is safe to call from the stream thread; :meth:`run_round` runs one round
    in the caller's thread (the thread of :meth:`start`, a test, a benchmark).
    """

    def __init__(  # noqa: PLR0913 - the stores it reads, the rules, counters and clock
        self,
        settings: RulesSettings,
        *,
        influx: InfluxStore,
        results: RuleResults,
        registry: Registry,
        production: ProductionStore,
        rule_sets: Callable[[], Sequence[RuleSet]],
        counters: RulesCounters,
        alerts: ServiceAlerts | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._alerts = alerts
        self._registry = registry
        self._rule_sets = rule_sets
        self._counters = counters
        self._clock = clock
        self._partitioned = settings.partitions > 1
        self._sites: frozenset[str] = frozenset()  # with partitions: the sites this one owns
        self.scheduler = WindowScheduler(
            influx,
            results,
            registry,
            rule_sets,
            settle_s=settings.window_settle_s,
            lookback_h=settings.window_lookback_h,
            resweep_s=settings.window_resweep_s,
            site_filter=self._owns_site if self._partitioned else None,
        )
        self.energy = EnergyEvaluator(influx, results, registry, production, clock=self._utc_now)
        self.targets = TargetEvaluator(influx, results, registry, production, clock=self._utc_now)
        self._settle_ms = round(settings.window_settle_s * 1000)
        # What the last successful run evaluated with: (monotonic time, rule file versions),
        # (the day evaluated through, rule file versions).
        self._energy_done: tuple[float, tuple[str, ...]] | None = None
        self._targets_done: tuple[date, tuple[str, ...]] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rules-windows", daemon=True)

    def start(self) -> None:
        """Run a round now, then every ``window_interval_s``, until :meth:`stop`."""
        self._thread.start()

    def stop(self) -> None:
        """Let a round in progress finish its current step, then end the thread."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def note_late(self, readings: Sequence[Reading], received_ms: int) -> None:
        """Readings that arrived at ``received_ms``: the windows of late ones run again.

        Only readings older than the settle time can belong to a window already evaluated;
        of those, one per metric and clock hour goes to the scheduler (every reading of an
        hour marks the same hour and day). Cheap for the usual, recent reading.
        """
        before = received_ms - self._settle_ms
        late: dict[tuple[str, int], int] = {}
        count = 0
        for reading in readings:
            if reading.ts < before:
                count += 1
                late[reading.metric, reading.ts // _HOUR_MS] = reading.ts
        if not count:
            return
        self._counters.late_readings.inc(count)
        for (metric, _hour), ts_ms in late.items():
            self.scheduler.note_late(metric, ts_ms)

    def run_round(self, now_ms: int) -> None:
        """Evaluate what is due at ``now_ms``; failures are logged and counted, not raised."""
        rule_sets = list(self._rule_sets())
        self._guarded("windows", lambda: self._windows(now_ms))
        if self._settings.partition != 0 or self._stopping.is_set():
            return
        versions = tuple(rule_set.version for rule_set in rule_sets)
        if _has(rule_sets, EnergyIntensityRule) and self._energy_due(versions):
            periods = energy.due(now_ms)
            if self._guarded("energy", lambda: self.energy.run(rule_sets, periods)):
                self._energy_done = (time.monotonic(), versions)
        as_of = targets.due(now_ms)
        if (
            _has(rule_sets, AnnualTargetRule)
            and self._targets_done != (as_of, versions)
            and not self._stopping.is_set()
            and self._guarded("targets", lambda: self.targets.run(rule_sets, as_of))
        ):
            self._targets_done = (as_of, versions)

    def _run(self) -> None:
        next_round = next_tick = time.monotonic()
        while not self._stopping.is_set():
            if time.monotonic() >= next_round:
                next_round = time.monotonic() + self._settings.window_interval_s
                self.run_round(round(self._clock() * 1000))
            if self._alerts is not None and time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self._settings.alerts_tick_s
                self._alerts.tick()
            wake = next_round if self._alerts is None else min(next_round, next_tick)
            self._stopping.wait(max(0.0, wake - time.monotonic()))

    def _windows(self, now_ms: int) -> list[Recorded]:
        if self._partitioned:
            self._sites = self._own_sites()
        return self.scheduler.run_once(now_ms)

    def _energy_due(self, versions: tuple[str, ...]) -> bool:
        if self._energy_done is None:
            return True
        done_at, done_versions = self._energy_done
        elapsed = time.monotonic() - done_at
        return done_versions != versions or elapsed >= self._settings.energy_interval_s

    def _guarded(self, evaluator: str, run: Callable[[], list[Recorded]]) -> bool:
        """Run one evaluator, count what it recorded; say whether it completed."""
        try:
            recorded = run()
        except (InfluxError, SQLAlchemyError) as exc:
            self._counters.window_failures.labels(evaluator).inc()
            log.warning("%s: run failed, retried next round: %s", evaluator, exc)
            return False
        except Exception:
            # A defect (a rule the evaluator cannot handle, ...) must not end the service.
            self._counters.window_failures.labels(evaluator).inc()
            log.exception("%s: run failed, retried next round", evaluator)
            return False
        if self._alerts is not None:
            self._alerts.handle(recorded)
        counters = self._counters
        counters.window_runs.labels(evaluator).inc()
        counters.window_results.labels(evaluator).inc(len(recorded))
        counters.window_last_success.labels(evaluator).set(self._clock())
        changed = Counter(item.result.outcome for item in recorded if item.changed)
        for outcome, count in changed.items():
            counters.window_changes.labels(evaluator, outcome).inc(count)
        if changed:
            log.info(
                "%s: %d result(s) recorded, new or changed: %s",
                evaluator,
                len(recorded),
                ", ".join(f"{count} {outcome}" for outcome, count in sorted(changed.items())),
            )
        return True

    def _own_sites(self) -> frozenset[str]:
        """The sites whose first gateway (by id) this partition owns."""
        first: dict[str, str] = {}
        for placement in self._registry.placements().values():
            known = first.get(placement.site)
            if known is None or placement.gateway < known:
                first[placement.site] = placement.gateway
        settings = self._settings
        return frozenset(
            site
            for site, gateway in first.items()
            if partition_of(gateway, settings.partitions) == settings.partition
        )

    def _owns_site(self, site: str) -> bool:
        return site in self._sites

    def _utc_now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


def _has(rule_sets: Sequence[RuleSet], kind: type[EnergyIntensityRule | AnnualTargetRule]) -> bool:
    return any(isinstance(rule, kind) for rule_set in rule_sets for rule in rule_set.rules)
