"""What gauges and counters share: clock-aligned intervals, and which samples make an aggregate.

Intervals are aligned to the UTC epoch in milliseconds, so a 60 s interval is a clock minute
``[hh:mm:00.000, hh:mm+1:00.000)`` and every gateway cuts time at the same instants; an
aggregate carries the interval's START as its ``ts`` (HJ 212-2017 labels minute and hourly data
with the start of their period).

Quality (HJ 212-2017 data flags): an aggregate is ``N`` only when every sample in it was ``N``;
otherwise it carries the most frequent other flag of its samples, ties broken by the order of
the HJ 212-2017 flag table (F, M, S, D, C, T, B), so the result does not depend on arrival order.
The flag says what happened in the interval.

The numbers (value, min, max, count) come from the ``N`` samples alone whenever there are any:
a mean must not mix in samples taken during maintenance, calibration or a fault, and
GB 3095-2012 (section 7, data validity) counts only valid data towards an average. ``valid``
then says whether enough ``N`` samples arrived: at least ``min_coverage`` of those the device's
nominal sampling period promises. An interval without a single ``N`` sample is described by
the samples of its own flag (a calibration interval shows the calibration values, flagged C),
and is never valid. Note that ``T`` (above the measuring limit) samples are also left out of an
``N`` mean, which would understate the interval: the aggregate is then flagged ``T`` and the
platform must not read it as a normal value.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from telemetry import Quality, Reading

FLAG_ORDER = tuple(Quality)  # the HJ 212-2017 flag table: N, F, M, S, D, C, T, B
_COVERAGE_EPSILON = 1e-9  # 0.75 * 60 must accept 45 samples despite binary fractions


class Sample(NamedTuple):
    """What an open interval keeps of one sample.

    A gateway with a hundred meters holds over a hundred thousand samples per minute: as
    validated :class:`telemetry.Reading` models they took about 1 kB each, as tuples a tenth.
    """

    ts: int
    value: float
    quality: Quality

    @classmethod
    def of(cls, reading: Reading) -> "Sample":
        """The parts of ``reading`` an aggregate needs."""
        return cls(reading.ts, reading.value, reading.quality)


def interval_start(ts_ms: int, interval_ms: int) -> int:
    """The start of the clock-aligned interval that ``ts_ms`` falls in."""
    return ts_ms - ts_ms % interval_ms


@dataclass(frozen=True, slots=True)
class Selection:
    """The samples an aggregate's numbers come from, and the flag it carries.

    Attributes:
        samples: the ``N`` samples if there are any, else those carrying ``quality``; by ts.
        quality: the aggregate's flag.
        normal: how many samples were ``N`` (the count that decides validity).
        left_out: samples of the interval that are not in ``samples``.
    """

    samples: tuple[Sample, ...]
    quality: Quality
    normal: int
    left_out: int


def select(samples: Sequence[Sample]) -> Selection:
    """Choose the samples and the flag of one interval's aggregate; ``samples`` is not empty."""
    ordered = sorted(samples, key=lambda r: r.ts)  # stable: arrival order among equal times
    normal = tuple(r for r in ordered if r.quality is Quality.NORMAL)
    flags = Counter(r.quality for r in ordered if r.quality is not Quality.NORMAL)
    if not flags:
        return Selection(normal, Quality.NORMAL, len(normal), 0)
    quality = max(flags, key=lambda q: (flags[q], -FLAG_ORDER.index(q)))
    chosen = normal or tuple(r for r in ordered if r.quality is quality)
    return Selection(chosen, quality, len(normal), len(ordered) - len(chosen))


def enough(normal: int, *, interval_s: float, period_s: float, min_coverage: float) -> bool:
    """Whether ``normal`` samples cover ``min_coverage`` of what the sampling period promises.

    A device sampled less often than once per interval needs one sample.
    """
    expected = interval_s / period_s
    return normal > 0 and normal >= min_coverage * expected - _COVERAGE_EPSILON
