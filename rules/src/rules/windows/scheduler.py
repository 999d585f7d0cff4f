"""When window rules run: closed windows once they have settled, and again when late data comes.

:class:`WindowScheduler` keeps no thread and reads no clock: the rules service calls
:meth:`~WindowScheduler.run_once` with the time now (every minute, say) and
:meth:`~WindowScheduler.note_late` for every reading older than the settle time. It decides:

- **closed windows**: a clock hour or calendar day is evaluated once its end is ``settle_s``
  in the past (gateways publish a minute's aggregate after the minute, ingest batches; five
  minutes lets the last of them arrive);
- **the lookback**: on its first run the scheduler evaluates every window that closed in the
  last ``lookback_h`` hours; it does not know what ran before a restart, and evaluating a
  window again records nothing new unless its data changed;
- **late data**: a reading for a window already evaluated marks that window, for the
  reading's metric, and (for the AQI's ``previous_category``) the window after it; the next
  run evaluates them again, whatever their age;
- **sweeps** (optional, ``resweep_s``): every so often the whole lookback is evaluated again,
  a safety net for late data no one noted (written while this service was down, or noted by
  another worker).

A run that fails (InfluxDB or the SQL store unavailable) raises and keeps everything it was
to do for the next run.
"""

import threading
from collections.abc import Callable, Iterable

from rules.files import RuleSet
from rules.windows.aqi import AQI_METRICS
from rules.windows.evaluator import WindowEvaluator
from rules.windows.periods import RegulatoryWindow, Size, WindowJob
from store.influx import InfluxStore
from store.sql import Recorded, Registry, RuleResults

_SIZES: tuple[Size, ...] = ("hour", "day")
_MS_PER_S = 1000
_MS_PER_H = 3_600_000


class WindowScheduler:
    """Decides which windows to evaluate and evaluates them with a :class:`WindowEvaluator`.

    Safe to call from two threads (the stream side's :meth:`note_late`, a timer's
    :meth:`run_once`); runs themselves must not overlap.
    """

    def __init__(  # noqa: PLR0913 - the stores, the rules, and the timing, keyword-only
        self,
        influx: InfluxStore,
        results: RuleResults,
        registry: Registry,
        rule_sets: Callable[[], Iterable[RuleSet]],
        *,
        settle_s: float = 300.0,
        lookback_h: float = 48.0,
        resweep_s: float | None = None,
        site_filter: Callable[[str], bool] | None = None,
    ) -> None:
        if settle_s < 0 or lookback_h < 0 or (resweep_s is not None and resweep_s <= 0):
            raise ValueError("settle_s and lookback_h must not be negative, resweep_s positive")
        self.evaluator = WindowEvaluator(influx, results, registry, site_filter=site_filter)
        self._rule_sets = rule_sets
        self._settle_ms = round(settle_s * _MS_PER_S)
        self._lookback_ms = round(lookback_h * _MS_PER_H)
        self._resweep_ms = None if resweep_s is None else round(resweep_s * _MS_PER_S)
        self._lock = threading.Lock()
        self._next: dict[Size, int] | None = None  # start of the first window not yet evaluated
        self._late: dict[RegulatoryWindow, set[str]] = {}
        self._swept_ms: int | None = None

    def note_late(self, metric: str, ts_ms: int) -> None:
        """A reading of ``metric`` at ``ts_ms`` arrived: evaluate its windows again if they ran.

        Windows not evaluated yet are left alone; they will be, with this reading.
        """
        with self._lock:
            if self._next is not None and ts_ms >= self._next["hour"]:
                return  # its hour is not evaluated yet, so neither is its day (the usual case)
            for size in _SIZES:
                window = RegulatoryWindow.of(size, ts_ms)
                marked = [window, window.following()] if metric in AQI_METRICS else [window]
                for each in marked:
                    if self._next is not None and each.start_ms >= self._next[size]:
                        continue  # not evaluated yet
                    self._late.setdefault(each, set()).add(metric)

    def due(self, now_ms: int) -> list[WindowJob]:
        """What a run at ``now_ms`` would evaluate, oldest window first; changes nothing."""
        with self._lock:
            return self._due(now_ms)[0]

    def run_once(self, now_ms: int) -> list[Recorded]:
        """Evaluate what is due at ``now_ms``; the results as recorded (``changed`` or not).

        Raises:
            InfluxError, SQLAlchemyError: a store failed; what was due stays due.
        """
        with self._lock:
            jobs, following, taken, sweep = self._due(now_ms)
            # From here on, data noted late for these windows (even while this run reads them)
            # marks them again for the next run.
            before, self._next = self._next, following
            for window in taken:
                del self._late[window]
        try:
            recorded = (
                self.evaluator.evaluate(jobs, self._rule_sets(), now_ms=now_ms) if jobs else []
            )
        except BaseException:
            with self._lock:
                self._next = before
                for window, metrics in taken.items():
                    self._late.setdefault(window, set()).update(metrics)
            raise
        with self._lock:
            if sweep or self._swept_ms is None:
                self._swept_ms = now_ms
        return recorded

    def _due(
        self, now_ms: int
    ) -> tuple[list[WindowJob], dict[Size, int], dict[RegulatoryWindow, set[str]], bool]:
        """The jobs, where the next run starts, the late marks the jobs take, whether it sweeps."""
        closed_before = now_ms - self._settle_ms
        horizon = RegulatoryWindow.of("hour", now_ms - self._lookback_ms).start_ms
        sweep = (
            self._resweep_ms is not None
            and self._swept_ms is not None
            and now_ms - self._swept_ms >= self._resweep_ms
        )
        starts = (
            {size: RegulatoryWindow.of(size, horizon).start_ms for size in _SIZES}
            if self._next is None or sweep
            else self._next
        )
        jobs: dict[RegulatoryWindow, WindowJob] = {}
        following: dict[Size, int] = {}
        for size in _SIZES:
            window = RegulatoryWindow.of(size, starts[size])
            while window.end_ms <= closed_before:
                jobs[window] = WindowJob(window)
                window = window.following()
            following[size] = max(window.start_ms, (self._next or {}).get(size, 0))
        taken: dict[RegulatoryWindow, set[str]] = {}
        for window, metrics in self._late.items():
            if window.end_ms > closed_before:
                continue  # still open or settling: its first evaluation will see the data
            taken[window] = set(metrics)
            if window not in jobs:
                jobs[window] = WindowJob(window, frozenset(metrics))
        return [jobs[w] for w in sorted(jobs)], following, taken, sweep
