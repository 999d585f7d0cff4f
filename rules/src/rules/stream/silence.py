"""Data health from what does not arrive: a device or gateway gone quiet, a gateway offline.

Both depend on time passing with nothing happening, so besides readings and status messages
they are driven by :meth:`~rules.stream.engine.StreamEngine.tick` with the caller's ``now``.

- **No data** (``subject: device`` → ``site:{site}/device:{device}``; ``subject: gateway`` →
  ``gateway:{gateway}``): every reading, of any metric and quality, moves the subject's *last
  seen* time to its end (``ts``, or an aggregate's interval end). A tick at ``now`` with
  ``now - last seen >= for`` fires an episode that began at the last-seen time; the next
  reading ending later resolves it at its ``ts``. Gateways in the registry are watched from the
  moment the service learns of them, so a gateway that never sends anything is noticed too.
  Value on resolving: the seconds without data; limit: ``for``.
- **Gateway offline** (``gateway:{gateway}``): an ``offline`` status (the gateway's last will,
  or its goodbye) opens an episode at the status's time; it fires once a tick or status comes
  ``for`` seconds later (at once with ``for: 0``) and resolves at the next ``online`` status.
  Status messages are taken in the order they arrive, not by their timestamps: the last will
  is stamped by the platform, the birth by the gateway's own clock. Value on resolving: the
  seconds offline; limit: ``for``.
"""

from rules.model import GatewayOfflineRule, NoDataRule
from rules.stream.episodes import Episode, Json, Subject, end_ms, entry
from rules.stream.evaluator import Evaluator, hold_ms
from rules.subjects import device_subject, gateway_subject
from store.sql import Placement, RuleResult
from telemetry import Reading


class NoDataEvaluator(Evaluator[NoDataRule]):
    """A no-data rule in force: the last-seen time of every device (or gateway) in scope."""

    state_keys = ("seen",)
    shows_readings = False

    def __init__(self, rule: NoDataRule, version: str) -> None:
        super().__init__(rule, version)
        self._last_seen: dict[str, int] = {}
        self._subjects: dict[str, Subject] = {}
        self._unseen: set[str] = set()  # watched gateways that never sent a reading

    def on_reading(self, placement: Placement, reading: Reading) -> list[RuleResult]:
        """Move the subject's last-seen time on; resolve its episode if it was quiet."""
        if self.rule.subject == "device":
            subject = Subject(
                device_subject(placement.site, reading.device), placement, reading.device
            )
        else:
            subject = Subject(gateway_subject(placement.gateway), placement)
        self._unseen.discard(subject.id)
        end = end_ms(reading)
        if end <= self._last_seen.get(subject.id, end - 1):
            return []
        self._last_seen[subject.id] = end
        self._subjects[subject.id] = subject
        episode = self.episodes.pop(subject.id, None)
        if episode is None:
            return []
        episode.value = max(reading.ts - episode.start_ms, 0) / 1000
        return [self.emit(episode, "resolved", end_ms=reading.ts, returned=entry(reading))]

    def watch(self, placement: Placement, since_ms: int) -> None:
        """Expect a registered gateway's data from ``since_ms`` on (gateway subjects only)."""
        subject = gateway_subject(placement.gateway)
        if self.rule.subject == "gateway" and subject not in self._last_seen:
            self._last_seen[subject] = since_ms
            self._subjects[subject] = Subject(subject, placement)
            self._unseen.add(subject)

    def tick(self, now_ms: int) -> list[RuleResult]:
        """Fire for every subject quiet for ``for`` seconds or more."""
        hold = hold_ms(self.rule.hold_s)
        fired: list[RuleResult] = []
        for subject, last in self._last_seen.items():
            if subject in self.episodes or now_ms - last < hold:
                continue
            episode = Episode(self._subjects[subject], last, fired=True)
            # Whether a reading was ever seen, or only the registry said to expect one.
            episode.extra["seen"] = subject not in self._unseen
            self.episodes[subject] = episode
            fired.append(self.emit(episode, "firing"))
        return fired

    def restore(self, result: RuleResult) -> Episode | None:
        """Take back a quiet subject: quiet since the episode began."""
        episode = super().restore(result)
        if episode is not None:
            self._last_seen[episode.subject.id] = episode.start_ms
            self._subjects[episode.subject.id] = episode.subject
        return episode

    def conditions(self) -> dict[str, Json]:
        """Subject kind and hold."""
        return {"subject": self.rule.subject, "for_s": self.rule.hold_s}

    def limit_for(self, episode: Episode) -> float | None:
        """The hold, in seconds."""
        del episode
        return self.rule.hold_s


class GatewayOfflineEvaluator(Evaluator[GatewayOfflineRule]):
    """A gateway-offline rule in force: every gateway in scope that announced itself offline."""

    shows_readings = False

    def on_status(self, placement: Placement, *, online: bool, ts_ms: int) -> list[RuleResult]:
        """Open (and maybe fire) an episode on ``offline``; end it on ``online``."""
        subject = gateway_subject(placement.gateway)
        episode = self.episodes.get(subject)
        if online:
            if episode is None:
                return []
            del self.episodes[subject]
            if not episode.fired:
                return []
            episode.value = max(ts_ms - episode.start_ms, 0) / 1000
            return [self.emit(episode, "resolved", end_ms=ts_ms)]
        if episode is None:
            episode = Episode(Subject(subject, placement), ts_ms)
            self.episodes[subject] = episode
        return self._check(episode, ts_ms)

    def tick(self, now_ms: int) -> list[RuleResult]:
        """Fire for every gateway offline for ``for`` seconds or more."""
        return [
            found for episode in self.episodes.values() for found in self._check(episode, now_ms)
        ]

    def _check(self, episode: Episode, now_ms: int) -> list[RuleResult]:
        if episode.fired or now_ms - episode.start_ms < hold_ms(self.rule.hold_s):
            return []
        episode.fired = True
        return [self.emit(episode, "firing")]

    def conditions(self) -> dict[str, Json]:
        """The hold."""
        return {"for_s": self.rule.hold_s}

    def limit_for(self, episode: Episode) -> float | None:
        """The hold, in seconds."""
        del episode
        return self.rule.hold_s
