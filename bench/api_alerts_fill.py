"""The simulated city's alerts over many days, written through the alert store as they happen.

Each site gets ``per_day`` alerts a day, at random times in different three-hour slots, of the
city's kinds of rules (particulate spikes per device, hourly means per site, a silent gateway).
Every alert lives the way the rules engine and people move it, each step through
:class:`store.sql.AlertTransaction` as the rules engine's alert book and the API call it:
opened from a firing result with its evidence (the readings' first and last), fired a minute
later, updated by repeats, escalated after 30 minutes unacknowledged, acknowledged by the
enterprise (most of them) with a comment, resolved, settled after the 15-minute flap window,
and closed by bureau staff within a day (most of them). Steps at the same minute share one
transaction, as one tick of the rules service shares it; steps after ``end`` never happen, so
the last hours' alerts are still open. Each site's last two alerts of the last day never
resolve: one stays firing, one acknowledged.
"""

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from devstack.city import SimSite
from store.sql import Actor, AlertStore, AlertTransaction, RuleResult
from store.sql.models import AlertEventRow, AlertRow

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
STAFF = Actor.staff("inspector-wang")
STANDARD = "GB 3095-2012 table 1 (24 h mean, class 2)"
VERSION = "2026.1+3f9a0c1b2d4e"
SLOTS = 8  # a day's three-hour slots: an alert's life (at most 164 minutes) fits in one


@dataclass(frozen=True, slots=True)
class Rule:
    """One of the city's rules: what it watches and how its alerts are placed."""

    id: str
    kind: str
    severity: str
    metric: str | None
    limit: float | None
    subject: str  # ``device``, ``site`` or ``gateway``


RULES = (
    Rule("pm25-spike", "threshold", "major", "pm25", 150.0, "device"),
    Rule("pm10-spike", "threshold", "major", "pm10", 250.0, "device"),
    Rule("pm25-extreme", "threshold", "critical", "pm25", 250.0, "device"),
    Rule("pm25-hour-mean", "window", "warning", "pm25", 75.0, "site"),
    Rule("pm10-hour-mean", "window", "warning", "pm10", 150.0, "site"),
    Rule("gateway-silent", "heartbeat", "critical", None, None, "gateway"),
)


@dataclass(slots=True)
class Episode:
    """One alert's life: the times of its steps (``None``: never)."""

    site: SimSite
    rule: Rule
    device: str | None
    start: datetime
    value: float
    updates: list[datetime] = field(default_factory=list)
    escalated: datetime | None = None
    acknowledged: datetime | None = None
    resolved: datetime | None = None
    closed: datetime | None = None
    alert_id: int = 0
    revision: int = 0

    @property
    def subject(self) -> str:
        """The rule's subject, as the rules engine names it."""
        if self.rule.subject == "gateway":
            return f"gateway:{self.site.gateway}"
        device = f"/device:{self.device}" if self.device else ""
        return f"site:{self.site.site}{device}"

    def result(self, outcome: str, at: datetime) -> RuleResult:
        """The rule result the engine records at ``at``; a repeat raises the revision."""
        rule, site = self.rule, self.site
        self.revision += 1
        value = None if rule.limit is None else round(self.value * (1 + 0.02 * self.revision), 1)
        if outcome == "resolved":
            value = rule.limit
        first_ms = int(self.start.timestamp() * 1000)
        trail = {
            "count": 9 + self.revision,
            "first": [{"ts": first_ms + n * 60_000, "value": value} for n in range(3)],
            "last": [{"ts": int(at.timestamp() * 1000), "value": value}],
        }
        evidence: dict[str, object] = {
            "metric": rule.metric,
            "above": rule.limit,
            "hold_s": 600,
            "readings": trail,
        }
        return RuleResult(
            rule=rule.id,
            rule_version=VERSION,
            kind=rule.kind,
            subject=self.subject,
            window_start=self.start,
            window_end=at if outcome == "resolved" else None,
            outcome=outcome,
            severity=rule.severity,
            value=value,
            limit=rule.limit,
            standard=None if rule.limit is None else STANDARD,
            county=site.county[0],
            park=site.park[0] if site.park else None,
            enterprise=site.enterprise[0],
            site=site.site,
            device=self.device,
            gateway=site.gateway,
            evidence=evidence,
            revision=self.revision,
        )


