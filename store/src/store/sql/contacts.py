"""Contacts: where an enterprise, or the bureau's staff, want their alert notices.

An *audience* is an enterprise id or ``bureau``. Each contact names one channel and target —
MQTT (the enterprise's own topic ``lantian/v1/ent/{enterprise}/alerts``; the topic tree has
none for the bureau), a webhook URL, an e-mail address — and the notice kinds it takes, which
are the audience's channel preferences: an EHS manager may take every kind by e-mail while
the plant's control system takes only ``firing`` and ``resolved`` by webhook. When a notice
is written to the outbox, every enabled contact of its audience that takes its kind gets a
delivery row (:mod:`store.sql.outbox`) in the same transaction.

Contacts are disabled, never deleted: deliveries refer to them. A webhook contact carries the
secret its bodies are signed with (HMAC-SHA256), stored as given; docs/alerts.md says why.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.sql.alert_states import BUREAU, AlertError, NoticeKind
from store.sql.engine import session_factory
from store.sql.errors import NotFoundError, RecordKind
from store.sql.models import NAME_LENGTH, ContactRow, Enterprise
from telemetry import TopicError, topics

MIN_SECRET_LENGTH: Final = 16
TARGET_LENGTH: Final = 2000


class Channel(StrEnum):
    """How a notice travels."""

    MQTT = "mqtt"
    WEBHOOK = "webhook"
    EMAIL = "email"


class InvalidContactError(AlertError):
    """A contact refused before it reaches the database: ``field`` is not ``why``."""

    def __init__(self, audience: str, field: str, why: str) -> None:
        self.audience = audience
        self.field = field
        self.why = why
        super().__init__(f"contact of {audience!r}: {field}: {why}")


class ContactNotFoundError(AlertError):
    """No contact with this id."""

    def __init__(self, contact_id: int) -> None:
        self.contact_id = contact_id
        super().__init__(f"no contact {contact_id}")


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """One contact; ``secret`` is left out of its repr so it never lands in a log."""

    id: int
    audience: str
    name: str
    channel: Channel
    target: str
    kinds: frozenset[NoticeKind]
    enabled: bool
    created_at: datetime
    secret: str | None = field(default=None, repr=False)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Contacts:
    """The contacts table; every method is one transaction."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._sessions = session_factory(engine)
        self._clock = clock

    def add(  # noqa: PLR0913 - the facts of one contact, keyword-only
        self,
        audience: str,
        *,
        name: str,
        channel: Channel,
        target: str | None = None,
        secret: str | None = None,
        kinds: Iterable[NoticeKind] | None = None,
    ) -> ContactRecord:
        """Add a contact of ``audience`` (an enterprise id or ``bureau``).

        ``target`` is the URL or address; for MQTT leave it out (it is the enterprise's topic).
        ``kinds`` defaults to every notice kind.

        Raises:
            InvalidContactError: a blank name, a target that does not fit the channel, a
                webhook without a secret of 16 characters or more, a secret on another
                channel, no kinds, MQTT for the bureau, or the same target twice.
            NotFoundError: the enterprise is not in the registry.
        """
        taken = frozenset(NoticeKind) if kinds is None else frozenset(map(NoticeKind, kinds))
        checked = _checked_target(audience, Channel(channel), target)
        _check(audience, name, Channel(channel), secret, taken)
        try:
            with self._sessions() as session:
                if audience != BUREAU and session.get(Enterprise, audience) is None:
                    raise NotFoundError(RecordKind.ENTERPRISE, audience)
                row = ContactRow(
                    audience=audience,
                    name=name,
                    channel=Channel(channel).value,
                    target=checked,
                    secret=secret,
                    kinds=",".join(sorted(taken)),
                    enabled=True,
                    created_at=self._clock(),
                )
                session.add(row)
                session.commit()
                return contact_record(row)
        except IntegrityError as error:
            why = f"{checked!r} is a contact already"
            raise InvalidContactError(audience, "target", why) from error

    def set_enabled(self, contact_id: int, *, enabled: bool) -> ContactRecord:
        """Switch a contact on or off; off, it gets no new deliveries.

        Raises:
            ContactNotFoundError: no contact with this id.
        """
        with self._sessions() as session:
            row = session.get(ContactRow, contact_id)
            if row is None:
                raise ContactNotFoundError(contact_id)
            row.enabled = enabled
            session.commit()
            return contact_record(row)

    def rotate_secret(self, contact_id: int, secret: str) -> ContactRecord:
        """Sign a webhook contact's bodies with ``secret`` from its next delivery on.

        Raises:
            ContactNotFoundError: no contact with this id.
            InvalidContactError: not a webhook, or a secret shorter than 16 characters.
        """
        with self._sessions() as session:
            row = session.get(ContactRow, contact_id)
            if row is None:
                raise ContactNotFoundError(contact_id)
            _check(row.audience, row.name, Channel(row.channel), secret, frozenset(NoticeKind))
            row.secret = secret
            session.commit()
            return contact_record(row)

    def contact(self, contact_id: int) -> ContactRecord:
        """One contact, secret included (a webhook worker signs with it).

        Raises:
            ContactNotFoundError: no contact with this id.
        """
        with self._sessions() as session:
            row = session.get(ContactRow, contact_id)
            if row is None:
                raise ContactNotFoundError(contact_id)
            return contact_record(row)

    def contacts(self, audience: str | None = None) -> list[ContactRecord]:
        """The contacts of one audience, or of all, by audience and id."""
        query = select(ContactRow).order_by(ContactRow.audience, ContactRow.id)
        if audience is not None:
            query = query.where(ContactRow.audience == audience)
        with self._sessions() as session:
            return [contact_record(row) for row in session.scalars(query)]


