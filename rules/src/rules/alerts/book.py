"""The alert book: rule results and the clock in, alerts, audit rows and notices out.

The rules service hands every batch of recorded results to :meth:`AlertBook.handle` and calls
:meth:`AlertBook.tick` on its timer (every ``alerts_tick_s``); both take ``now`` from the
caller, so tests move time by hand. Each call is one transaction of the alert store: the
alerts it changes, their audit rows and the notices they cause commit together or not at
all. A call that loses a race with another writer opening the same alert is run once more.

The policy lives in :mod:`rules.alerts.decide`; the state machine, audit trail and outbox in
:class:`store.sql.AlertStore`, which the API uses for what people do (acknowledge, comment,
assign, close).
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from rules.alerts.decide import (
    Decision,
    Ignored,
    Step,
    decide,
    due_escalations,
    due_groups,
    due_reminders,
    due_settlements,
    group_of,
)
from rules.alerts.policy import AlertPolicy, Effect, effect_of
from store.sql import (
    AlertAction,
    AlertRecord,
    AlertState,
    AlertStore,
    AlertTransaction,
    Notification,
    Recorded,
    RuleResult,
)


@dataclass(frozen=True, slots=True)
class AlertReport:
    """What one call did: actions taken (each audited), results ignored, notices written."""

    actions: Mapping[AlertAction, int]
    ignored: Mapping[Ignored, int]
    settled: int  # resolved alerts whose flap window ended (their resolved notice written)
    notifications: tuple[Notification, ...]


@dataclass
class _Tally:
    actions: Counter[AlertAction] = field(default_factory=Counter)
    ignored: Counter[Ignored] = field(default_factory=Counter)
    settled: int = 0
    notifications: list[Notification] = field(default_factory=list)

    def report(self) -> AlertReport:
        return AlertReport(
            dict(self.actions), dict(self.ignored), self.settled, tuple(self.notifications)
        )


class AlertBook:
    """Turns rule results into alerts and runs their timers, by an :class:`AlertPolicy`."""

    def __init__(self, store: AlertStore, policy: AlertPolicy | None = None) -> None:
        self._store = store
        self._policy = policy or AlertPolicy()

    @property
    def policy(self) -> AlertPolicy:
        """The time settings in force."""
        return self._policy

    def handle(self, recorded: Iterable[Recorded], *, now: datetime) -> AlertReport:
        """Apply the results that changed the store (as ``RuleResults.record`` returns them)."""
        return self.apply([entry.result for entry in recorded if entry.changed], now=now)

    def apply(self, results: Iterable[RuleResult], *, now: datetime) -> AlertReport:
        """Apply ``results`` whether they changed or not.

        Then the firing notices of groups whose window has passed are written (with
        ``group_window_s=0``, those of the alerts just opened); reminders, escalations and
        resolved notices wait for :meth:`tick`.

        Results an alert has already seen change nothing, so feeding the results recorded
        before a crash again (the restart's restore) is safe and catches up on any whose
        alert change was lost with the crash.
        """
        ordered = sorted(results, key=lambda result: (result.window_start, result.revision))
        try:
            return self._run(ordered, now, timers=False)
        except IntegrityError:  # another writer opened an alert of the same key first
            return self._run(ordered, now, timers=False)

    def tick(self, *, now: datetime) -> AlertReport:
        """Run what is due at ``now``: fire closed groups, escalate, remind, settle."""
        return self._run([], now, timers=True)

    def _run(self, results: list[RuleResult], now: datetime, *, timers: bool) -> AlertReport:
        tally = _Tally()
        with self._store.transaction(now) as alerts:
            effective = []
            for result in results:
                if effect_of(result.outcome) is Effect.NONE:
                    tally.ignored[Ignored.NO_EFFECT] += 1
                else:
                    effective.append(result)
            newest = alerts.latest((result.rule, result.subject) for result in effective)
            ids = {key: alert.id for key, alert in newest.items()}
            for result in effective:
                key = (result.rule, result.subject)
                latest = alerts.alert(ids[key]) if key in ids else None
                changed = self._apply(
                    alerts, result, decide(result, latest, now, self._policy), tally
                )
                if changed is not None:
                    ids[key] = changed.id
            self._fire_groups(alerts, tally)
            if timers:
                self._timers(alerts, tally)
        return tally.report()

    def _apply(
        self, alerts: AlertTransaction, result: RuleResult, decision: Decision, tally: _Tally
    ) -> AlertRecord | None:
        target = decision.alert
        if decision.settle_first and target is not None:
            tally.notifications += alerts.settle([target.id])
            tally.settled += 1
        if decision.step is Step.OPEN:
            alert = alerts.open(result)
            tally.actions[AlertAction.OPENED] += 1
        elif decision.step is Step.IGNORE or target is None:
            tally.ignored[decision.ignored or Ignored.SEEN] += 1
            return None
        elif decision.step is Step.UPDATE:
            alert = alerts.update(target.id, result)
            tally.actions[AlertAction.UPDATED] += 1
        elif decision.step is Step.REOPEN:
            alert = alerts.reopen(target.id, result)
            tally.actions[AlertAction.REOPENED] += 1
        else:
            if target.state is AlertState.PENDING:  # its firing notice goes out first
                self._fire(alerts, group_of(target, alerts.in_state(AlertState.PENDING)), tally)
            alert = alerts.resolve(target.id, result)
            tally.actions[AlertAction.RESOLVED] += 1
        if decision.raise_severity:
            alert = alerts.raise_severity(alert.id, result.severity)
            tally.actions[AlertAction.SEVERITY_RAISED] += 1
        return alert

    def _fire_groups(self, alerts: AlertTransaction, tally: _Tally) -> None:
        due = due_groups(alerts.in_state(AlertState.PENDING), alerts.now, self._policy)
        self._fire(alerts, [alert_id for group in due for alert_id in group], tally)

    def _timers(self, alerts: AlertTransaction, tally: _Tally) -> None:
        now, policy = alerts.now, self._policy
        firing = alerts.unacknowledged(
            fired_before=_before(now, policy.escalate_after_s),
            told_before=_before(now, policy.remind_every_s),
        )
        escalations = due_escalations(firing, now, policy)
        if escalations:
            tally.notifications += alerts.escalate(escalations)
            tally.actions[AlertAction.ESCALATED] += len(escalations)
        reminders = due_reminders(firing, now, policy)
        if reminders:
            tally.notifications += alerts.remind(reminders)
            tally.actions[AlertAction.REMINDED] += len(reminders)
        unsettled = alerts.unsettled(resolved_before=_before(now, policy.flap_window_s))
        settlements = due_settlements(unsettled, now, policy)
        if settlements:
            tally.notifications += alerts.settle(settlements)
            tally.settled += len(settlements)

    @staticmethod
    def _fire(alerts: AlertTransaction, ids: list[int], tally: _Tally) -> None:
        if ids:
            tally.notifications += alerts.fire(ids)
            tally.actions[AlertAction.FIRED] += len(ids)


def _before(now: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else now - timedelta(seconds=seconds)
