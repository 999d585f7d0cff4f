"""The lifecycle's decisions, pure: what a result does to its alert, and which timers are due.

:func:`decide` looks at one rule result and the newest alert of its rule and subject (or
none) and returns the step to take. The rules, in order:

1. A result whose outcome has no effect (``insufficient_data``, ``no_limit``) is ignored.
2. A result the alert has already seen is ignored: one about a window older than the alert's
   latest, or the latest window again at a revision not newer (a replay after a restart,
   a window evaluated again unchanged). A *closed* alert also ignores new revisions of its
   latest window: bureau staff finished it, and a late re-evaluation of the same window does
   not start it again.
3. A live alert resolved longer than ``flap_window_s`` ago is settled first (its
   ``resolved`` notice is written): from then on it is no longer the key's alert.
4. A raising result opens an alert when none is live, reopens a resolved one, and updates an
   open one; with a higher severity than the alert's it raises the severity too.
5. A clearing result resolves an open alert, and is ignored when none is open.

Timers (:func:`due_groups`, :func:`due_escalations`, :func:`due_reminders`,
:func:`due_settlements`) pick the alerts whose time has come at ``now``.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rules.alerts.policy import AlertPolicy, Effect, effect_of, outranks
from store.sql import AlertRecord, AlertState, RuleResult


class Step(StrEnum):
    """What to do with one result."""

    OPEN = "open"
    UPDATE = "update"
    REOPEN = "reopen"
    RESOLVE = "resolve"
    IGNORE = "ignore"


class Ignored(StrEnum):
    """Why a result changed no alert."""

    NO_EFFECT = "no_effect"  # its outcome opens and resolves nothing
    SEEN = "seen"  # the alert has seen it, or a newer window
    NOTHING_OPEN = "nothing_open"  # it clears, and no alert is open


@dataclass(frozen=True, slots=True)
class Decision:
    """The step for one result; ``alert`` is the alert it applies to (none for ``open``)."""

    step: Step
    alert: AlertRecord | None = None
    settle_first: bool = False  # the alert's flap window is over: settle it before the step
    raise_severity: bool = False
    ignored: Ignored | None = None


def decide(
    result: RuleResult, latest: AlertRecord | None, now: datetime, policy: AlertPolicy
) -> Decision:
    """The step ``result`` calls for, given the newest alert of its key (module docstring)."""
    effect = effect_of(result.outcome)
    if effect is Effect.NONE:
        return Decision(Step.IGNORE, latest, ignored=Ignored.NO_EFFECT)
    if latest is not None and _seen(result, latest):
        return Decision(Step.IGNORE, latest, ignored=Ignored.SEEN)
    live = latest if latest is not None and latest.live else None
    settle = live is not None and live.state is AlertState.RESOLVED and flap_over(live, now, policy)
    if settle:
        live = None
    if effect is Effect.CLEAR:
        if live is None or live.state is AlertState.RESOLVED:
            return Decision(Step.IGNORE, latest, settle, ignored=Ignored.NOTHING_OPEN)
        return Decision(Step.RESOLVE, live)
    if live is None:
        return Decision(Step.OPEN, latest, settle)
    step = Step.REOPEN if live.state is AlertState.RESOLVED else Step.UPDATE
    return Decision(step, live, raise_severity=outranks(result.severity, live.severity))


def _seen(result: RuleResult, alert: AlertRecord) -> bool:
    if result.window_start != alert.last_window_start:
        return result.window_start < alert.last_window_start
    return result.revision <= alert.result_revision or alert.state is AlertState.CLOSED


def flap_over(alert: AlertRecord, now: datetime, policy: AlertPolicy) -> bool:
    """Whether a resolved alert has stayed resolved through its flap window."""
    resolved = alert.resolved_at or alert.updated_at
    return now >= resolved + timedelta(seconds=policy.flap_window_s)


def due_groups(
    pending: Iterable[AlertRecord], now: datetime, policy: AlertPolicy
) -> list[list[int]]:
    """Ids of pending alerts to fire now: every group whose first alert waited its window."""
    groups: dict[tuple[str, str | None], list[AlertRecord]] = {}
    for alert in pending:
        groups.setdefault(alert.group, []).append(alert)
    wait = timedelta(seconds=policy.group_window_s)
    return [
        [alert.id for alert in members]
        for members in groups.values()
        if min(alert.opened_at for alert in members) + wait <= now
    ]


def group_of(alert: AlertRecord, pending: Iterable[AlertRecord]) -> list[int]:
    """Ids of the pending alerts in ``alert``'s group, ``alert`` included."""
    return sorted({alert.id} | {other.id for other in pending if other.group == alert.group})


def due_escalations(firing: Iterable[AlertRecord], now: datetime, policy: AlertPolicy) -> list[int]:
    """Firing alerts unacknowledged ``escalate_after_s`` after they fired, not yet escalated."""
    if policy.escalate_after_s is None:
        return []
    after = timedelta(seconds=policy.escalate_after_s)
    return [
        alert.id for alert in firing if alert.escalated_at is None and _fired(alert) + after <= now
    ]


def due_reminders(firing: Iterable[AlertRecord], now: datetime, policy: AlertPolicy) -> list[int]:
    """Firing alerts whose last reminder (or firing) is ``remind_every_s`` old.

    A reminder missed while the service was down is sent once, not once per period missed.
    """
    if policy.remind_every_s is None:
        return []
    every = timedelta(seconds=policy.remind_every_s)
    return [alert.id for alert in firing if (alert.reminded_at or _fired(alert)) + every <= now]


def due_settlements(
    unsettled: Iterable[AlertRecord], now: datetime, policy: AlertPolicy
) -> list[int]:
    """Resolved alerts whose flap window is over: their ``resolved`` notice is due."""
    return [alert.id for alert in unsettled if flap_over(alert, now, policy)]


def _fired(alert: AlertRecord) -> datetime:
    return alert.fired_at or alert.opened_at
