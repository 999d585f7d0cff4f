"""The notification outbox: notices written with the change they tell of, delivered later.

The alert store writes a notice (:func:`write_notification`) in the same transaction as the
alert's change, and a delivery row for every contact that takes it (:mod:`store.sql.contacts`).
A crash before the commit leaves neither the change nor the notice; after it, both stand and
the channel workers deliver from here. That makes delivery *at least once*; the notice's
``idempotency_key`` (unique, fixed when the notice is written, sent with every attempt) lets
the receiver drop a copy it already has, so from its point of view a notice comes once.

Channel workers (MQTT, webhook, e-mail) use :class:`Outbox`::

    for delivery in outbox.claim(Channel.WEBHOOK, now=now, lease_s=60):
        try:
            post(delivery.target, delivery.payload, key=delivery.idempotency_key)
        except OSError as error:
            outbox.failed(delivery.id, str(error), now=now, retry_at=now + backoff(delivery))
        else:
            outbox.delivered(delivery.id, now=now)

:meth:`Outbox.claim` pushes the claimed rows' next attempt a lease ahead, so a worker that
dies mid-delivery leaves them to be claimed again when the lease ends; on PostgreSQL rows
locked by another worker are skipped. Backoff and the number of attempts before a delivery
is given up (``retry_at=None``: dead) are the channel's business.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from store.sql.alert_records import JsonObject, dumps
from store.sql.alert_states import AlertError, NoticeKind
from store.sql.contacts import Channel, recipients
from store.sql.engine import session_factory
from store.sql.models import (
    NotificationAlertRow,
    NotificationDeliveryRow,
    NotificationRow,
)

ERROR_LENGTH: Final = 2000


class DeliveryState(StrEnum):
    """Where one delivery stands."""

    PENDING = "pending"  # to be attempted at ``next_attempt_at``
    DELIVERED = "delivered"
    DEAD = "dead"  # given up; stays for the record


class DeliveryNotFoundError(AlertError):
    """No delivery with this id."""

    def __init__(self, delivery_id: int) -> None:
        self.delivery_id = delivery_id
        super().__init__(f"no delivery {delivery_id}")


@dataclass(frozen=True, slots=True)
class Notification:
    """A notice in the outbox, about one alert or a group of them."""

    id: int
    idempotency_key: str
    kind: NoticeKind
    audience: str  # an enterprise id, or ``bureau``
    site: str | None
    alert_ids: tuple[int, ...]
    payload: JsonObject
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notice on its way to one contact, with what a channel needs to send it."""

    id: int
    notification_id: int
    idempotency_key: str
    kind: NoticeKind
    contact_id: int
    channel: Channel
    target: str
    state: DeliveryState
    attempts: int  # claims so far
    next_attempt_at: datetime
    payload: JsonObject
    last_error: str | None = None
    delivered_at: datetime | None = None


def write_notification(  # noqa: PLR0913 - the facts of one notice, keyword-only
    session: Session,
    *,
    key: str,
    kind: NoticeKind,
    audience: str,
    site: str | None,
    alert_ids: Sequence[int],
    payload: JsonObject,
    now: datetime,
) -> Notification:
    """Add a notice and its deliveries to ``session``'s transaction; the caller commits."""
    row = NotificationRow(
        idempotency_key=key,
        kind=kind.value,
        audience=audience,
        site=site,
        payload=dumps(payload),
        created_at=now,
    )
    session.add(row)
    session.flush()  # the id, for the rows below
    session.add_all(NotificationAlertRow(notification_id=row.id, alert_id=a) for a in alert_ids)
    session.add_all(
        NotificationDeliveryRow(
            notification_id=row.id,
            contact_id=contact.id,
            channel=contact.channel,
            target=contact.target,
            state=DeliveryState.PENDING.value,
            attempts=0,
            next_attempt_at=now,
        )
        for contact in recipients(session, audience, kind)
    )
    return _notification(row, tuple(sorted(alert_ids)))


