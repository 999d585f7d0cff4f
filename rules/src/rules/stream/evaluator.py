"""What every stream rule kind shares: its rule, its open episodes, and how it reports them.

An :class:`Evaluator` is one rule in force. The engine hands it the events its kind cares about
(readings, gateway status, the passing of time) for subjects in the rule's scope; it keeps an
:class:`~rules.stream.episodes.Episode` per subject and returns a result when one fires or
resolves. The kinds (threshold, flatline, ...) override only the events they need.
"""

from typing import ClassVar, Generic, TypeVar

from rules.model import (
    FlatlineRule,
    GatewayOfflineRule,
    NoDataRule,
    OutOfRangeRule,
    PmOrderRule,
    ThresholdRule,
)
from rules.stream.episodes import (
    Episode,
    Json,
    Subject,
    Trail,
    epoch_ms,
    placement_of,
    utc,
)
from store.sql import Placement, RuleResult
from telemetry import Reading

StreamRule = (
    ThresholdRule | NoDataRule | GatewayOfflineRule | FlatlineRule | OutOfRangeRule | PmOrderRule
)
RuleT = TypeVar("RuleT", bound=StreamRule)


class Evaluator(Generic[RuleT]):
    """One stream rule in force, with the episodes it has open, keyed by subject."""

    # Episode state kept in the evidence under these keys, read back by :meth:`restore`.
    state_keys: ClassVar[tuple[str, ...]] = ()
    # Whether the episodes carry readings as evidence (silence has none to show).
    shows_readings: ClassVar[bool] = True

    def __init__(self, rule: RuleT, version: str) -> None:
        self.rule = rule
        self.version = version
        self.episodes: dict[str, Episode] = {}

    def applies(self, placement: Placement) -> bool:
        """Whether a subject so placed is in the rule's scope."""
        return self.rule.scope.matches(
            county=placement.county,
            park=placement.park,
            enterprise=placement.enterprise,
            site=placement.site,
        )

    def on_reading(self, placement: Placement, reading: Reading) -> list[RuleResult]:
        """A new reading of a gateway so placed (never older than its series' last one)."""
        del placement, reading
        return []

    def on_status(self, placement: Placement, *, online: bool, ts_ms: int) -> list[RuleResult]:
        """A gateway announced itself online or offline at ``ts_ms``."""
        del placement, online, ts_ms
        return []

    def tick(self, now_ms: int) -> list[RuleResult]:
        """Time has passed up to ``now_ms`` with nothing else happening."""
        del now_ms
        return []

    def watch(self, placement: Placement, since_ms: int) -> None:
        """Expect data from a registered gateway from ``since_ms`` on, even if it never sends."""
        del placement, since_ms

    def conditions(self) -> dict[str, Json]:
        """The rule's parameters, as every result's evidence shows them."""
        return {}

    def limit_for(self, episode: Episode) -> float | None:
        """The figure an episode's value is judged against."""
        del episode
        return None

    def emit(
        self,
        episode: Episode,
        outcome: str,
        *,
        end_ms: int | None = None,
        **extra: Json,
    ) -> RuleResult:
        """The result of ``episode`` now: ``firing`` (open) or ``resolved`` at ``end_ms``."""
        evidence: dict[str, Json] = self.conditions()
        if self.shows_readings:
            evidence["readings"] = episode.trail.to_json()
        evidence.update(episode.extra)
        evidence.update(extra)
        placement = episode.subject.placement
        return RuleResult(
            rule=self.rule.id,
            rule_version=self.version,
            kind=self.rule.kind,
            subject=episode.subject.id,
            window_start=utc(episode.start_ms),
            window_end=None if end_ms is None else utc(max(end_ms, episode.start_ms)),
            outcome=outcome,
            severity=self.rule.severity.value,
            value=episode.value,
            limit=self.limit_for(episode),
            county=placement.county,
            park=placement.park,
            enterprise=placement.enterprise,
            site=placement.site,
            device=episode.subject.device,
            gateway=placement.gateway,
            evidence=evidence,
        )

    def restore(self, result: RuleResult) -> Episode | None:
        """Take back an episode recorded as firing before a restart; None if it cannot be."""
        placement = placement_of(result)
        if placement is None:
            return None
        episode = Episode(
            Subject(result.subject, placement, result.device),
            epoch_ms(result.window_start),
            Trail.from_json(result.evidence.get("readings")),
            fired=True,
            value=result.value,
            extra={key: result.evidence[key] for key in self.state_keys if key in result.evidence},
        )
        self.episodes[result.subject] = episode
        return episode

    def close(self, now_ms: int, reason: str) -> list[RuleResult]:
        """End every episode because the rule changed or went: fired ones resolve at ``now_ms``."""
        closed = [
            self.emit(episode, "resolved", end_ms=now_ms, ended_by=reason)
            for episode in self.episodes.values()
            if episode.fired
        ]
        self.episodes.clear()
        return closed


def hold_ms(seconds: float) -> int:
    """A rule's ``for`` in milliseconds."""
    return round(seconds * 1000)
