"""Sensor health from the values themselves: stuck, impossible, or contradicting each other.

Readings flagged maintenance or calibration are skipped by all three.

- **Flatline** (subject ``site:{site}/device:{device}``): a run of readings of the rule's metric
  whose values all lie within ``tolerance`` of each other (highest minus lowest). The run begins
  at its first reading; it fires once it has two readings or more and its last one ends ``for``
  seconds or more after that; a value outside the band resolves a fired run at its ``ts`` and
  begins the next run. Value: the run's first value; limit: the tolerance.
- **Out of range** (subject ``.../metric:{metric}``): a reading whose value, min or max lies
  outside its metric's physically valid range (the telemetry catalog's) fires at once, at its
  ``ts``; the next reading of that metric and device in range resolves it. Value: the first
  offending figure; limit: the bound it broke.
- **PM order** (subject ``site:{site}/device:{device}``): a ``pm25`` and a ``pm10`` reading of
  one device with the same ``ts`` and interval form a pair; ``pm25 > pm10 + tolerance`` fires
  at once, at the pair's ``ts``; the next pair in order resolves it. A pair older than the
  device's last judged pair is ignored. Value: the largest excess ``pm25 - pm10``; limit: the
  tolerance.
"""

from rules.model import FlatlineRule, OutOfRangeRule, PmOrderRule
from rules.stream.episodes import Episode, Json, Subject, end_ms, entry, judged, seen_in
from rules.stream.evaluator import Evaluator, hold_ms
from rules.subjects import device_subject, metric_subject
from store.sql import Placement, RuleResult
from telemetry import CATALOG, Reading

_PAIRS_KEPT = 8  # unmatched readings waiting for their other half, per device
_PM = ("pm25", "pm10")


class FlatlineEvaluator(Evaluator[FlatlineRule]):
    """A flatline rule in force: every device's current run of near-identical values."""

    state_keys = ("band",)

    def on_reading(self, placement: Placement, reading: Reading) -> list[RuleResult]:
        """Extend the device's run, or end it (resolving it if it fired) and begin another."""
        if reading.metric != self.rule.metric or not judged(reading):
            return []
        subject = device_subject(placement.site, reading.device)
        run = self.episodes.get(subject)
        value = reading.value
        if run is not None:
            low, high = _band(run)
            low, high = min(low, value), max(high, value)
            if high - low <= self.rule.tolerance:
                run.trail.add(entry(reading))
                run.extra["band"] = [low, high]
                stuck_ms = end_ms(reading) - run.start_ms
                if not run.fired and run.trail.count >= 2 and stuck_ms >= hold_ms(self.rule.hold_s):
                    run.fired = True
                    return [self.emit(run, "firing")]
                return []
        ended = []
        if run is not None and run.fired:
            ended.append(self.emit(run, "resolved", end_ms=reading.ts, broken_by=entry(reading)))
        run = Episode(Subject(subject, placement, reading.device), reading.ts, value=value)
        run.trail.add(entry(reading))
        run.extra["band"] = [value, value]
        self.episodes[subject] = run
        return ended

    def conditions(self) -> dict[str, Json]:
        """Metric, hold and tolerance."""
        rule = self.rule
        return {"metric": rule.metric, "for_s": rule.hold_s, "tolerance": rule.tolerance}

    def limit_for(self, episode: Episode) -> float | None:
        """The tolerance."""
        del episode
        return self.rule.tolerance


def _band(run: Episode) -> tuple[float, float]:
    band = run.extra.get("band")
    if isinstance(band, list) and len(band) == 2 and all(isinstance(x, int | float) for x in band):
        return float(band[0]), float(band[1])
    value = run.value if run.value is not None else 0.0
    return value, value


