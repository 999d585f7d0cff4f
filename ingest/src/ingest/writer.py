"""The batching writer: deliveries in, InfluxDB points out, acknowledgements last.

Deliveries are gathered until ``batch_max_readings`` readings or ``batch_max_delay_s`` after the
first one, whichever comes first, then written to InfluxDB in one request. Only when InfluxDB has
accepted the batch are its messages acknowledged to the broker. While InfluxDB is unavailable the
batch is retried with exponential backoff and nothing is acknowledged, so the broker keeps the
messages and applies back-pressure (receive maximum).

A message that can never be written (broken payload, unknown gateway, a topic that disagrees with
its payload, points InfluxDB refuses with a 4xx) is counted by reason, logged and acknowledged, so
it does not come back forever. When InfluxDB refuses a batch, its messages are written one by one
so that one bad message does not take the others with it.

Every batch carries its gateway's seq (:mod:`ingest.progress`): a batch whose seq is stored
already is a duplicate, counted and acknowledged without being written again. Once InfluxDB has
accepted a batch, its seqs are recorded in the SQL store before its messages are acknowledged,
so a crash in between brings a redelivery that is recognised as a duplicate.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.broker import Delivery
from ingest.counters import IngestCounters
from ingest.placements import PlacementCache
from ingest.progress import DeliveryProgress
from store.influx import InfluxStore, InfluxUnavailableError, InfluxWriteError, Point
from store.readings import reading_points
from store.sql import UnknownGatewayError
from telemetry import PayloadError, TopicError, TopicKind, decode_batch, parse_topic

log = logging.getLogger(__name__)

_BACKOFF_START_S = 0.5
_BACKOFF_MAX_S = 30.0


class RejectedMessageError(Exception):
    """A message that can never be written; ``reason`` is the counter label."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass
class _Batch:
    deliveries: list[Delivery] = field(default_factory=list)
    seqs: list[tuple[str, int]] = field(default_factory=list)  # (gateway, seq), per delivery
    points: list[Point] = field(default_factory=list)
    started_at: float | None = None


class BatchWriter:
    """Turns deliveries into InfluxDB writes and acknowledges them once written."""

    def __init__(  # noqa: PLR0913 - each collaborator is a separate port
        self,
        *,
        deliveries: "queue.Queue[Delivery]",
        influx: InfluxStore,
        placements: PlacementCache,
        progress: DeliveryProgress,
        ack: Callable[[Delivery], bool],
        counters: IngestCounters,
        max_readings: int,
        max_delay_s: float,
    ) -> None:
        self._deliveries = deliveries
        self._influx = influx
        self._placements = placements
        self._progress = progress
        self._ack = ack
        self._counters = counters
        self._max_readings = max_readings
        self._max_delay_s = max_delay_s
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Ask :meth:`run` to flush what it holds and return."""
        self._stopping.set()

    def run(self) -> None:
        """Write batches until stopped; on stop, flush what has arrived and return."""
        while not (self._stopping.is_set() and self._deliveries.empty()):
            batch = self._gather()
            if batch.deliveries:
                self._flush(batch)

    def _gather(self) -> _Batch:
        batch = _Batch()
        deadline: float | None = None
        while len(batch.points) < self._max_readings:
            # Short waits, so stop() flushes at once instead of after the batch timer.
            timeout = 0.1 if deadline is None else min(0.1, max(0.0, deadline - time.monotonic()))
            try:
                delivery = self._deliveries.get(timeout=timeout)
            except queue.Empty:
                if self._stopping.is_set() or (
                    deadline is not None and time.monotonic() >= deadline
                ):
                    break
                continue
            if deadline is None:
                batch.started_at = delivery.received_at
                deadline = time.monotonic() + self._max_delay_s
            self._add(batch, delivery)
            if deadline is not None and time.monotonic() >= deadline:
                break
        return batch

    def _add(self, batch: _Batch, delivery: Delivery) -> None:
        self._counters.messages_received.inc()
        try:
            seq, points = self._points_of(delivery)
        except RejectedMessageError as exc:
            self._counters.rejected.labels(reason=exc.reason).inc()
            log.warning("rejected message on %s: %s", delivery.topic, exc)
            self._ack(delivery)
            return
        if seq in batch.seqs or self._progress.is_duplicate(*seq):
            self._counters.duplicates.inc()
            log.info("duplicate batch %d of %s, not written again", seq[1], seq[0])
            self._ack(delivery)
            return
        self._counters.readings_received.inc(len(points))
        batch.deliveries.append(delivery)
        batch.seqs.append(seq)
        batch.points.extend(points)

    def _points_of(self, delivery: Delivery) -> tuple[tuple[str, int], list[Point]]:
        """The batch's (gateway, seq) and its points."""
        try:
            topic = parse_topic(delivery.topic)
            if topic.kind is not TopicKind.TELEMETRY:
                raise RejectedMessageError("topic", f"not a telemetry topic: {delivery.topic}")
            batch = decode_batch(delivery.payload)
        except TopicError as exc:
            raise RejectedMessageError("topic", str(exc)) from None
        except PayloadError as exc:
            raise RejectedMessageError(exc.reason, str(exc)) from None
        if batch.gateway != topic.owner:
            raise RejectedMessageError(
                "gateway_mismatch",
                f"topic names gateway {topic.owner!r}, payload {batch.gateway!r}",
            )
        try:
            placement = self._placements.placement(batch.gateway)
        except UnknownGatewayError:
            raise RejectedMessageError("unknown_gateway", batch.gateway) from None
        return (batch.gateway, batch.seq), list(reading_points(placement, batch.readings))

    def _flush(self, batch: _Batch) -> None:
        try:
            written = self._write_with_retry(batch.points)
        except InfluxWriteError as exc:
            log.warning("InfluxDB refused a batch of %d messages: %s", len(batch.deliveries), exc)
            self._flush_one_by_one(batch)
            return
        if not written:
            return
        self._counters.readings_written.inc(len(batch.points))
        if not self._progress.stored(batch.seqs):
            return  # not acknowledged: the broker redelivers and the batch is written again
        for delivery in batch.deliveries:
            self._ack(delivery)
        if batch.started_at is not None:
            self._counters.batch_seconds.observe(time.monotonic() - batch.started_at)

    def _flush_one_by_one(self, batch: _Batch) -> None:
        for delivery, seq in zip(batch.deliveries, batch.seqs, strict=True):
            _, points = self._points_of(delivery)
            try:
                written = self._write_with_retry(points)
            except InfluxWriteError as exc:
                self._counters.rejected.labels(reason="influx_rejected").inc()
                log.warning("InfluxDB refused the message on %s: %s", delivery.topic, exc)
                self._ack(delivery)
                continue
            if not written:
                return
            self._counters.readings_written.inc(len(points))
            if self._progress.stored([seq]):
                self._ack(delivery)

    def _write_with_retry(self, points: list[Point]) -> bool:
        """Write until InfluxDB accepts; False when stopped first (nothing is acknowledged)."""
        backoff = _BACKOFF_START_S
        while True:
            try:
                self._influx.write(points)
            except InfluxUnavailableError as exc:
                if self._stopping.is_set():
                    log.warning("InfluxDB unavailable at shutdown; broker keeps the batch: %s", exc)
                    return False
                self._counters.write_retries.inc()
                log.warning("InfluxDB unavailable, retrying in %.1f s: %s", backoff, exc)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
            else:
                return True
