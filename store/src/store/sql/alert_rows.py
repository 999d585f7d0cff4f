"""The alert rows of one transaction, and the primitives every change to them is made of.

:class:`AlertRows` reads alerts with their rows locked (``SELECT ... FOR UPDATE`` on
PostgreSQL) until the transaction ends, so a person acknowledging an alert and the rules
engine resolving it take turns; and it offers its subclass
(:class:`store.sql.alert_changes.AlertTransaction`) the steps of a change: move through the
state machine, take a result as the latest evidence, append to the audit trail, write the
notices (grouped and keyed by :mod:`store.sql.alert_notices`).
"""

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session

from store.sql.alert_notices import notify
from store.sql.alert_records import AlertRecord, JsonObject, alert_record, dumps, snapshot
from store.sql.alert_states import (
    Actor,
    AlertAction,
    AlertNotFoundError,
    AlertState,
    NoticeKind,
    next_state,
)
from store.sql.models import AlertEventRow, AlertRow
from store.sql.outbox import Notification
from store.sql.results import RuleResult

SYSTEM = Actor.system()
_CHUNK = 300  # keys per IN list


class AlertRows:
    """The alert store inside one transaction, at one instant ``now``: reads and primitives."""

    def __init__(self, session: Session, now: datetime) -> None:
        self._session = session
        self._now = now
        self._locked: set[int] = set()

    @property
    def now(self) -> datetime:
        """The time every change of this transaction is recorded at."""
        return self._now

    # --- reads (rows stay locked until the end) --------------------------------------------

    def latest(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], AlertRecord]:
        """The newest alert of each (rule, subject) that has one, live or not."""
        wanted = sorted(set(keys))
        found: dict[tuple[str, str], AlertRecord] = {}
        for start in range(0, len(wanted), _CHUNK):
            newest = (
                select(func.max(AlertRow.id))
                .where(tuple_(AlertRow.rule, AlertRow.subject).in_(wanted[start : start + _CHUNK]))
                .group_by(AlertRow.rule, AlertRow.subject)
            )
            for record in self._select(AlertRow.id.in_(newest)):
                found[record.key] = record
        return found

    def alert(self, alert_id: int) -> AlertRecord:
        """One alert.

        Raises:
            AlertNotFoundError: no alert with this id.
        """
        return alert_record(self._row(alert_id))

    def in_state(self, state: AlertState) -> list[AlertRecord]:
        """Every alert in ``state``, by id."""
        return self._select(AlertRow.state == AlertState(state).value)

    def unacknowledged(
        self, *, fired_before: datetime | None, told_before: datetime | None
    ) -> list[AlertRecord]:
        """Firing alerts a timer may be due for, by id.

        Those not yet escalated that fired before ``fired_before``, and those whose last
        notice (firing or reminder) is older than ``told_before``; ``None`` leaves that half
        out. The caller decides which timer each is due for.
        """
        due: list[ColumnElement[bool]] = []
        if fired_before is not None:
            due.append(and_(AlertRow.escalated_at.is_(None), AlertRow.fired_at <= fired_before))
        if told_before is not None:
            due.append(func.coalesce(AlertRow.reminded_at, AlertRow.fired_at) <= told_before)
        if not due:
            return []
        return self._select(AlertRow.state == AlertState.FIRING.value, or_(*due))

    def unsettled(self, *, resolved_before: datetime | None = None) -> list[AlertRecord]:
        """Resolved alerts still in their flap window (no resolved notice yet), by id.

        With ``resolved_before``, only those resolved before it.
        """
        conditions = [AlertRow.state == AlertState.RESOLVED.value, AlertRow.open_key.is_not(None)]
        if resolved_before is not None:
            conditions.append(AlertRow.resolved_at <= resolved_before)
        return self._select(*conditions)

    def _select(self, *conditions: ColumnElement[bool]) -> list[AlertRecord]:
        query = select(AlertRow).where(*conditions).order_by(AlertRow.id).with_for_update()
        rows = list(self._session.scalars(query))
        self._locked.update(row.id for row in rows)
        return [alert_record(row) for row in rows]

    def _row(self, alert_id: int) -> AlertRow:
        locked = alert_id in self._locked
        row = self._session.get(AlertRow, alert_id, with_for_update=None if locked else True)
        if row is None:
            raise AlertNotFoundError(alert_id)
        self._locked.add(alert_id)
        return row

    def _rows(self, alert_ids: Sequence[int], action: AlertAction) -> list[AlertRow]:
        rows = [self._row(alert_id) for alert_id in sorted(set(alert_ids))]
        for row in rows:
            self._move(row, action)
        return rows

    def _move(self, row: AlertRow, action: AlertAction, *, acknowledged: bool = False) -> None:
        after = next_state(row.id, AlertState(row.state), action, acknowledged=acknowledged)
        row.state = after.value
        row.updated_at = self._now

    def _take(
        self, row: AlertRow, result: RuleResult, *, seen: bool = True, evidence: str | None = None
    ) -> None:
        row.kind = result.kind
        row.rule_version = result.rule_version
        row.value = result.value
        row.limit = result.limit
        row.standard = result.standard
        row.evidence = evidence or dumps(snapshot(result))
        row.last_window_start = result.window_start
        row.result_revision = result.revision
        row.updated_at = self._now
        if seen:
            row.last_seen_at = self._now

    def _tell(
        self,
        kind: NoticeKind,
        rows: list[AlertRow],
        action: AlertAction,
        *,
        audience: str | None = None,
    ) -> list[Notification]:
        notices = notify(self._session, self._now, kind, rows, audience)
        for notice, told in notices:
            for row in told:
                details: JsonObject = {"notification": notice.idempotency_key}
                if action is AlertAction.REMINDED:
                    details["reminder"] = row.reminders
                self._audit(row, SYSTEM, action, details=details)
        return [notice for notice, _ in notices]

    def _audit(
        self,
        row: AlertRow,
        actor: Actor,
        action: AlertAction,
        *,
        comment: str | None = None,
        details: JsonObject | None = None,
    ) -> None:
        self._session.add(
            AlertEventRow(
                alert_id=row.id,
                at=self._now,
                actor=str(actor),
                action=action.value,
                state=row.state,
                comment=comment,
                details=dumps(details or {}),
            )
        )
