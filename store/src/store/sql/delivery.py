"""Delivery progress: which batches of each gateway are durably stored, and the watermark.

A gateway numbers its batches 1, 2, 3, ... and keeps each in its spool until the platform's
watermark W covers it: every seq ≤ W is stored in InfluxDB, or was declared lost (a gap). This
module keeps that state in the SQL store, so N ingest workers on a shared subscription compute
one watermark per gateway:

- ``delivery_progress``: W per gateway. Every update begins by locking this row (``SELECT ...
  FOR UPDATE`` on PostgreSQL; on SQLite by writing it, which takes the database's write lock):
  two workers take turns, and each sees what the other committed.
- ``delivery_stored``: stored seqs above W (pending, waiting for the seqs below them), and late
  batches that filled part of a gap (kept so a second copy of one is still a duplicate).
- ``delivery_gaps``: seq ranges that did not arrive within the gap timeout; W moved past them.

Times are passed in (``now``), so callers and tests decide what the clock says.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.sql.delivery_rows import LedgerChange, lock_rows, stored_rows
from store.sql.engine import session_factory
from store.sql.models import DeliveryGap, DeliveryProgress, DeliveryStored


@dataclass(frozen=True, slots=True)
class GapRecord:
    """Seqs ``first_seq``..``last_seq`` of ``gateway`` that did not arrive in time."""

    gateway: str
    first_seq: int
    last_seq: int
    detected_at: datetime
    filled: int
    filled_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    """What recording stored seqs did: the watermark after, and which seqs were duplicates."""

    watermark: int
    duplicates: tuple[int, ...]


class DeliveryLedger:
    """The per-gateway delivery progress in the SQL store; every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)
        self._known: set[str] = set()  # gateways whose progress row exists (rows stay)

    def watermark(self, gateway: str) -> int:
        """W of ``gateway``: 0 before anything of it was stored."""
        with self._sessions() as session:
            value = session.scalar(
                select(DeliveryProgress.watermark).where(DeliveryProgress.gateway == gateway)
            )
        return value or 0

    def pending(self, gateway: str) -> list[int]:
        """Stored seqs above W, waiting for the seqs below them, in order."""
        with self._sessions() as session:
            watermark = self._watermark(session, gateway)
            return list(
                session.scalars(
                    select(DeliveryStored.seq)
                    .where(DeliveryStored.gateway == gateway, DeliveryStored.seq > watermark)
                    .order_by(DeliveryStored.seq)
                )
            )

    def gaps(self, gateway: str) -> list[GapRecord]:
        """Every gap recorded for ``gateway``, lowest seqs first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(DeliveryGap)
                .where(DeliveryGap.gateway == gateway)
                .order_by(DeliveryGap.first_seq)
            )
            return [_gap_record(row) for row in rows]

    def gateways_pending(self) -> list[str]:
        """Gateways with stored seqs above their watermark (candidates for gap expiry)."""
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(DeliveryStored.gateway)
                    .join(DeliveryProgress, DeliveryProgress.gateway == DeliveryStored.gateway)
                    .where(DeliveryStored.seq > DeliveryProgress.watermark)
                    .distinct()
                    .order_by(DeliveryStored.gateway)
                )
            )

    def is_duplicate(self, gateway: str, seq: int) -> bool:
        """Whether batch ``seq`` is stored already (or ≤ W and not in an unfilled gap)."""
        return (gateway, seq) in self.duplicates([(gateway, seq)])

    def duplicates(self, seqs: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which of ``(gateway, seq)`` are stored already; two queries for any number."""
        by_gateway = _by_gateway(seqs)
        if not by_gateway:
            return set()
        with self._sessions() as session:
            rows = session.execute(
                select(DeliveryProgress.gateway, DeliveryProgress.watermark).where(
                    DeliveryProgress.gateway.in_(by_gateway)
                )
            )
            watermarks = dict(rows.all())
            stored = stored_rows(
                session, {gateway: (seqs[0], seqs[-1]) for gateway, seqs in by_gateway.items()}
            )
            return {
                (gateway, seq)
                for gateway, numbers in by_gateway.items()
                for seq in self._duplicates(
                    session, gateway, numbers, watermarks.get(gateway, 0), stored[gateway]
                )
            }

    def record_stored(self, gateway: str, seqs: Iterable[int], *, now: datetime) -> StoredOutcome:
        """Record ``seqs`` as stored in InfluxDB and raise W over every contiguous one.

        A seq inside a recorded gap fills it; one stored already is returned as a duplicate.
        """
        return self.record_stored_many({gateway: seqs}, now=now)[gateway]

    def record_stored_many(
        self, seqs: Mapping[str, Iterable[int]], *, now: datetime
    ) -> dict[str, StoredOutcome]:
        """:meth:`record_stored` for several gateways in one transaction (one commit).

        A handful of statements for any number of gateways: the rows are locked and read in one,
        the stored seqs from the lowest new one up read in one, and what changed written back in
        at most three (new pending seqs, rows W passed, the new watermarks).
        """
        wanted = {gateway: sorted(set(numbers)) for gateway, numbers in seqs.items()}
        gateways = sorted(wanted)
        outcomes: dict[str, StoredOutcome] = {}
        self._create_rows(gateways, now)
        with self._sessions() as session:
            watermarks = lock_rows(session, gateways, now)
            if len(watermarks) < len(gateways):  # a row gone since it was seen: look again
                self._known.clear()
                session.rollback()
                return self.record_stored_many(wanted, now=now)
            stored = stored_rows(
                session,
                {
                    gateway: (min(numbers[0], watermarks[gateway] + 1), None)
                    for gateway, numbers in wanted.items()
                    if numbers
                },
            )
            change = LedgerChange()
            for gateway in gateways:
                numbers, watermark = wanted[gateway], watermarks[gateway]
                have = stored.get(gateway, set())
                duplicates = self._duplicates(session, gateway, numbers, watermark, have)
                fresh = [seq for seq in numbers if seq not in duplicates]
                for seq in fresh:
                    if seq <= watermark:  # a late batch of a gap (rare)
                        session.add(DeliveryStored(gateway=gateway, seq=seq, stored_at=now))
                        session.flush()
                        self._fill(session, gateway, seq, now)
                waiting = {seq for seq in have if seq > watermark}
                risen = change.advance(gateway, watermark, waiting, fresh, now)
                outcomes[gateway] = StoredOutcome(risen, tuple(sorted(duplicates)))
            change.write(session)
            session.commit()
        return outcomes

    def expire_gaps(self, gateway: str, *, now: datetime, timeout_s: float) -> list[GapRecord]:
        """Declare missing seqs lost once stored seqs above them waited ``timeout_s``; move W.

        A missing run W+1..m-1 (m the lowest pending seq) has been missing since the earliest
        pending seq was stored; past the timeout it becomes a gap and W moves to m-1 and on.
        """
        limit = now - timedelta(seconds=timeout_s)
        found: list[GapRecord] = []
        self._create_rows([gateway], now)
        with self._sessions() as session:
            watermark = lock_rows(session, [gateway], now)[gateway]
            while True:
                oldest, lowest = session.execute(
                    select(func.min(DeliveryStored.stored_at), func.min(DeliveryStored.seq)).where(
                        DeliveryStored.gateway == gateway,
                        DeliveryStored.seq > watermark,
                    )
                ).one()
                if lowest is None or oldest > limit:
                    break
                gap = DeliveryGap(
                    gateway=gateway,
                    first_seq=watermark + 1,
                    last_seq=lowest - 1,
                    detected_at=now,
                    filled=0,
                    filled_at=None,
                )
                session.add(gap)
                waiting = stored_rows(session, {gateway: (lowest, None)})[gateway]
                change = LedgerChange()
                watermark = change.advance(gateway, lowest - 1, waiting, (), now)
                change.write(session)
                session.flush()
                found.append(_gap_record(gap))
            session.commit()
        return found

    def _create_rows(self, gateways: list[str], now: datetime) -> None:
        missing = [gateway for gateway in gateways if gateway not in self._known]
        if not missing:
            return
        with self._sessions() as session:
            known = set(
                session.scalars(
                    select(DeliveryProgress.gateway).where(DeliveryProgress.gateway.in_(missing))
                )
            )
        for gateway in missing:
            if gateway not in known:
                with self._sessions() as session:
                    session.add(DeliveryProgress(gateway=gateway, watermark=0, updated_at=now))
                    try:
                        session.commit()
                    except IntegrityError:
                        session.rollback()  # another worker created it first: fine
            self._known.add(gateway)

    @staticmethod
    def _watermark(session: Session, gateway: str) -> int:
        value = session.scalar(
            select(DeliveryProgress.watermark).where(DeliveryProgress.gateway == gateway)
        )
        return value or 0

    @staticmethod
    def _duplicates(
        session: Session, gateway: str, seqs: Sequence[int], watermark: int, stored: set[int]
    ) -> set[int]:
        """Which of ``seqs`` (sorted) are stored: recorded, or ≤ W outside an unfilled gap.

        ``stored``: the recorded seqs of ``gateway``, read over at least the range of ``seqs``.
        """
        found = {seq for seq in seqs if seq in stored}
        below = [seq for seq in seqs if seq <= watermark and seq not in found]
        if below:
            open_gaps = session.execute(
                select(DeliveryGap.first_seq, DeliveryGap.last_seq).where(
                    DeliveryGap.gateway == gateway,
                    DeliveryGap.first_seq <= max(below),
                    DeliveryGap.last_seq >= min(below),
                    DeliveryGap.filled_at.is_(None),
                )
            ).all()
            found.update(seq for seq in below if not any(lo <= seq <= hi for lo, hi in open_gaps))
        return found

    @staticmethod
    def _fill(session: Session, gateway: str, seq: int, now: datetime) -> None:
        gap = session.scalars(
            select(DeliveryGap).where(
                DeliveryGap.gateway == gateway,
                DeliveryGap.first_seq <= seq,
                DeliveryGap.last_seq >= seq,
            )
        ).one()
        gap.filled += 1
        if gap.filled == gap.last_seq - gap.first_seq + 1:
            gap.filled_at = now
            # Every seq of the range is in now; W covers them, so the rows are no longer needed.
            session.flush()
            session.execute(
                delete(DeliveryStored).where(
                    DeliveryStored.gateway == gateway,
                    DeliveryStored.seq.between(gap.first_seq, gap.last_seq),
                )
            )


def _by_gateway(seqs: Iterable[tuple[str, int]]) -> dict[str, list[int]]:
    grouped: dict[str, set[int]] = {}
    for gateway, seq in seqs:
        grouped.setdefault(gateway, set()).add(seq)
    return {gateway: sorted(numbers) for gateway, numbers in grouped.items()}


def _gap_record(row: DeliveryGap) -> GapRecord:
    return GapRecord(
        gateway=row.gateway,
        first_seq=row.first_seq,
        last_seq=row.last_seq,
        detected_at=row.detected_at,
        filled=row.filled,
        filled_at=row.filled_at,
    )
