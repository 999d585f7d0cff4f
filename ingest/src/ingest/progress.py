"""Acknowledged delivery, ingest's side: dedup, gaps and the retained ack watermark.

Every gateway numbers its batches 1, 2, 3, ... and keeps each in its spool until the watermark W
ingest publishes covers it. The state lives in the SQL store (:class:`store.sql.DeliveryLedger`),
so N workers on a shared subscription compute the same W:

- The writer asks :meth:`DeliveryProgress.duplicates` before writing a batch: one whose seq is
  ≤ W or already stored is not written again, only counted and acknowledged.
- Once InfluxDB has accepted batches, :meth:`DeliveryProgress.stored` records their seqs, which
  raises W over every contiguous one.
- :meth:`DeliveryProgress.run` (a thread of its own) publishes a risen W retained on the
  gateway's ack topic, at most every ``ack_min_interval_s`` per gateway, and declares seqs still
  missing after ``gap_timeout_s`` lost, so W moves past them.

W is read back from the ledger just before publishing, so a worker never publishes a value
older than what the ledger held at that moment, whichever worker raised it.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from ingest.counters import IngestCounters
from store.sql import DeliveryLedger

log = logging.getLogger(__name__)

_TICK_S = 0.1
_MAX_EXPIRY_PERIOD_S = 5.0


def utc_now() -> datetime:
    """The wall clock, as the ledger wants it."""
    return datetime.now(UTC)


class DeliveryProgress:
    """The per-gateway watermark: recorded in SQL, published retained when it rises."""

    def __init__(  # noqa: PLR0913 - each collaborator is a separate port
        self,
        ledger: DeliveryLedger,
        *,
        publish: Callable[[str, int], bool],
        counters: IngestCounters,
        gap_timeout_s: float,
        ack_min_interval_s: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._ledger = ledger
        self._publish = publish
        self._counters = counters
        self._gap_timeout_s = gap_timeout_s
        self._ack_min_interval_s = ack_min_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._risen: set[str] = set()  # gateways whose W rose since it was last published
        self._published: dict[str, int] = {}
        self._published_at: dict[str, float] = {}  # time.monotonic()
        self._stopping = threading.Event()

    def duplicates(self, seqs: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
        """Which batches are stored already (or covered by W).

        Raises:
            SQLAlchemyError: the SQL store failed; the caller retries.
        """
        return self._ledger.duplicates(seqs)

    def stored(self, seqs: Iterable[tuple[str, int]]) -> set[tuple[str, int]]:
        """Record batches InfluxDB has accepted, all gateways in one transaction.

        A seq recorded meanwhile (by another worker, or a copy of the batch in an earlier
        batch of this one) is counted as a duplicate; those are returned.

        Raises:
            SQLAlchemyError: the SQL store failed; nothing was recorded, the caller retries.
        """
        by_gateway: dict[str, list[int]] = {}
        for gateway, seq in seqs:
            by_gateway.setdefault(gateway, []).append(seq)
        outcomes = self._ledger.record_stored_many(by_gateway, now=self._clock())
        copies: set[tuple[str, int]] = set()
        for gateway, outcome in outcomes.items():
            self._counters.duplicates.inc(len(outcome.duplicates))
            copies.update((gateway, seq) for seq in outcome.duplicates)
            self._rose(gateway, outcome.watermark)
        return copies

    def stop(self) -> None:
        """Ask :meth:`run` to publish what is due and return."""
        self._stopping.set()

    def run(self) -> None:
        """Publish risen watermarks and expire gaps until stopped."""
        expiry_period = min(self._gap_timeout_s / 2, _MAX_EXPIRY_PERIOD_S)
        next_expiry = time.monotonic()
        while True:
            stopping = self._stopping.is_set()
            try:
                if time.monotonic() >= next_expiry:
                    self._expire_gaps()
                    next_expiry = time.monotonic() + expiry_period
                self._publish_due(force=stopping)
            except SQLAlchemyError:
                log.exception("the SQL store failed; retrying")
            if stopping:
                return
            self._stopping.wait(_TICK_S)

    def _rose(self, gateway: str, watermark: int) -> None:
        with self._lock:
            if watermark > self._published.get(gateway, 0):
                self._risen.add(gateway)

    def _expire_gaps(self) -> None:
        for gateway in self._ledger.gateways_pending():
            gaps = self._ledger.expire_gaps(
                gateway, now=self._clock(), timeout_s=self._gap_timeout_s
            )
            for gap in gaps:
                log.warning(
                    "gateway %s: batches %d..%d did not arrive within %.0f s; recorded as a gap",
                    gateway,
                    gap.first_seq,
                    gap.last_seq,
                    self._gap_timeout_s,
                )
            if gaps:
                self._counters.gaps.inc(len(gaps))
                with self._lock:
                    self._risen.add(gateway)

    def _publish_due(self, *, force: bool) -> None:
        now = time.monotonic()
        with self._lock:
            # Taken out before W is read: a rise recorded meanwhile puts the gateway back.
            due = {
                gateway
                for gateway in self._risen
                if force
                or now - self._published_at.get(gateway, -self._ack_min_interval_s)
                >= self._ack_min_interval_s
            }
            self._risen -= due
        for gateway in sorted(due):
            watermark = self._ledger.watermark(gateway)
            if watermark <= self._published.get(gateway, 0):
                continue
            if not self._publish(gateway, watermark):
                with self._lock:
                    self._risen.add(gateway)  # not connected: tried again next tick
                continue
            self._counters.acks_published.inc()
            with self._lock:
                self._published[gateway] = watermark
                self._published_at[gateway] = now