def episodes(sites: Sequence[SimSite], end: datetime, days: int, per_day: int) -> list[Episode]:
    """Every site's alerts over ``days`` days before ``end``, oldest first."""
    rng = random.Random(30)  # noqa: S311 - a made-up history, not secrets
    found = []
    first_day = end - days * DAY
    for site in sites:
        for day in range(days):
            slots = sorted(rng.sample(range(SLOTS), min(per_day, SLOTS)))
            for n, slot in enumerate(slots):
                start = first_day + day * DAY + timedelta(hours=3 * slot, minutes=rng.randrange(60))
                last_day = day == days - 1
                stays = len(slots) - n if last_day and len(slots) - n <= 2 else 0
                found.append(_episode(rng, site, start, stays))
    return sorted((e for e in found if e.start < end - MINUTE), key=lambda e: e.start)


def _episode(rng: random.Random, site: SimSite, start: datetime, stays: int) -> Episode:
    """One alert; ``stays`` 1 (firing) or 2 (acknowledged): it never resolves."""
    rule = RULES[3 + stays] if stays else rng.choice(RULES)  # the last two differ
    device = rng.choice(("pm-1", "pm-2")) if rule.subject == "device" else None
    limit = rule.limit or 1.0
    episode = Episode(site, rule, device, start, limit * rng.uniform(1.05, 1.6))
    minutes = rng.randint(15, 90)
    episode.updates = [start + MINUTE * m for m in range(5, minutes, 10)][:4]
    if stays != 1 and (stays == 2 or rng.random() < 0.7):
        episode.acknowledged = start + MINUTE * rng.randint(3, 40)
    unseen_until = episode.acknowledged or start + MINUTE * (minutes if stays != 1 else 999)
    if unseen_until - start > 30 * MINUTE:
        episode.escalated = start + 30 * MINUTE
    if stays:
        return episode
    episode.resolved = start + MINUTE * max(minutes, 41 if episode.acknowledged else 0)
    if rng.random() < 0.85:
        episode.closed = episode.resolved + MINUTE * rng.randint(20, 20 * 60)
    return episode


def steps(history: Sequence[Episode]) -> Iterator[tuple[datetime, int, str]]:
    """(time, episode index, step) of every step, in the order they happen."""
    timed: list[tuple[datetime, int, int, str]] = []
    for index, episode in enumerate(history):
        planned: list[tuple[datetime | None, str]] = [
            (episode.start, "open"),
            (episode.start + MINUTE, "fire"),
        ]
        planned += [(at, "update") for at in episode.updates]
        planned += [(episode.escalated, "escalate"), (episode.acknowledged, "acknowledge")]
        if episode.resolved:
            planned += [(episode.resolved, "resolve"), (episode.resolved + 15 * MINUTE, "settle")]
        planned.append((episode.closed, "close"))
        timed += [(at, order, index, step) for order, (at, step) in enumerate(planned) if at]
    for at, _, index, step in sorted(timed):
        yield at, index, step


def write(engine: Engine, history: Sequence[Episode], end: datetime) -> int:
    """Write ``history`` up to ``end``; returns the number of transactions."""
    store = AlertStore(engine)
    by_minute: dict[datetime, list[tuple[int, str]]] = defaultdict(list)
    for at, index, step in steps(history):
        if at < end:
            by_minute[at.replace(second=0, microsecond=0)].append((index, step))
    for minute, todo in sorted(by_minute.items()):
        with store.transaction(minute) as alerts:
            for index, step in todo:
                _apply(alerts, history[index], step, minute)
    return len(by_minute)


def _apply(alerts: AlertTransaction, episode: Episode, step: str, at: datetime) -> None:
    """One step of ``episode`` at ``at``, as the rules engine or a person takes it."""
    if step == "open":
        episode.alert_id = alerts.open(episode.result("firing", at)).id
    elif step == "fire":
        alerts.fire([episode.alert_id])
    elif step == "update":
        alerts.update(episode.alert_id, episode.result("firing", at))
    elif step == "escalate":
        alerts.escalate([episode.alert_id])
    elif step == "acknowledge":
        who = Actor.of_enterprise(episode.site.enterprise[0], "duty-officer")
        alerts.acknowledge(episode.alert_id, who, "Dust suppression on; sprayers running")
    elif step == "resolve":
        alerts.resolve(episode.alert_id, episode.result("resolved", at))
    elif step == "settle":
        alerts.settle([episode.alert_id])
    elif step == "close":
        alerts.close(episode.alert_id, STAFF, "Checked on site; cause recorded")


def counts(engine: Engine) -> tuple[dict[str, int], int]:
    """How many alerts are in each state, and how many audit rows there are."""
    with engine.connect() as connection:
        states = connection.execute(select(AlertRow.state, func.count()).group_by(AlertRow.state))
        by_state = {state: count for state, count in states.all()}  # noqa: C416 - typed rows
        events = connection.execute(select(func.count()).select_from(AlertEventRow)).scalar_one()
    return by_state, events