class Outbox:
    """What channel workers and the API read and update; every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def notifications(
        self, *, alert_id: int | None = None, audience: str | None = None, limit: int = 1000
    ) -> list[Notification]:
        """Notices, oldest first: all, those about one alert, or those of one audience."""
        query = select(NotificationRow).order_by(NotificationRow.id).limit(limit)
        if alert_id is not None:
            query = query.join(
                NotificationAlertRow, NotificationAlertRow.notification_id == NotificationRow.id
            ).where(NotificationAlertRow.alert_id == alert_id)
        if audience is not None:
            query = query.where(NotificationRow.audience == audience)
        with self._sessions() as session:
            rows = list(session.scalars(query))
            links = session.execute(
                select(NotificationAlertRow.notification_id, NotificationAlertRow.alert_id).where(
                    NotificationAlertRow.notification_id.in_([row.id for row in rows])
                )
            ).all()
        alerts: dict[int, list[int]] = {}
        for notification_id, linked in links:
            alerts.setdefault(notification_id, []).append(linked)
        return [_notification(row, tuple(sorted(alerts.get(row.id, [])))) for row in rows]

    def deliveries(
        self, *, notification_id: int | None = None, state: DeliveryState | None = None
    ) -> list[Delivery]:
        """Deliveries by id: of one notice, in one state, or all."""
        query = _DELIVERIES.order_by(NotificationDeliveryRow.id)
        if notification_id is not None:
            query = query.where(NotificationDeliveryRow.notification_id == notification_id)
        if state is not None:
            query = query.where(NotificationDeliveryRow.state == state.value)
        with self._sessions() as session:
            return [_delivery(delivery, notice) for delivery, notice in session.execute(query)]

    def claim(
        self, channel: Channel, *, now: datetime, lease_s: float = 60.0, limit: int = 100
    ) -> list[Delivery]:
        """Pending deliveries of ``channel`` due by ``now``, oldest first, leased to the caller.

        Each comes back with ``attempts`` counting this one; until ``now + lease_s`` no other
        claim returns it, and then it is due again unless marked delivered or failed.
        """
        query = (
            _DELIVERIES.where(
                NotificationDeliveryRow.channel == Channel(channel).value,
                NotificationDeliveryRow.state == DeliveryState.PENDING.value,
                NotificationDeliveryRow.next_attempt_at <= now,
            )
            .order_by(NotificationDeliveryRow.next_attempt_at, NotificationDeliveryRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=NotificationDeliveryRow)
        )
        with self._sessions() as session:
            claimed = list(session.execute(query))
            for delivery, _ in claimed:
                delivery.attempts += 1
                delivery.next_attempt_at = now + timedelta(seconds=lease_s)
            session.commit()
            return [_delivery(delivery, notice) for delivery, notice in claimed]

    def delivered(self, delivery_id: int, *, now: datetime) -> None:
        """The receiver has it (it acknowledged, or the server accepted the message).

        Raises:
            DeliveryNotFoundError: no delivery with this id.
        """
        with self._sessions() as session:
            row = session.get(NotificationDeliveryRow, delivery_id, with_for_update=True)
            if row is None:
                raise DeliveryNotFoundError(delivery_id)
            row.state = DeliveryState.DELIVERED.value
            row.delivered_at = now
            session.commit()

    def failed(
        self, delivery_id: int, error: str, *, now: datetime, retry_at: datetime | None
    ) -> None:
        """An attempt failed with ``error``: try again at ``retry_at``, or give up (``None``).

        Raises:
            DeliveryNotFoundError: no delivery with this id.
        """
        with self._sessions() as session:
            row = session.get(NotificationDeliveryRow, delivery_id, with_for_update=True)
            if row is None:
                raise DeliveryNotFoundError(delivery_id)
            if row.state != DeliveryState.PENDING.value:
                return  # delivered by an earlier attempt whose lease ran out meanwhile
            row.last_error = error[:ERROR_LENGTH]
            if retry_at is None:
                row.state = DeliveryState.DEAD.value
            row.next_attempt_at = retry_at or now
            session.commit()


_DELIVERIES: Final = select(NotificationDeliveryRow, NotificationRow).join(
    NotificationRow, NotificationRow.id == NotificationDeliveryRow.notification_id
)


def _notification(row: NotificationRow, alert_ids: tuple[int, ...]) -> Notification:
    return Notification(
        id=row.id,
        idempotency_key=row.idempotency_key,
        kind=NoticeKind(row.kind),
        audience=row.audience,
        site=row.site,
        alert_ids=alert_ids,
        payload=json.loads(row.payload),
        created_at=row.created_at,
    )


def _delivery(row: NotificationDeliveryRow, notice: NotificationRow) -> Delivery:
    return Delivery(
        id=row.id,
        notification_id=row.notification_id,
        idempotency_key=notice.idempotency_key,
        kind=NoticeKind(notice.kind),
        contact_id=row.contact_id,
        channel=Channel(row.channel),
        target=row.target,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        payload=json.loads(notice.payload),
        last_error=row.last_error,
        delivered_at=row.delivered_at,
    )
