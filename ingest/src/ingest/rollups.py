"""Late data for the rollups: minute and hour summaries of readings the CQs no longer see.

InfluxDB's continuous queries (:mod:`store.rollups`) recompute only the last few minutes (minute
rollups) and hours (hour rollup). A gateway replaying its spool after an outage writes readings
hours or days old; their minutes and hours would keep the summaries made before they arrived.

So the writer tells :meth:`LateRollups.note` what it has written (per flush and measurement, the
oldest and newest reading time). Ranges the CQs will still recompute are ignored at once; the
rest are kept in memory, and :meth:`LateRollups.run` (a thread of its own) periodically merges
them into whole minutes, reruns the minute rollups over them, then the hour rollup over the
hours that contain them. An InfluxDB error leaves the ranges pending for the next round, after
a growing pause; nothing here raises into the writer.

Pending ranges live in memory: ranges noted but not yet backfilled when ingest stops are tried
once more on :meth:`LateRollups.stop`, and lost if InfluxDB fails then too.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from ingest.counters import IngestCounters
from store.errors import InfluxError
from store.influx import InfluxStore
from store.rollups import (
    HOUR_POLICY,
    LATE_AFTER_MS,
    MINUTE_POLICY,
    Rollup,
    backfill,
    rollups_into,
)

log = logging.getLogger(__name__)

_MINUTE_MS = 60_000
_HOUR_MS = 3_600_000
# Ranges closer than this are backfilled as one: an empty stretch costs InfluxDB little, a
# statement more costs a round trip.
_MERGE_GAP_MS = 10 * _MINUTE_MS
_COMPACT_AT = 256  # noted ranges of one measurement before they are merged on the spot
_MAX_PAUSE_S = 300.0


def wall_clock_ms() -> int:
    """UTC epoch milliseconds now."""
    return time.time_ns() // 1_000_000


class Window(NamedTuple):
    """A range of one measurement waiting for a rollup: ``[start_ms, end_ms)``."""

    policy: str  # the rollup's target: ``minute`` or ``hour``
    measurement: str
    start_ms: int
    end_ms: int


class LateRollups:
    """Backfills the minute and hour rollups over late readings. Safe to call from any thread.

    Args:
        influx: where the readings and their rollups are.
        counters: counts backfills done and failed.
        period_s: how often pending ranges are backfilled.
        horizon_ms: how old a reading can be and still be stored (the raw policy's duration);
            None when it is kept forever. Older parts of a noted range are not backfilled.
        clock_ms: the wall clock, UTC epoch ms.
    """

    def __init__(
        self,
        influx: InfluxStore,
        *,
        counters: IngestCounters,
        period_s: float = 10.0,
        horizon_ms: int | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        if period_s <= 0:
            raise ValueError(f"period_s must be positive, got {period_s}")
        self._influx = influx
        self._counters = counters
        self._period_s = period_s
        self._horizon_ms = horizon_ms
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        # per target policy, per measurement: ranges [start, end) aligned to whole minutes
        self._pending: dict[str, dict[str, list[tuple[int, int]]]] = {
            MINUTE_POLICY: {},
            HOUR_POLICY: {},
        }
        self._stopping = threading.Event()

    def note(self, measurement: str, oldest_ts_ms: int, newest_ts_ms: int) -> None:
        """Record that InfluxDB stored readings of ``measurement`` in a range of times.

        Cheap: the writer calls it after each write. ``oldest_ts_ms`` and ``newest_ts_ms`` are
        the readings' first and last times, both included. A range the CQs still recompute is
        ignored; one reaching past now is cut at now, since the CQs see the rest in its time.
        """
        now = self._clock_ms()
        if oldest_ts_ms >= now - LATE_AFTER_MS:
            return
        start = oldest_ts_ms
        if self._horizon_ms is not None:
            start = max(start, now - self._horizon_ms)
        end = min(newest_ts_ms, now) + 1
        if end <= start:
            return
        window = (_floor(start, _MINUTE_MS), _ceil(end, _MINUTE_MS))
        with self._lock:
            ranges = self._pending[MINUTE_POLICY].setdefault(measurement, [])
            ranges.append(window)
            if len(ranges) >= _COMPACT_AT:
                ranges[:] = _merged(ranges)

    def pending(self) -> list[Window]:
        """What waits to be backfilled, merged, minute windows first."""
        with self._lock:
            return [
                Window(policy, measurement, start, end)
                for policy in (MINUTE_POLICY, HOUR_POLICY)
                for measurement, ranges in sorted(self._pending[policy].items())
                for start, end in _merged(ranges)
            ]

    def backfill_pending(self) -> bool:
        """Backfill every pending window now: minutes first, then their hours.

        Returns:
            Whether all of them were done; after an InfluxDB error the rest stays pending.
        """
        return self._backfill_policy(MINUTE_POLICY) and self._backfill_policy(HOUR_POLICY)

    def stop(self) -> None:
        """Ask :meth:`run` to backfill what is pending once more and return."""
        self._stopping.set()

    def run(self) -> None:
        """Backfill pending windows every ``period_s`` until stopped, pausing longer on errors."""
        pause = self._period_s
        while not self._stopping.wait(pause):
            done = self.backfill_pending()
            pause = self._period_s if done else min(pause * 2, _MAX_PAUSE_S)
        self.backfill_pending()

    def _backfill_policy(self, policy: str) -> bool:
        with self._lock:
            taken = self._pending[policy]
            self._pending[policy] = {}
        todo = [
            (measurement, window)
            for measurement, ranges in sorted(taken.items())
            for window in _merged(ranges)
        ]
        for index, (measurement, (start, end)) in enumerate(todo):
            try:
                for rollup in rollups_into(policy):
                    self._backfill(rollup, measurement, start, end)
            except InfluxError:
                log.warning(
                    "backfilling the %s rollup of %s from %d to %d failed; retrying later",
                    policy,
                    measurement,
                    start,
                    end,
                    exc_info=True,
                )
                self._counters.rollup_backfill_errors.inc()
                with self._lock:
                    for again, window in todo[index:]:
                        self._pending[policy].setdefault(again, []).append(window)
                return False
            self._counters.rollup_backfills.labels(policy).inc()
            if policy == MINUTE_POLICY:
                hours = (_floor(start, _HOUR_MS), _ceil(end, _HOUR_MS))
                with self._lock:
                    self._pending[HOUR_POLICY].setdefault(measurement, []).append(hours)
        return True

    def _backfill(self, rollup: Rollup, measurement: str, start: int, end: int) -> None:
        written = backfill(
            self._influx, rollup, start_ms=start, end_ms=end, measurement=measurement
        )
        log.info(
            "%s: backfilled %s of %s from %d to %d, %d points",
            rollup.name,
            rollup.target,
            measurement,
            start,
            end,
            written,
        )


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + _MERGE_GAP_MS:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _floor(ms: int, unit: int) -> int:
    return ms // unit * unit


def _ceil(ms: int, unit: int) -> int:
    return -(-ms // unit) * unit