def recipients(session: Session, audience: str, kind: NoticeKind) -> list[ContactRow]:
    """The enabled contacts of ``audience`` that take notices of ``kind``, by id."""
    rows = session.scalars(
        select(ContactRow)
        .where(ContactRow.audience == audience, ContactRow.enabled.is_(True))
        .order_by(ContactRow.id)
    )
    return [row for row in rows if kind.value in row.kinds.split(",")]


def contact_record(row: ContactRow) -> ContactRecord:
    """The record of ``row``."""
    return ContactRecord(
        id=row.id,
        audience=row.audience,
        name=row.name,
        channel=Channel(row.channel),
        target=row.target,
        kinds=frozenset(NoticeKind(kind) for kind in row.kinds.split(",")),
        enabled=row.enabled,
        created_at=row.created_at,
        secret=row.secret,
    )


def _checked_target(audience: str, channel: Channel, target: str | None) -> str:
    def refuse(why: str) -> InvalidContactError:
        return InvalidContactError(audience, "target", why)

    if channel is Channel.MQTT:
        return _mqtt_topic(audience, target)
    if target is None or not target.strip() or len(target) > TARGET_LENGTH:
        raise refuse(f"1 to {TARGET_LENGTH} characters")
    if any(character.isspace() for character in target):
        raise refuse(f"no spaces: {target!r}")
    if channel is Channel.WEBHOOK and not target.startswith(("https://", "http://")):
        raise refuse(f"an http(s) URL, not {target!r}")
    if channel is Channel.EMAIL:
        local, at, domain = target.rpartition("@")
        if not (local and at and "." in domain.strip(".")):
            raise refuse(f"an e-mail address, not {target!r}")
    return target


def _mqtt_topic(audience: str, target: str | None) -> str:
    if audience == BUREAU:
        raise InvalidContactError(audience, "channel", "the bureau has no MQTT alerts topic")
    try:
        topic = topics.alerts(audience)
    except TopicError as error:
        raise InvalidContactError(audience, "audience", "an enterprise id") from error
    if target not in (None, topic):
        why = f"an enterprise's MQTT notices go to {topic}, not {target!r}"
        raise InvalidContactError(audience, "target", why)
    return topic


def _check(
    audience: str, name: str, channel: Channel, secret: str | None, kinds: frozenset[NoticeKind]
) -> None:
    def refuse(field: str, why: str) -> InvalidContactError:
        return InvalidContactError(audience, field, why)

    if not name.strip() or len(name) > NAME_LENGTH:
        raise refuse("name", f"1 to {NAME_LENGTH} characters")
    if channel is Channel.WEBHOOK and (secret is None or len(secret) < MIN_SECRET_LENGTH):
        raise refuse("secret", f"a webhook signs with a secret of {MIN_SECRET_LENGTH}+ characters")
    if channel is not Channel.WEBHOOK and secret is not None:
        raise refuse("secret", f"only webhooks sign their bodies, not {channel}")
    if not kinds:
        raise refuse("kinds", "at least one notice kind")
