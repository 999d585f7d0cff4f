"""Threshold: a metric beyond a level for ``for`` seconds fires; it clears past ``clear_*``.

Per device (subject ``site:{site}/device:{device}``), on the rule's metric, from the readings
its ``source`` selects (``raw`` samples, ``aggregate`` interval values, or ``any``), skipping those
flagged maintenance or calibration:

- a reading beyond the firing level (strictly above ``above``, strictly below ``below``)
  opens an episode at its ``ts``, pending;
- a pending episode fires once an offending reading ends ``for`` seconds or more after the
  episode began (at once when ``for`` is 0); any reading not beyond the level before that drops
  it without a result — the condition did not hold;
- a fired episode resolves at the first reading past the clear level (strictly below
  ``clear_below``, strictly above ``clear_above``; without one, any reading not beyond the
  firing level). Readings between the two levels keep it firing: that is the hysteresis.

The result's value is the episode's worst value (highest for ``above``, lowest for ``below``),
its limit the firing level.
"""

from rules.model import ThresholdRule
from rules.stream.episodes import Episode, Json, Subject, end_ms, entry, judged
from rules.stream.evaluator import Evaluator, hold_ms
from rules.subjects import device_subject
from store.sql import Placement, RuleResult
from telemetry import Reading


class ThresholdEvaluator(Evaluator[ThresholdRule]):
    """A threshold rule in force."""

    state_keys = ("held_until",)

    def on_reading(self, placement: Placement, reading: Reading) -> list[RuleResult]:
        """Open, fire, keep or resolve the device's episode on this reading."""
        rule = self.rule
        if reading.metric != rule.metric or not judged(reading) or not self._selected(reading):
            return []
        subject = device_subject(placement.site, reading.device)
        if self._offends(reading.value):
            return self._offending(Subject(subject, placement, reading.device), reading)
        episode = self.episodes.get(subject)
        if episode is None:
            return []
        if not episode.fired:
            del self.episodes[subject]  # it did not hold for long enough: no episode at all
            return []
        if self._clears(reading.value):
            del self.episodes[subject]
            return [self.emit(episode, "resolved", end_ms=reading.ts, cleared_by=entry(reading))]
        self._add(episode, reading)  # between the levels: still firing
        return []

    def _offending(self, subject: Subject, reading: Reading) -> list[RuleResult]:
        episode = self.episodes.get(subject.id)
        if episode is None:
            episode = Episode(subject, reading.ts)
            self.episodes[subject.id] = episode
        self._add(episode, reading)
        held_until = max(end_ms(reading), _int(episode.extra.get("held_until")))
        episode.extra["held_until"] = held_until
        if not episode.fired and held_until - episode.start_ms >= hold_ms(self.rule.hold_s):
            episode.fired = True
            return [self.emit(episode, "firing")]
        return []

    def conditions(self) -> dict[str, Json]:
        """Metric, levels, hold and source."""
        rule = self.rule
        found: dict[str, Json] = {"metric": rule.metric, "for_s": rule.hold_s}
        for name in ("above", "below", "clear_below", "clear_above"):
            level = getattr(rule, name)
            if level is not None:
                found[name] = level
        found["source"] = rule.source
        return found

    def limit_for(self, episode: Episode) -> float | None:
        """The firing level."""
        del episode
        return self.rule.above if self.rule.above is not None else self.rule.below

    def _selected(self, reading: Reading) -> bool:
        source = self.rule.source
        if source == "raw":
            return reading.interval_s is None
        if source == "aggregate":
            return reading.interval_s is not None
        return True

    def _offends(self, value: float) -> bool:
        rule = self.rule
        if rule.above is not None:
            return value > rule.above
        return rule.below is not None and value < rule.below

    def _clears(self, value: float) -> bool:
        rule = self.rule
        if rule.above is not None:
            return value < rule.clear_below if rule.clear_below is not None else True
        return value > rule.clear_above if rule.clear_above is not None else True

    def _add(self, episode: Episode, reading: Reading) -> None:
        episode.trail.add(entry(reading))
        worst = max if self.rule.above is not None else min
        value = reading.value
        episode.value = value if episode.value is None else worst(episode.value, value)


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
