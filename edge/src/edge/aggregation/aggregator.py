"""The aggregation stage: device samples in, interval aggregates (and raw samples) out.

Samples are bucketed by their own ``ts``, not by arrival time, per (device, metric); one
interval is open per (device, metric) at a time. An interval is closed and its aggregate
emitted when:

- a sample of a later interval arrives for the same (device, metric);
- the clock passes the interval's end plus ``grace_s`` (:meth:`Aggregator.tick`): a device
  that stops sending still gets its last interval out, and a slow poll's last sample still
  lands in its own interval;
- the agent stops (:meth:`Aggregator.flush`): a partial interval is emitted with ``valid``
  computed from its coverage, never dropped.

A sample for an interval that is already closed (or older than the open one: the clock went
back) is LATE: it is counted and dropped from aggregation, since rewriting a published
aggregate would need a second point with the same time. A device configured ``raw`` has it
published anyway, as it has every sample: raw samples pass through unchanged before they are
aggregated. Readings of metrics the catalog marks DELTA, of ids the catalog does not know, and
of devices the stage was not told about pass through unchanged and are counted.
An aggregate containing a sample flagged ``time_unsynced`` is flagged too.

Pure: no I/O, no threads, no clock of its own; the agent's thread owns it and passes the time.
Events are counted in :class:`AggregationCounters` and logged.
"""

import dataclasses
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from edge.aggregation.counters import CounterEvent, CounterTrack
from edge.aggregation.gauges import gauge_aggregate
from edge.aggregation.intervals import Sample, Selection, enough, interval_start, select
from edge.config.base import Sampling
from telemetry import Reading
from telemetry.catalog import CATALOG, MetricKind

_log = logging.getLogger(__name__)

_Key = tuple[str, str]  # (device, metric)


@dataclass(slots=True)
class AggregationCounters:
    """What the aggregation stage did since the agent started.

    Attributes:
        samples: samples taken into an interval.
        passed_through: readings forwarded unchanged (DELTA metrics, unknown metric ids,
            devices the stage was not told about).
        raw_published: samples of ``raw`` devices forwarded as well as aggregated.
        aggregates: aggregate readings emitted, consumptions included.
        invalid: of those, how many had ``valid`` false.
        flagged_samples: samples left out of an aggregate's numbers for their quality flag.
        late_samples: samples for an interval already closed (published only if ``raw``).
        resets, rollovers, replacements, implausible_jumps, gaps: counter events.
    """

    samples: int = 0
    passed_through: int = 0
    raw_published: int = 0
    aggregates: int = 0
    invalid: int = 0
    flagged_samples: int = 0
    late_samples: int = 0
    resets: int = 0
    rollovers: int = 0
    replacements: int = 0
    implausible_jumps: int = 0
    gaps: int = 0

    def count(self, event: CounterEvent) -> None:
        """Count one counter event."""
        match event:
            case CounterEvent.RESET:
                self.resets += 1
            case CounterEvent.ROLLOVER:
                self.rollovers += 1
            case CounterEvent.REPLACEMENT:
                self.replacements += 1
            case CounterEvent.IMPLAUSIBLE_JUMP:
                self.implausible_jumps += 1
            case CounterEvent.GAP:
                self.gaps += 1


@dataclass(slots=True)
class _Open:
    start_ms: int
    samples: list[Sample] = field(default_factory=list)
    time_unsynced: bool = False  # a sample was stamped by an unsynchronised clock


