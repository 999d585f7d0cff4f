"""The delivery ledger's statements over many gateways at once (:mod:`store.sql.delivery`).

Recording a batch of seqs touches every gateway in it; these read and write all of them in a
few statements, whatever their number, instead of a few statements per gateway.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from store.sql.models import DeliveryProgress, DeliveryStored


class LedgerChange:
    """What recording moves, gathered over gateways and written in three statements at most.

    New pending seqs, the rows W passed, the new watermarks.
    """

    def __init__(self) -> None:
        self.pending: list[dict[str, object]] = []
        self.passed: list[tuple[str, int, int]] = []  # (gateway, old W, new W)
        self.watermarks: list[dict[str, object]] = []

    def advance(
        self,
        gateway: str,
        watermark: int,
        waiting: set[int],
        stored: Iterable[int],
        now: datetime,
    ) -> int:
        """Move W from ``watermark`` over contiguous seqs; the new W.

        ``waiting``: the rows above ``watermark``; ``stored``: seqs new to the ledger, and those
        left above the new W become rows.

        The common case, a batch continuing right after W, adds no rows at all.
        """
        new = {seq for seq in stored if seq > watermark} - waiting
        risen = watermark
        while risen + 1 in waiting or risen + 1 in new:
            risen += 1
        self.pending.extend(
            {"gateway": gateway, "seq": seq, "stored_at": now} for seq in sorted(new) if seq > risen
        )
        if risen > watermark:
            self.watermarks.append({"gateway": gateway, "watermark": risen, "updated_at": now})
            if any(seq <= risen for seq in waiting):
                self.passed.append((gateway, watermark, risen))
        return risen

    def write(self, session: Session) -> None:
        """Write what :meth:`advance` gathered, in the session's transaction."""
        if self.pending:
            session.execute(insert(DeliveryStored), self.pending)
        if self.passed:
            # Only rows W passed now: late gap fills below the old W stay until their gap is full.
            session.execute(
                delete(DeliveryStored).where(
                    or_(
                        *(
                            and_(
                                DeliveryStored.gateway == gateway,
                                DeliveryStored.seq > old,
                                DeliveryStored.seq <= new,
                            )
                            for gateway, old, new in self.passed
                        )
                    )
                )
            )
        if self.watermarks:
            session.execute(update(DeliveryProgress), self.watermarks)  # by primary key


def lock_rows(session: Session, gateways: Sequence[str], now: datetime) -> dict[str, int]:
    """Lock the progress rows of ``gateways`` for the session's transaction; their W.

    SQLite has one lock, the database's: writing first takes it before anything is read, so
    no other writer can commit between this read and this transaction's writes. PostgreSQL
    locks rows, taken in the gateways' order, so two workers never deadlock.
    """
    chosen = DeliveryProgress.gateway.in_(gateways)
    query = select(DeliveryProgress.gateway, DeliveryProgress.watermark).where(chosen)
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(DeliveryProgress).where(chosen).values(updated_at=now))
    else:
        query = query.order_by(DeliveryProgress.gateway).with_for_update()
    return dict(session.execute(query).all())


def stored_rows(
    session: Session, bounds: Mapping[str, tuple[int, int | None]]
) -> dict[str, set[int]]:
    """The recorded seqs of each gateway from ``low`` to ``high`` (no end when None).

    One plain query: the table holds only seqs above W and late fills of open gaps, so a few
    rows per gateway, and they are picked out here rather than in a long SQL condition.
    """
    found: dict[str, set[int]] = {gateway: set() for gateway in bounds}
    if not bounds:
        return found
    lowest = min(low for low, _ in bounds.values())
    rows = session.execute(
        select(DeliveryStored.gateway, DeliveryStored.seq).where(
            DeliveryStored.gateway.in_(bounds), DeliveryStored.seq >= lowest
        )
    )
    for gateway, seq in rows:
        low, high = bounds[gateway]
        if seq >= low and (high is None or seq <= high):
            found[gateway].add(seq)
    return found
