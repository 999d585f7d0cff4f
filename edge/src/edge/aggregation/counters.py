"""Cumulative counters (energy registers): the last value per interval, and the consumption.

Per interval a counter yields two readings, both stamped with the interval start:

- the counter itself: ``value`` = the last chosen sample, with ``min``, ``max``, ``count`` and
  the coverage rule of gauges for ``valid``;
- its consumption as the catalog's ``<counter>_delta`` metric (``energy_import_delta`` ...),
  where the catalog has one; per-phase counters (``energy_import_l1`` ...) have none and yield
  only the counter. ``count`` on a consumption is the number of intervals it spans (1, or more
  after a gap); it carries the counter aggregate's flag.

Consumption = last value of this interval - last value of the previous interval that had one
(the *baseline*), computed from ``N`` samples only. The walk from the baseline through every
sample of the interval classifies each step:

- a rise: consumption, unless it is faster than the meter can register (``max_power_kw`` of
  its :class:`~edge.config.base.Sampling` over the step's time, at least one interval's worth,
  since registers move in whole digits), or larger than the catalog's range of the consumption
  metric: an IMPLAUSIBLE JUMP is not trusted (it adds nothing, the counting restarts from the
  new value, the consumption is not valid). The counter aggregate still carries the values, so
  nothing is unrecoverable.
- a fall with the previous value near the register's ``counter_modulus`` (the wrapped rise
  ``modulus - previous + new`` is plausible: within the power limit, or without one within 1 %
  of the modulus): a ROLLOVER, consumption ``modulus - previous + new``, still valid.
- a fall to near zero (below 1 kWh, or below 1 % of the previous value): a RESET; what was
  consumed between the last reading and the reset is unknown, the new value is what was
  consumed since, and the consumption is not valid.
- any other fall, or a step across an operator-announced replacement: a METER REPLACEMENT; the
  old meter's unread tail is unknown, counting restarts from the new meter's first reading, not
  valid.

Without a baseline (the first interval after start) the consumption runs from the interval's
first sample, and is valid only when that sample lies within 1 % of the interval from its start,
1 % being the error a class 1 meter is allowed anyway (IEC 62053-21 / GB/T 17215.321); the same
holds at the end of an interval flushed at shutdown. When whole intervals pass without a
reading (a GAP), the consumption since the baseline goes to the interval where the counter is
read again, not valid, its ``count`` saying how many intervals it spans. Thresholds are in the
counter's unit: kWh for every counter in the catalog.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from edge.aggregation.intervals import Sample
from edge.config.base import Sampling
from telemetry.catalog import CATALOG, MetricKind

RESET_BELOW = 1.0  # kWh: a counter that falls below this was reset
RESET_BELOW_FRACTION = 0.01  # ... or below this share of its previous value
ROLLOVER_WINDOW = 0.01  # without a power limit, a wrapped rise must stay within 1 % of modulus
EDGE_TOLERANCE = 0.01  # share of an interval a baseline-less or cut-short consumption may miss


class CounterEvent(StrEnum):
    """Something that happened to a counter between two of its samples."""

    RESET = "reset"
    ROLLOVER = "rollover"
    REPLACEMENT = "replacement"
    IMPLAUSIBLE_JUMP = "implausible_jump"
    GAP = "gap"  # whole intervals without a reading before this one


def delta_metric(counter: str) -> str | None:
    """The catalog's consumption metric of ``counter``, if it has one."""
    delta = f"{counter}_delta"
    found = CATALOG.get(delta)
    return delta if found is not None and found.kind is MetricKind.DELTA else None


@dataclass(frozen=True, slots=True)
class Consumption:
    """The consumption attributed to one interval."""

    value: float
    valid: bool
    intervals: int  # how many intervals it covers, ending with this one
    events: tuple[CounterEvent, ...]


@dataclass(frozen=True, slots=True)
class _Step:
    event: CounterEvent
    consumed: float


class CounterTrack:
    """The consumption of one counter of one device, interval after interval."""

    def __init__(self, metric: str, *, interval_ms: int, sampling: Sampling) -> None:
        self.metric = metric
        self.delta = delta_metric(metric)
        self._interval_ms = interval_ms
        self._sampling = sampling
        ceiling = CATALOG[self.delta].high if self.delta else math.inf
        self._ceiling = ceiling
        self._baseline: Sample | None = None
        self._baseline_start = 0

    def close(
        self,
        start_ms: int,
        samples: Sequence[Sample],
        *,
        complete: bool,
        replacements: Sequence[int] = (),
    ) -> Consumption:
        """Account for one interval's ``N`` samples (by ts, not empty) and move the baseline.

        ``complete``: whether the interval has ended (false for one cut short at shutdown).
        ``replacements``: times (epoch ms) an operator says the meter was replaced.
        """
        events: list[CounterEvent] = []
        valid = True
        intervals = 1
        if self._baseline is None:
            prev, rest = samples[0], samples[1:]
            valid = prev.ts - start_ms <= EDGE_TOLERANCE * self._interval_ms
        else:
            prev, rest = self._baseline, samples
            intervals = (start_ms - self._baseline_start) // self._interval_ms
            if intervals > 1:
                events.append(CounterEvent.GAP)
                valid = False
        parts: list[float] = []
        segment_start = prev.value
        for cur in rest:
            step = self._classify(prev, cur, replacements)
            if step is not None:
                parts += (prev.value - segment_start, step.consumed)
                segment_start = cur.value
                events.append(step.event)
                valid = valid and step.event is CounterEvent.ROLLOVER
            prev = cur
        parts.append(prev.value - segment_start)
        if not complete and start_ms + self._interval_ms - prev.ts > (
            EDGE_TOLERANCE * self._interval_ms
        ):
            valid = False
        self._baseline, self._baseline_start = prev, start_ms
        return Consumption(max(math.fsum(parts), 0.0), valid, intervals, tuple(events))

    def _classify(self, prev: Sample, cur: Sample, replacements: Sequence[int]) -> _Step | None:
        """None for an ordinary rise; otherwise what happened and what it consumed."""
        if any(prev.ts < at <= cur.ts for at in replacements):
            return _Step(CounterEvent.REPLACEMENT, 0.0)
        limit = self._limit(cur.ts - prev.ts)
        rise = cur.value - prev.value
        if rise >= 0:
            return None if rise <= limit else _Step(CounterEvent.IMPLAUSIBLE_JUMP, 0.0)
        modulus = self._sampling.counter_modulus
        if modulus is not None:
            wrapped = modulus - prev.value + cur.value
            window = limit if self._sampling.max_power_kw is not None else ROLLOVER_WINDOW * modulus
            if 0 <= wrapped <= min(window, self._ceiling):
                return _Step(CounterEvent.ROLLOVER, wrapped)
        if cur.value < RESET_BELOW or cur.value < RESET_BELOW_FRACTION * prev.value:
            return _Step(CounterEvent.RESET, max(cur.value, 0.0))
        return _Step(CounterEvent.REPLACEMENT, 0.0)

    def _limit(self, elapsed_ms: int) -> float:
        """The largest plausible rise over ``elapsed_ms`` (at least one interval's worth)."""
        power = self._sampling.max_power_kw
        if power is None:
            return self._ceiling
        hours = max(elapsed_ms, self._interval_ms) / 3_600_000
        return min(power * hours, self._ceiling)
