"""Changes to alerts inside one transaction: each checked, audited and told through the outbox.

An :class:`AlertTransaction` is what :meth:`store.sql.AlertStore.transaction` yields. Every
change goes through the state machine (:mod:`store.sql.alert_states`), appends its row to the
audit trail, and writes the notices it causes to the outbox — all in the transaction, so a
failed commit leaves none of them and a successful one all. Which result opens or resolves
which alert, and when timers fire, is the rules engine's policy (``rules.alerts``); this class
only refuses what the state machine forbids.

Notices are grouped per audience and site and keyed as :mod:`store.sql.alert_notices` says.
Reads and the primitives of a change come from :class:`store.sql.alert_rows.AlertRows`.
"""

from collections.abc import Sequence

from store.sql.alert_notices import notify
from store.sql.alert_records import AlertRecord, JsonObject, alert_record, dumps, open_key, snapshot
from store.sql.alert_rows import SYSTEM, AlertRows
from store.sql.alert_states import (
    BUREAU,
    COMMENT_LENGTH,
    Actor,
    ActorKind,
    AlertAction,
    AlertState,
    ForbiddenActionError,
    InvalidAlertInputError,
    InvalidTransitionError,
    NoticeKind,
)
from store.sql.models import NAME_LENGTH, AlertRow
from store.sql.outbox import Notification
from store.sql.results import RuleResult


