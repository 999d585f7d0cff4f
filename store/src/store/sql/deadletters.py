"""Dead letters: what ingest refused, kept in the SQL store with the raw payload and the reason.

Nothing ingest rejects is silently dropped. A broken message is kept whole; a broken reading
of an otherwise good batch is kept alone (its JSON), with the batch's gateway, seq and the
reading's position, while the rest of the batch is written. Operators list them by reason or
gateway (the API's operations pages) and see exactly what arrived.

Recording is idempotent: each letter has a fingerprint (SHA-256 of topic, payload, position
and reason), so a message redelivered after a crash of ingest is not kept twice.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from store.sql.engine import session_factory
from store.sql.models import DeadLetter


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """One refused message or reading."""

    received_at: datetime
    reason: str  # a short stable code: ``invalid_json``, ``unknown_gateway``, ``out_of_range``...
    detail: str  # what exactly was wrong, for a person
    topic: str
    payload: bytes  # the message as received, or the one reading's JSON
    gateway: str | None = None  # None when the message names no gateway that could be read
    seq: int | None = None
    reading_index: int | None = None  # set when one reading of a batch was refused
    id: int | None = None  # assigned by the store

    @property
    def fingerprint(self) -> str:
        """What makes two records the same letter: topic, payload, position and reason."""
        digest = hashlib.sha256()
        for part in (self.topic.encode(), self.payload, str(self.reading_index).encode()):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        digest.update(self.reason.encode())
        return digest.hexdigest()


class DeadLetterStore:
    """The dead-letter table; every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def record(self, letters: Sequence[DeadLetterRecord]) -> int:
        """Keep ``letters``; returns how many were new (not kept before)."""
        fresh = {letter.fingerprint: letter for letter in letters}
        if not fresh:
            return 0
        with self._sessions() as session:
            known = set(
                session.scalars(
                    select(DeadLetter.fingerprint).where(DeadLetter.fingerprint.in_(fresh))
                )
            )
            rows = [_row(key, letter) for key, letter in fresh.items() if key not in known]
            session.add_all(rows)
            try:
                session.commit()
            except IntegrityError:  # another worker kept one of them meanwhile: one by one
                session.rollback()
                return self._record_one_by_one([(r.fingerprint, r) for r in rows])
        return len(rows)

    def letters(
        self,
        *,
        reason: str | None = None,
        gateway: str | None = None,
        limit: int = 100,
    ) -> list[DeadLetterRecord]:
        """The newest letters first, optionally of one reason and one gateway."""
        query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
        if reason is not None:
            query = query.where(DeadLetter.reason == reason)
        if gateway is not None:
            query = query.where(DeadLetter.gateway == gateway)
        with self._sessions() as session:
            return [_record(row) for row in session.scalars(query)]

    def page(  # noqa: PLR0913 - the filters of the operations pages, keyword-only
        self,
        *,
        reason: str | None = None,
        gateway: str | None = None,
        received_from: datetime | None = None,
        received_until: datetime | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[DeadLetterRecord]:
        """The newest letters first (by id), filtered; ``before`` continues a page by id.

        ``received_from`` is inclusive and ``received_until`` exclusive, both aware.
        """
        query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
        if reason is not None:
            query = query.where(DeadLetter.reason == reason)
        if gateway is not None:
            query = query.where(DeadLetter.gateway == gateway)
        if received_from is not None:
            query = query.where(DeadLetter.received_at >= received_from)
        if received_until is not None:
            query = query.where(DeadLetter.received_at < received_until)
        if before is not None:
            query = query.where(DeadLetter.id < before)
        with self._sessions() as session:
            return [_record(row) for row in session.scalars(query)]

    def letter(self, letter_id: int) -> DeadLetterRecord | None:
        """One letter by its id, or ``None``."""
        with self._sessions() as session:
            row = session.get(DeadLetter, letter_id)
            return None if row is None else _record(row)

    def counts(self) -> dict[str, int]:
        """How many letters are kept, by reason."""
        with self._sessions() as session:
            rows = session.execute(
                select(DeadLetter.reason, func.count()).group_by(DeadLetter.reason)
            )
            return dict(rows.all())

    def _record_one_by_one(self, rows: list[tuple[str, DeadLetter]]) -> int:
        added = 0
        for _, row in rows:
            with self._sessions() as session:
                session.add(_copy(row))
                try:
                    session.commit()
                    added += 1
                except IntegrityError:
                    session.rollback()
        return added


def _row(fingerprint: str, letter: DeadLetterRecord) -> DeadLetter:
    return DeadLetter(
        fingerprint=fingerprint,
        received_at=letter.received_at,
        reason=letter.reason,
        detail=letter.detail,
        topic=letter.topic,
        gateway=letter.gateway,
        seq=letter.seq,
        reading_index=letter.reading_index,
        payload=letter.payload,
    )


def _copy(row: DeadLetter) -> DeadLetter:
    return _row(row.fingerprint, _record(row))


def _record(row: DeadLetter) -> DeadLetterRecord:
    return DeadLetterRecord(
        received_at=row.received_at,
        reason=row.reason,
        detail=row.detail,
        topic=row.topic,
        payload=row.payload,
        gateway=row.gateway,
        seq=row.seq,
        reading_index=row.reading_index,
        id=row.id,
    )