class OutOfRangeEvaluator(Evaluator[OutOfRangeRule]):
    """An out-of-range rule in force: one episode per device and metric while it is out."""

    state_keys = ("metric", "low", "high", "bound")

    def on_reading(self, placement: Placement, reading: Reading) -> list[RuleResult]:
        """Fire on a value outside the catalog's range; resolve on the next one inside."""
        metrics = self.rule.metrics
        known = CATALOG.get(reading.metric)
        if known is None or (metrics is not None and reading.metric not in metrics):
            return []
        if not judged(reading):
            return []
        subject = metric_subject(placement.site, reading.device, reading.metric)
        episode = self.episodes.get(subject)
        outside = [
            figure
            for figure in (reading.value, reading.min, reading.max)
            if figure is not None and not known.in_range(figure)
        ]
        if not outside:
            if episode is None:
                return []
            del self.episodes[subject]
            return [self.emit(episode, "resolved", end_ms=reading.ts, cleared_by=entry(reading))]
        if episode is not None:
            episode.trail.add(entry(reading))
            return []
        first = outside[0]
        episode = Episode(
            Subject(subject, placement, reading.device), reading.ts, fired=True, value=first
        )
        episode.trail.add(entry(reading))
        episode.extra.update(
            metric=reading.metric,
            low=known.low,
            high=known.high,
            bound=known.high if first > known.high else known.low,
        )
        self.episodes[subject] = episode
        return [self.emit(episode, "firing")]

    def conditions(self) -> dict[str, Json]:
        """The metrics watched (None: every metric)."""
        metrics = self.rule.metrics
        return {"metrics": None if metrics is None else list(metrics)}

    def limit_for(self, episode: Episode) -> float | None:
        """The bound of the valid range the first offending figure broke."""
        bound = episode.extra.get("bound")
        return float(bound) if isinstance(bound, int | float) else None


class PmOrderEvaluator(Evaluator[PmOrderRule]):
    """A PM-order rule in force: pairs up each device's pm25 and pm10 readings by time."""

    def __init__(self, rule: PmOrderRule, version: str) -> None:
        super().__init__(rule, version)
        # per device subject: (ts, interval_s) -> the half of a pair seen so far
        self._halves: dict[str, dict[tuple[int, float | None], Reading]] = {}
        self._last_pair: dict[str, int] = {}  # per device subject: end time of its last pair

    def on_reading(self, placement: Placement, reading: Reading) -> list[RuleResult]:
        """Wait for the other half of the pair; judge the pair once it is complete."""
        if reading.metric not in _PM or not judged(reading):
            return []
        subject = device_subject(placement.site, reading.device)
        halves = self._halves.setdefault(subject, {})
        key = (reading.ts, reading.interval_s)
        other = halves.get(key)
        if other is None or other.metric == reading.metric:
            halves[key] = reading
            while len(halves) > _PAIRS_KEPT:
                del halves[next(iter(halves))]
            return []
        del halves[key]
        end = end_ms(reading)
        if end <= self._last_pair.get(subject, -1):
            return []  # an older pair completed late: the device has moved on
        self._last_pair[subject] = end
        pm25, pm10 = (reading, other) if reading.metric == "pm25" else (other, reading)
        return self._judge(Subject(subject, placement, reading.device), pm25, pm10)

    def _judge(self, subject: Subject, pm25: Reading, pm10: Reading) -> list[RuleResult]:
        pair: dict[str, Json] = {"ts": pm25.ts, "pm25": pm25.value, "pm10": pm10.value}
        if pm25.interval_s is not None:
            pair["interval_s"] = pm25.interval_s
        excess = pm25.value - pm10.value
        episode = self.episodes.get(subject.id)
        if excess <= self.rule.tolerance:
            if episode is None:
                return []
            del self.episodes[subject.id]
            return [self.emit(episode, "resolved", end_ms=pm25.ts, cleared_by=pair)]
        if episode is not None:
            episode.trail.add(pair)
            episode.value = excess if episode.value is None else max(episode.value, excess)
            return []
        episode = Episode(subject, pm25.ts, fired=True, value=excess)
        episode.trail.add(pair)
        self.episodes[subject.id] = episode
        return [self.emit(episode, "firing")]

    def restore(self, result: RuleResult) -> Episode | None:
        """Take back the episode, and the time of its last pair."""
        episode = super().restore(result)
        if episode is not None and episode.subject.device is not None:
            site, device = episode.subject.placement.site, episode.subject.device
            ends = [end for _, end in seen_in(result.evidence, site, device)]
            self._last_pair[episode.subject.id] = max(ends, default=-1)
        return episode

    def conditions(self) -> dict[str, Json]:
        """The tolerance."""
        return {"tolerance": self.rule.tolerance}

    def limit_for(self, episode: Episode) -> float | None:
        """The tolerance."""
        del episode
        return self.rule.tolerance