class AlertTransaction(AlertRows):
    """The alert store inside one transaction: every change an alert can undergo."""

    # --- what rule results do (actor: system) ----------------------------------------------

    def open(self, result: RuleResult) -> AlertRecord:
        """A new alert from ``result``, pending.

        Raises:
            sqlalchemy.exc.IntegrityError: a live alert of its rule and subject exists (the
                caller looked without finding it: another writer was first); the transaction
                is spoilt, run it again.
        """
        evidence = dumps(snapshot(result))
        row = AlertRow(
            open_key=open_key(result.rule, result.subject),
            state=AlertState.PENDING.value,
            audience=result.enterprise or BUREAU,
            trigger=evidence,
            opened_at=self._now,
            reminders=0,
            reopen_count=0,
            **{name: getattr(result, name) for name in _PLACED},
        )
        self._take(row, result, evidence=evidence)
        self._session.flush()  # a settled or closed alert of the key frees open_key first
        self._session.add(row)
        self._session.flush()
        self._locked.add(row.id)
        self._audit(row, SYSTEM, AlertAction.OPENED, details=_facts(result))
        return alert_record(row)

    def update(self, alert_id: int, result: RuleResult) -> AlertRecord:
        """A repeat: ``result`` becomes the alert's latest evidence."""
        row = self._row(alert_id)
        self._move(row, AlertAction.UPDATED)
        self._take(row, result)
        self._audit(row, SYSTEM, AlertAction.UPDATED, details=_facts(result))
        return alert_record(row)

    def raise_severity(self, alert_id: int, severity: str) -> AlertRecord:
        """Set a higher severity; which is higher is the caller's judgement."""
        row = self._row(alert_id)
        self._move(row, AlertAction.SEVERITY_RAISED)
        details: JsonObject = {"from": row.severity, "to": severity}
        row.severity = severity
        self._audit(row, SYSTEM, AlertAction.SEVERITY_RAISED, details=details)
        return alert_record(row)

    def resolve(self, alert_id: int, result: RuleResult) -> AlertRecord:
        """The rule says the condition ended (a pending alert must be fired first)."""
        row = self._row(alert_id)
        self._move(row, AlertAction.RESOLVED)
        self._take(row, result, seen=False)
        row.resolved_at = self._now
        self._audit(row, SYSTEM, AlertAction.RESOLVED, details=_facts(result))
        return alert_record(row)

    def reopen(self, alert_id: int, result: RuleResult) -> AlertRecord:
        """A resolved alert not yet settled fires again: back to firing (or acknowledged)."""
        row = self._row(alert_id)
        if row.open_key is None:
            why = "its flap window is over (settled or closed)"
            raise InvalidTransitionError(row.id, AlertState(row.state), AlertAction.REOPENED, why)
        self._move(row, AlertAction.REOPENED, acknowledged=row.acknowledged_at is not None)
        details = _facts(result) | {"resolved_at": row.resolved_at, "reopen": row.reopen_count + 1}
        row.reopen_count += 1
        row.resolved_at = None
        self._take(row, result)
        self._audit(row, SYSTEM, AlertAction.REOPENED, details=details)
        return alert_record(row)

    # --- what timers do (actor: system); each returns the notices written ------------------

    def fire(self, alert_ids: Sequence[int]) -> list[Notification]:
        """Pending alerts become firing; one ``firing`` notice per audience and site."""
        rows = self._rows(alert_ids, AlertAction.FIRED)
        for row in rows:
            row.fired_at = self._now
        return self._tell(NoticeKind.FIRING, rows, AlertAction.FIRED)

    def remind(self, alert_ids: Sequence[int]) -> list[Notification]:
        """Firing alerts not acknowledged: a ``reminder`` to their audience."""
        rows = self._rows(alert_ids, AlertAction.REMINDED)
        for row in rows:
            row.reminders += 1
            row.reminded_at = self._now
        return self._tell(NoticeKind.REMINDER, rows, AlertAction.REMINDED)

    def escalate(self, alert_ids: Sequence[int]) -> list[Notification]:
        """Firing alerts not acknowledged in time: an ``escalation`` to the bureau, once."""
        rows = self._rows(alert_ids, AlertAction.ESCALATED)
        for row in rows:
            if row.escalated_at is not None:
                why = "an alert is escalated once"
                raise InvalidTransitionError(
                    row.id, AlertState(row.state), AlertAction.ESCALATED, why
                )
            row.escalated_at = self._now
        return self._tell(NoticeKind.ESCALATION, rows, AlertAction.ESCALATED, audience=BUREAU)

    def settle(self, alert_ids: Sequence[int]) -> list[Notification]:
        """Resolved alerts leave their flap window: the ``resolved`` notice, never to reopen.

        The bureau gets a copy of the notice for alerts it was told of by an escalation.
        """
        rows = [self._row(alert_id) for alert_id in sorted(set(alert_ids))]
        for row in rows:
            if row.state != AlertState.RESOLVED.value or row.open_key is None:
                why = "only a resolved alert in its flap window is settled"
                raise InvalidTransitionError(
                    row.id, AlertState(row.state), AlertAction.RESOLVED, why
                )
            row.open_key = None
            row.settled_at = self._now
            row.updated_at = self._now
        escalated = [row for row in rows if row.escalated_at and row.audience != BUREAU]
        notices = notify(self._session, self._now, NoticeKind.RESOLVED, rows)
        notices += notify(self._session, self._now, NoticeKind.RESOLVED, escalated, BUREAU)
        return [notice for notice, _ in notices]

    # --- what people do --------------------------------------------------------------------

    def acknowledge(self, alert_id: int, actor: Actor, comment: str) -> AlertRecord:
        """The enterprise (or bureau staff for it) has seen a pending or firing alert."""
        row = self._row(alert_id)
        _allow(row, actor, AlertAction.ACKNOWLEDGED, enterprise=True)
        text = _comment(comment)
        self._move(row, AlertAction.ACKNOWLEDGED)
        row.acknowledged_at = self._now
        row.acknowledged_by = str(actor)
        self._audit(row, actor, AlertAction.ACKNOWLEDGED, comment=text)
        return alert_record(row)

    def comment(self, alert_id: int, actor: Actor, comment: str) -> AlertRecord:
        """A remark on the record, in any state."""
        row = self._row(alert_id)
        _allow(row, actor, AlertAction.COMMENTED, enterprise=True)
        text = _comment(comment)
        self._move(row, AlertAction.COMMENTED)
        self._audit(row, actor, AlertAction.COMMENTED, comment=text)
        return alert_record(row)

    def assign(
        self, alert_id: int, actor: Actor, assignee: str | None, comment: str | None = None
    ) -> AlertRecord:
        """Bureau staff give the alert to ``assignee`` (a staff user), or to no one."""
        row = self._row(alert_id)
        _allow(row, actor, AlertAction.ASSIGNED, enterprise=False)
        if assignee is not None and (not assignee.strip() or len(assignee) > NAME_LENGTH):
            raise InvalidAlertInputError("assignee", f"1 to {NAME_LENGTH} characters, or none")
        text = None if comment is None else _comment(comment)
        self._move(row, AlertAction.ASSIGNED)
        details: JsonObject = {"from": row.assignee, "to": assignee}
        row.assignee = assignee
        self._audit(row, actor, AlertAction.ASSIGNED, comment=text, details=details)
        return alert_record(row)

    def close(self, alert_id: int, actor: Actor, comment: str | None = None) -> AlertRecord:
        """Bureau staff finish the alert; a ``closed`` notice if its audience was told of it."""
        row = self._row(alert_id)
        _allow(row, actor, AlertAction.CLOSED, enterprise=False)
        text = None if comment is None else _comment(comment)
        told = row.fired_at is not None and row.settled_at is None
        self._move(row, AlertAction.CLOSED)
        row.open_key = None
        row.closed_at = self._now
        row.closed_by = str(actor)
        details: JsonObject = {}
        if told:
            extra: JsonObject = {"closed_by": str(actor), "comment": text}
            [(notice, _)] = notify(self._session, self._now, NoticeKind.CLOSED, [row], extra=extra)
            details["notification"] = notice.idempotency_key
        self._audit(row, actor, AlertAction.CLOSED, comment=text, details=details)
        return alert_record(row)


_PLACED = (
    "rule",
    "subject",
    "severity",
    "window_start",
    "county",
    "park",
    "enterprise",
    "site",
    "device",
    "gateway",
)


def _facts(result: RuleResult) -> JsonObject:
    return {
        "outcome": result.outcome,
        "window_start": result.window_start,
        "window_end": result.window_end,
        "revision": result.revision,
        "value": result.value,
        "limit": result.limit,
        "rule_version": result.rule_version,
    }


def _allow(row: AlertRow, actor: Actor, action: AlertAction, *, enterprise: bool) -> None:
    """Refuse people who may not do ``action`` to ``row`` (docs/alerts.md, "Who may do what")."""
    if actor.kind is ActorKind.STAFF:
        return
    if actor.kind is ActorKind.SYSTEM:
        why = "the platform does not act for people"
    elif not enterprise:
        why = "only bureau staff may"
    elif actor.enterprise != row.enterprise:
        why = f"the alert is not of enterprise {actor.enterprise!r}"
    else:
        return
    raise ForbiddenActionError(row.id, str(actor), action, why)


def _comment(comment: str) -> str:
    if not comment.strip() or len(comment) > COMMENT_LENGTH:
        raise InvalidAlertInputError("comment", f"1 to {COMMENT_LENGTH} characters, not blank")
    return comment
