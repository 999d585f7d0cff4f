"""The stream rules engine: readings and gateway status in, rule results out, deterministically.

:class:`StreamEngine` does no I/O and reads no clock. Time comes from the readings' own
timestamps and from the ``now_ms`` its caller passes to :meth:`~StreamEngine.tick`, so feeding
it the same events gives the same results, in the same order — which is what makes a replay,
or a restart that sees some readings again, create no phantom alerts.

Every reading is first checked against its series (site, device, metric, and whether it is a
raw sample or an interval aggregate): a reading whose time is not after the last one of its
series is a replay or out of order and is ignored by every rule (:attr:`EngineCounts.stale`);
a reading taken while its gateway's clock was unsynchronised is ignored too
(:attr:`EngineCounts.unsynced`), because holds and episodes are measured in reading time.
The rest go to every rule whose scope holds the gateway's placement: which rules those are is
worked out once per placement and kept until the rules change, so a reading costs the rules
that apply to it, not every rule in force (a city's thousand site-scoped rules).

The engine keeps state per rule and subject. :meth:`~StreamEngine.replace_rules` keeps the state
of a rule whose definition did not change (only its version moves on) and ends the episodes of
rules that changed or went; :meth:`~StreamEngine.restore` takes back episodes recorded as firing
before a restart, so they resolve instead of firing again.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rules.files import RuleSet
from rules.model import (
    STREAM_KINDS,
    FlatlineRule,
    GatewayOfflineRule,
    NoDataRule,
    OutOfRangeRule,
    PmOrderRule,
    ThresholdRule,
)
from rules.stream.episodes import SeriesKey, end_ms, seen_in, stream_of
from rules.stream.evaluator import Evaluator, StreamRule
from rules.stream.sensors import FlatlineEvaluator, OutOfRangeEvaluator, PmOrderEvaluator
from rules.stream.silence import GatewayOfflineEvaluator, NoDataEvaluator
from rules.stream.threshold import ThresholdEvaluator
from store.sql import Placement, RuleResult
from telemetry import Reading

_EVALUATORS: dict[type[StreamRule], Callable[[Any, str], Evaluator[Any]]] = {
    ThresholdRule: ThresholdEvaluator,
    FlatlineRule: FlatlineEvaluator,
    OutOfRangeRule: OutOfRangeEvaluator,
    PmOrderRule: PmOrderEvaluator,
    NoDataRule: NoDataEvaluator,
    GatewayOfflineRule: GatewayOfflineEvaluator,
}
_STREAM_RULES = tuple(_EVALUATORS)


@dataclass(slots=True)
class EngineCounts:
    """What the engine has taken in since it was made."""

    readings: int = 0  # readings evaluated
    stale: int = 0  # readings ignored: not after the last one of their series
    unsynced: int = 0  # readings ignored: taken with the gateway's clock unsynchronised


class StreamEngine:
    """Threshold and health rules over the telemetry stream, one episode per result."""

    def __init__(self, rule_sets: Iterable[RuleSet] = ()) -> None:
        self._evaluators: dict[str, Evaluator[Any]] = {}
        # The evaluators whose scope holds a placement, in rule order; emptied when rules change.
        self._applicable: dict[Placement, tuple[Evaluator[Any], ...]] = {}
        self._latest: dict[SeriesKey, int] = {}
        self._dormant: dict[str, list[RuleResult]] = {}
        self.counts = EngineCounts()
        # Rules left out because another file already uses their id; set by replace_rules.
        self.conflicts: list[str] = []
        self.replace_rules(rule_sets, now_ms=0)  # nothing is open yet, so nothing closes

    @property
    def rules(self) -> dict[str, str]:
        """The stream rules in force: rule id → version of its file."""
        return {rule_id: ev.version for rule_id, ev in self._evaluators.items()}

    def open_episodes(self) -> int:
        """How many episodes are firing now."""
        return sum(1 for ev in self._evaluators.values() for ep in ev.episodes.values() if ep.fired)

    def replace_rules(self, rule_sets: Iterable[RuleSet], *, now_ms: int) -> list[RuleResult]:
        """Put ``rule_sets`` in force; return the episodes this ends.

        A rule whose definition is unchanged keeps its state and episodes and records the new
        file version from now on. A changed rule starts afresh and a removed (or disabled) one
        stops: their fired episodes resolve at ``now_ms`` with ``ended_by`` ``rule_changed``
        or ``rule_removed`` in the evidence. Rule ids are unique across files: a rule whose id
        an earlier file uses is left out and listed in :attr:`conflicts`.
        """
        wanted, conflicts = _stream_rules(rule_sets)
        ended: list[RuleResult] = []
        evaluators: dict[str, Evaluator[Any]] = {}
        for rule_id, (rule, version) in wanted.items():
            current = self._evaluators.get(rule_id)
            if current is not None and current.rule == rule:
                current.version = version
                evaluators[rule_id] = current
                continue
            if current is not None:
                ended.extend(current.close(now_ms, "rule_changed"))
            evaluators[rule_id] = evaluator = _EVALUATORS[type(rule)](rule, version)
            waiting = self._dormant.pop(rule_id, [])
            for result in waiting:
                if result.kind == rule.kind:
                    evaluator.restore(result)
            if other := [result for result in waiting if result.kind != rule.kind]:
                self._dormant[rule_id] = other
        for rule_id, current in self._evaluators.items():
            if rule_id not in wanted:
                ended.extend(current.close(now_ms, "rule_removed"))
        self._evaluators = evaluators
        self._applicable.clear()
        self.conflicts = conflicts
        return ended

    def restore(self, recorded: Iterable[RuleResult]) -> int:
        """Take back what results recorded before a restart say; return the episodes taken.

        A ``firing`` stream result is an open episode: it continues, and resolves instead of
        firing again. An episode whose rule is not in force (its file failed to load, say)
        waits until a rule of that id and kind is. Every stream result, resolved ones too,
        marks the readings in its evidence as seen, so a redelivered copy is stale and
        cannot open an episode that was already closed. Other results are skipped.
        """
        taken = 0
        for result in recorded:
            if result.kind not in STREAM_KINDS:
                continue
            if result.site is not None and result.device is not None:
                for series, end in seen_in(result.evidence, result.site, result.device):
                    self._latest[series] = max(self._latest.get(series, end), end)
            if result.outcome != "firing":
                continue
            evaluator = self._evaluators.get(result.rule)
            if evaluator is None or evaluator.rule.kind != result.kind:
                self._dormant.setdefault(result.rule, []).append(result)
                continue
            taken += evaluator.restore(result) is not None
        return taken

    def on_reading(self, placement: Placement, reading: Reading) -> list[RuleResult]:
        """Evaluate one reading from a gateway so placed."""
        if reading.time_unsynced:
            self.counts.unsynced += 1
            return []
        series = (placement.site, reading.device, reading.metric, stream_of(reading))
        end = end_ms(reading)
        if end <= self._latest.get(series, end - 1):
            self.counts.stale += 1
            return []
        self._latest[series] = end
        self.counts.readings += 1
        return [
            result
            for evaluator in self._applying(placement)
            for result in evaluator.on_reading(placement, reading)
        ]

    def on_readings(self, placement: Placement, readings: Iterable[Reading]) -> list[RuleResult]:
        """Evaluate a gateway's readings in order (a telemetry batch)."""
        return [result for reading in readings for result in self.on_reading(placement, reading)]

    def on_status(self, placement: Placement, *, online: bool, ts_ms: int) -> list[RuleResult]:
        """A gateway so placed said it is online or offline at ``ts_ms``."""
        return [
            result
            for evaluator in self._applying(placement)
            for result in evaluator.on_status(placement, online=online, ts_ms=ts_ms)
        ]

    def tick(self, now_ms: int) -> list[RuleResult]:
        """Let time pass up to ``now_ms``: silences and offline gateways that held fire."""
        return [
            result for evaluator in self._evaluators.values() for result in evaluator.tick(now_ms)
        ]

    def watch(self, placement: Placement, since_ms: int) -> None:
        """Expect readings from a registered gateway from ``since_ms`` on (for ``no_data``).

        A gateway already seen keeps its last-seen time; one that never sends anything fires
        a gateway ``no_data`` episode that began at ``since_ms``.
        """
        for evaluator in self._applying(placement):
            evaluator.watch(placement, since_ms)

    def _applying(self, placement: Placement) -> tuple[Evaluator[Any], ...]:
        """The rules in force whose scope holds ``placement``, in rule order."""
        found = self._applicable.get(placement)
        if found is None:
            found = tuple(ev for ev in self._evaluators.values() if ev.applies(placement))
            self._applicable[placement] = found
        return found


def _stream_rules(
    rule_sets: Iterable[RuleSet],
) -> tuple[dict[str, tuple[StreamRule, str]], list[str]]:
    """The stream rules of ``rule_sets`` by id, with their versions; and the ids used twice."""
    wanted: dict[str, tuple[StreamRule, str]] = {}
    conflicts: list[str] = []
    for rule_set in rule_sets:
        for rule in rule_set.rules:
            if not isinstance(rule, _STREAM_RULES):
                continue
            if rule.id in wanted:
                conflicts.append(
                    f"{rule_set.path}: rule {rule.id}: id: used by another rule file "
                    "already; this rule is not in force"
                )
                continue
            wanted[rule.id] = (rule, rule_set.version)
    return wanted, conflicts