class Aggregator:
    """Turns the samples of configured devices into clock-aligned interval aggregates."""

    def __init__(
        self,
        interval_s: float,
        *,
        sampling: Mapping[str, Sampling],
        raw_devices: Collection[str] = (),
        min_coverage: float = 0.75,
        grace_s: float = 5.0,
    ) -> None:
        self.interval_s = interval_s
        self.interval_ms = round(interval_s * 1000)
        if self.interval_ms <= 0 or not 0 < min_coverage <= 1 or grace_s < 0:
            raise ValueError("interval must be positive, min_coverage in (0, 1], grace >= 0")
        self.min_coverage = min_coverage
        self._grace_ms = round(grace_s * 1000)
        self._sampling = dict(sampling)
        self._raw = frozenset(raw_devices)
        self._open: dict[_Key, _Open] = {}
        self._closed: dict[_Key, int] = {}  # start of the last interval closed per key
        self._tracks: dict[_Key, CounterTrack] = {}
        self._replacements: dict[str, list[int]] = {}
        self._counters = AggregationCounters()

    def counters(self) -> AggregationCounters:
        """A copy of the counters."""
        return dataclasses.replace(self._counters)

    def add(self, readings: Iterable[Reading]) -> list[Reading]:
        """Take samples in; return what is to be published now: raw samples, closed intervals."""
        out: list[Reading] = []
        for reading in readings:
            known = CATALOG.get(reading.metric)
            if (
                known is None
                or known.kind is MetricKind.DELTA
                or reading.device not in self._sampling
            ):
                self._counters.passed_through += 1
                out.append(reading)
                continue
            if reading.device in self._raw:
                self._counters.raw_published += 1
                out.append(reading)
            out += self._take(reading)
        return out

    def tick(self, now_ms: int) -> list[Reading]:
        """Close every interval whose end plus the grace period ``now_ms`` has passed."""
        due = [
            key
            for key, bucket in self._open.items()
            if now_ms >= bucket.start_ms + self.interval_ms + self._grace_ms
        ]
        return self._close_all(due, now_ms)

    def flush(self, now_ms: int) -> list[Reading]:
        """Close every open interval, complete or not (at shutdown)."""
        return self._close_all(list(self._open), now_ms)

    def next_due_ms(self) -> int | None:
        """When :meth:`tick` will next have something to close, if anything is open."""
        starts = [b.start_ms for b in self._open.values()]
        return min(starts) + self.interval_ms + self._grace_ms if starts else None

    def mark_replacement(self, device: str, at_ms: int) -> None:
        """Say that ``device``'s meter was replaced at ``at_ms``: its counters restart there.

        The step of each counter across ``at_ms`` counts as a replacement, whatever its size.
        Only steps not yet accounted for are affected.
        """
        self._replacements.setdefault(device, []).append(at_ms)

    def _take(self, reading: Reading) -> list[Reading]:
        key = (reading.device, reading.metric)
        start = interval_start(reading.ts, self.interval_ms)
        bucket = self._open.get(key)
        closed = self._closed.get(key)
        if (bucket is not None and start < bucket.start_ms) or (
            closed is not None and start <= closed
        ):
            self._counters.late_samples += 1
            _log.debug("late sample dropped from aggregation: %s", reading)
            return []
        out: list[Reading] = []
        if bucket is not None and start > bucket.start_ms:
            out = self._close(key, complete=True)
            bucket = None
        if bucket is None:
            bucket = self._open[key] = _Open(start)
        bucket.samples.append(Sample.of(reading))
        bucket.time_unsynced |= bool(reading.time_unsynced)
        self._counters.samples += 1
        return out

    def _close_all(self, keys: Sequence[_Key], now_ms: int) -> list[Reading]:
        out: list[Reading] = []
        for key in sorted(keys, key=lambda k: (self._open[k].start_ms, k)):
            end = self._open[key].start_ms + self.interval_ms
            out += self._close(key, complete=now_ms >= end)
        return out

    def _close(self, key: _Key, *, complete: bool) -> list[Reading]:
        bucket = self._open.pop(key)
        self._closed[key] = bucket.start_ms
        device, metric = key
        sampling = self._sampling[device]
        selection = select(bucket.samples)
        self._counters.flagged_samples += selection.left_out
        if CATALOG[metric].kind is MetricKind.COUNTER:
            out = self._counter_readings(key, bucket, selection, sampling, complete=complete)
        else:
            out = [
                gauge_aggregate(
                    device,
                    metric,
                    start_ms=bucket.start_ms,
                    selection=selection,
                    interval_s=self.interval_s,
                    period_s=sampling.period_s,
                    min_coverage=self.min_coverage,
                )
            ]
        if bucket.time_unsynced:  # the flag is never lost on the way to an aggregate
            out = [r.model_copy(update={"time_unsynced": True}) for r in out]
        self._counters.aggregates += len(out)
        self._counters.invalid += sum(1 for r in out if r.valid is False)
        return out

    def _counter_readings(
        self,
        key: _Key,
        bucket: _Open,
        selection: Selection,
        sampling: Sampling,
        *,
        complete: bool,
    ) -> list[Reading]:
        device, metric = key
        last = selection.samples[-1]
        counter = Reading(
            device=device,
            metric=metric,
            value=last.value,
            ts=bucket.start_ms,
            quality=selection.quality,
            min=min(r.value for r in selection.samples),
            max=max(r.value for r in selection.samples),
            count=len(selection.samples),
            interval_s=self.interval_s,
            valid=enough(
                selection.normal,
                interval_s=self.interval_s,
                period_s=sampling.period_s,
                min_coverage=self.min_coverage,
            ),
        )
        if not selection.normal:
            return [counter]  # no trustworthy value: the consumption waits for the next one
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = CounterTrack(
                metric, interval_ms=self.interval_ms, sampling=sampling
            )
        used = track.close(
            bucket.start_ms,
            selection.samples,
            complete=complete,
            replacements=self._replacements.get(device, ()),
        )
        for event in used.events:
            self._counters.count(event)
            level = logging.INFO if event is CounterEvent.ROLLOVER else logging.WARNING
            _log.log(level, "%s %s: %s, interval start %d", device, metric, event, bucket.start_ms)
        if track.delta is None:
            return [counter]
        consumption = Reading(
            device=device,
            metric=track.delta,
            value=used.value,
            ts=bucket.start_ms,
            quality=selection.quality,
            count=used.intervals,
            interval_s=self.interval_s,
            valid=used.valid,
        )
        return [counter, consumption]
