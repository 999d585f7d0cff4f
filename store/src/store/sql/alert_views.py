"""Reading alerts and their audit trail the way people look at them: filtered, paged, live.

:class:`store.sql.AlertStore` owns every change; this module only reads, for the API's alert
list (many filters, newest first, a page at a time) and its live stream of audit events
(every row after the last one a client saw, joined to the alert so it can be filtered by
enterprise). Pages are keyed by id, not by offset, so alerts opened while someone reads
neither repeat nor skip a row::

    views = AlertViews(engine)
    page = views.page(AlertFilter(enterprise="ent-hengtong-al"), limit=50)
    more = views.page(AlertFilter(enterprise="ent-hengtong-al"), limit=50, before=page.next_before)
    views.events_after(last_seen_id, enterprise="ent-hengtong-al")
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, func, select

from store.sql.alert_records import AlertEventRecord, AlertRecord, alert_record, event_record
from store.sql.alert_states import AlertState
from store.sql.engine import session_factory
from store.sql.models import AlertEventRow, AlertRow


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """Which alerts to list; ``None`` leaves a field out. Times bound ``opened_at``."""

    state: AlertState | None = None
    severity: str | None = None
    enterprise: str | None = None
    park: str | None = None
    site: str | None = None
    rule: str | None = None
    opened_from: datetime | None = None  # inclusive
    opened_until: datetime | None = None  # exclusive

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses of this filter."""
        wanted: list[ColumnElement[bool]] = [
            column == value
            for column, value in (
                (AlertRow.state, None if self.state is None else AlertState(self.state).value),
                (AlertRow.severity, self.severity),
                (AlertRow.enterprise, self.enterprise),
                (AlertRow.park, self.park),
                (AlertRow.site, self.site),
                (AlertRow.rule, self.rule),
            )
            if value is not None
        ]
        if self.opened_from is not None:
            wanted.append(AlertRow.opened_at >= self.opened_from)
        if self.opened_until is not None:
            wanted.append(AlertRow.opened_at < self.opened_until)
        return wanted


@dataclass(frozen=True, slots=True)
class AlertPage:
    """Alerts newest first; ``next_before`` asks for the next page, ``None`` when none is left."""

    alerts: list[AlertRecord]
    next_before: int | None


@dataclass(frozen=True, slots=True)
class AlertEventView:
    """An audit row with where its alert stands: what a live stream sends."""

    event: AlertEventRecord
    rule: str
    subject: str
    severity: str
    enterprise: str | None
    site: str | None


class AlertViews:
    """Read-only queries over the alerts and their audit trail.

    Args:
        engine: see :func:`store.sql.create_engine_for`.
    """

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def page(self, where: AlertFilter, *, limit: int, before: int | None = None) -> AlertPage:
        """Up to ``limit`` alerts matching ``where``, newest first, with ids below ``before``."""
        query = select(AlertRow).where(*where.conditions()).order_by(AlertRow.id.desc())
        if before is not None:
            query = query.where(AlertRow.id < before)
        with self._sessions() as session:
            rows = list(session.scalars(query.limit(limit + 1)))
        alerts = [alert_record(row) for row in rows[:limit]]
        more = len(rows) > limit
        return AlertPage(alerts, alerts[-1].id if more else None)

    def last_event_id(self, *, enterprise: str | None = None) -> int:
        """The id of the newest audit row (of ``enterprise``'s alerts), 0 when there is none."""
        query = select(func.max(AlertEventRow.id))
        if enterprise is not None:
            query = query.join(AlertRow, AlertRow.id == AlertEventRow.alert_id).where(
                AlertRow.enterprise == enterprise
            )
        with self._sessions() as session:
            return session.scalar(query) or 0

    def events_after(
        self, after: int, *, enterprise: str | None = None, limit: int = 500
    ) -> list[AlertEventView]:
        """Audit rows with ids above ``after``, oldest first; only ``enterprise``'s if given."""
        query = (
            select(AlertEventRow, AlertRow)
            .join(AlertRow, AlertRow.id == AlertEventRow.alert_id)
            .where(AlertEventRow.id > after)
            .order_by(AlertEventRow.id)
            .limit(limit)
        )
        if enterprise is not None:
            query = query.where(AlertRow.enterprise == enterprise)
        with self._sessions() as session:
            return [
                AlertEventView(
                    event=event_record(event),
                    rule=alert.rule,
                    subject=alert.subject,
                    severity=alert.severity,
                    enterprise=alert.enterprise,
                    site=alert.site,
                )
                for event, alert in session.execute(query)
            ]
