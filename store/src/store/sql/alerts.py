"""Alerts: what a rule's condition on one subject became, from its first result to its end.

The rules engine opens, updates and resolves alerts from rule results and runs their timers
(``rules.alerts.AlertBook``); enterprises acknowledge them and bureau staff assign, comment
and close them through the API. Both use this store, so both obey one state machine
(:mod:`store.sql.alert_states`) and leave one audit trail: every change appends a row to
``alert_events`` (who, what, when, the state after it, a comment, details), and nothing here
updates or deletes one — the migration makes the database refuse it too.

Every change happens in a transaction (:meth:`AlertStore.transaction`), and the notices it
causes are written to the outbox (:mod:`store.sql.outbox`) in the same one::

    store = AlertStore(engine)
    with store.transaction(now) as alerts:          # one commit, or nothing at all
        alert = alerts.open(result)                 # pending, audited
        alerts.fire([alert.id])                     # firing; a grouped notice in the outbox
    zhang = Actor.of_enterprise("ent-hengtong-al", "zhang")
    store.acknowledge(alert.id, zhang, "Filter bag replaced at 10:40")  # its own transaction

At most one *live* alert exists per (rule, subject): open, or resolved within its flap
window. The code looks it up with its row locked; the unique ``open_key`` column makes the
database refuse a second one should two writers race.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from store.sql.alert_changes import AlertTransaction
from store.sql.alert_records import AlertEventRecord, AlertRecord, alert_record, event_record
from store.sql.alert_states import (
    Actor,
    AlertNotFoundError,
    AlertState,
    InvalidAlertInputError,
)
from store.sql.engine import session_factory
from store.sql.models import AlertEventRow, AlertRow


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AlertStore:
    """The alerts, their audit trail and their notices.

    Args:
        engine: see :func:`store.sql.create_engine_for`.
        clock: the time of people's actions when none is given; tests pass their own.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._sessions = session_factory(engine)
        self._clock = clock

    @contextmanager
    def transaction(self, now: datetime | None = None) -> Iterator[AlertTransaction]:
        """Changes at ``now`` (the clock's time by default), committed together at the end.

        An exception inside the block rolls every change back, notices included.

        Raises:
            InvalidAlertInputError: ``now`` is naive.
        """
        at = self._clock() if now is None else now
        if at.tzinfo is None:
            raise InvalidAlertInputError("now", "an aware datetime (UTC)")
        with self._sessions() as session:
            yield AlertTransaction(session, at.astimezone(UTC))
            session.commit()

    # --- reads ------------------------------------------------------------------------------

    def alert(self, alert_id: int) -> AlertRecord:
        """One alert.

        Raises:
            AlertNotFoundError: no alert with this id.
        """
        with self._sessions() as session:
            row = session.get(AlertRow, alert_id)
            if row is None:
                raise AlertNotFoundError(alert_id)
            return alert_record(row)

    def alerts(  # noqa: PLR0913 - keyword-only filters
        self,
        *,
        state: AlertState | None = None,
        live: bool | None = None,
        rule: str | None = None,
        subject: str | None = None,
        enterprise: str | None = None,
        site: str | None = None,
        limit: int = 1000,
    ) -> list[AlertRecord]:
        """Alerts, newest first, filtered; ``live``: open or resolved within the flap window."""
        query = select(AlertRow).order_by(AlertRow.id.desc()).limit(limit)
        for column, wanted in (
            (AlertRow.state, None if state is None else AlertState(state).value),
            (AlertRow.rule, rule),
            (AlertRow.subject, subject),
            (AlertRow.enterprise, enterprise),
            (AlertRow.site, site),
        ):
            if wanted is not None:
                query = query.where(column == wanted)
        if live is not None:
            query = query.where(
                AlertRow.open_key.is_not(None) if live else AlertRow.open_key.is_(None)
            )
        with self._sessions() as session:
            return [alert_record(row) for row in session.scalars(query)]

    def events(self, alert_id: int | None = None, *, limit: int = 10_000) -> list[AlertEventRecord]:
        """The audit trail, oldest first: of one alert, or of all."""
        query = select(AlertEventRow).order_by(AlertEventRow.id).limit(limit)
        if alert_id is not None:
            query = query.where(AlertEventRow.alert_id == alert_id)
        with self._sessions() as session:
            return [event_record(row) for row in session.scalars(query)]

    # --- what people do, each in a transaction of its own -----------------------------------

    def acknowledge(
        self, alert_id: int, actor: Actor, comment: str, *, now: datetime | None = None
    ) -> AlertRecord:
        """A pending or firing alert is seen, with a comment (what the enterprise is doing).

        The alert's enterprise or bureau staff may; see :meth:`AlertTransaction.acknowledge`.

        Raises:
            AlertNotFoundError, InvalidTransitionError, ForbiddenActionError,
            InvalidAlertInputError: as their names say (:mod:`store.sql.alert_states`).
        """
        with self.transaction(now) as alerts:
            return alerts.acknowledge(alert_id, actor, comment)

    def comment(
        self, alert_id: int, actor: Actor, comment: str, *, now: datetime | None = None
    ) -> AlertRecord:
        """A remark on the record, in any state, by the alert's enterprise or bureau staff."""
        with self.transaction(now) as alerts:
            return alerts.comment(alert_id, actor, comment)

    def assign(
        self,
        alert_id: int,
        actor: Actor,
        assignee: str | None,
        *,
        comment: str | None = None,
        now: datetime | None = None,
    ) -> AlertRecord:
        """Bureau staff give a not-closed alert to ``assignee``, or take it from everyone."""
        with self.transaction(now) as alerts:
            return alerts.assign(alert_id, actor, assignee, comment)

    def close(
        self,
        alert_id: int,
        actor: Actor,
        *,
        comment: str | None = None,
        now: datetime | None = None,
    ) -> AlertRecord:
        """Bureau staff finish an alert in any state but closed; it never reopens."""
        with self.transaction(now) as alerts:
            return alerts.close(alert_id, actor, comment)
