"""The batching writer: deliveries in, InfluxDB lines out, acknowledgements last.

Deliveries are gathered until ``batch_max_readings`` readings or ``batch_max_delay_s`` after the
first one, whichever comes first, then written to InfluxDB in one request. Only when InfluxDB has
accepted the batch, its dead letters are kept and its seqs recorded in the SQL store, are its
messages acknowledged to the broker. While InfluxDB or the SQL store is unavailable the step is
retried with exponential backoff and nothing is acknowledged, so the broker keeps the messages
and applies back-pressure (receive maximum).

What can never be written is kept as a dead letter (:mod:`store.sql.deadletters`), counted by
reason and acknowledged, so it neither blocks the rest nor comes back forever: unreadable
messages and refused readings (:mod:`ingest.messages`), and lines InfluxDB refuses with a 4xx.
A refused request is narrowed down by halving until the bad lines are found; the good ones are
written (InfluxDB overwrites a point written twice, so halving never duplicates anything).

Every batch carries its gateway's seq (:mod:`ingest.progress`): a batch whose seq is stored
already is a duplicate, counted and acknowledged without being written again. A seq is
recorded as stored before its message is acknowledged, so a crash in between brings a
redelivery that is recognised as a duplicate.

Three stages (:mod:`ingest.pipeline`), one batch each at a time: gathering, decoding and looking
up duplicates; writing to InfluxDB; recording in the SQL store and acknowledging. A copy of a
batch that is still on its way through the later stages is not known as a duplicate yet: it is
written again (InfluxDB overwrites the same points), recognised when its seq is recorded, and
counted then as a duplicate instead of as written.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from ingest.broker import Delivery
from ingest.counters import IngestCounters
from ingest.messages import Message, decode_delivery
from ingest.pipeline import Stage, StoppedError
from ingest.progress import DeliveryProgress
from ingest.validation import ReadingChecks
from store.influx import InfluxAuthError, InfluxStore, InfluxUnavailableError, InfluxWriteError
from store.readings import ReadingLines
from store.sql import DeadLetterRecord, DeadLetterStore, PlacementCache

log = logging.getLogger(__name__)

_BACKOFF_START_S = 0.5
_BACKOFF_MAX_S = 30.0
# Readings younger than this are rolled up by the continuous queries (store.rollups.LATE_AFTER_MS
# is the exact bound, applied again by the rollups); only older ones need their spans noted.
_FRESH_MS = 60_000

_T = TypeVar("_T")

OnWritten = Callable[[str, int, int], None]  # (measurement, oldest ts, newest ts), epoch ms


@dataclass
class _Batch:
    messages: list[Message] = field(default_factory=list)
    lines: int = 0
    started_at: float | None = None
    fresh: list[Message] = field(default_factory=list)  # the messages not known as duplicates


@dataclass
class _Written:
    batch: _Batch
    letters: list[DeadLetterRecord]
    written: int


class BatchWriter:
    """Turns deliveries into InfluxDB writes and acknowledges them once written."""

    def __init__(  # noqa: PLR0913 - each collaborator is a separate port
        self,
        *,
        deliveries: "queue.Queue[Delivery]",
        influx: InfluxStore,
        placements: PlacementCache,
        progress: DeliveryProgress,
        dead_letters: DeadLetterStore,
        checks: ReadingChecks,
        ack: Callable[[Delivery], bool],
        counters: IngestCounters,
        max_readings: int,
        max_delay_s: float,
        on_written: OnWritten | None = None,
    ) -> None:
        self._deliveries = deliveries
        self._influx = influx
        self._placements = placements
        self._progress = progress
        self._dead_letters = dead_letters
        self._checks = checks
        self._ack = ack
        self._counters = counters
        self._max_readings = max_readings
        self._max_delay_s = max_delay_s
        self._on_written = on_written
        self._lines = ReadingLines()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Ask :meth:`run` to flush what it holds and return."""
        self._stopping.set()

    def run(self) -> None:
        """Write batches until stopped; on stop, flush what has arrived and return.

        This thread gathers, decodes and looks up duplicates; a stage writes to InfluxDB and
        another records and acknowledges (:mod:`ingest.pipeline`).
        """
        recording: Stage[_Written, None] = Stage("ingest-record", self._record)
        writing: Stage[_Batch, _Written] = Stage("ingest-write", self._write, recording)
        stages = (writing, recording)
        for stage in stages:
            stage.start()
        try:
            while not any(stage.done.is_set() for stage in stages) and not (
                self._stopping.is_set() and self._deliveries.empty()
            ):
                batch = self._gather()
                if batch.messages:
                    batch.fresh = self._without_duplicates(batch.messages)
                    writing.put(batch)
        except StoppedError:
            log.warning("stopped before a batch was stored; the broker keeps it")
        finally:
            writing.put(None)
            for stage in stages:
                stage.join()

    def _gather(self) -> _Batch:
        batch = _Batch()
        deadline: float | None = None
        while batch.lines < self._max_readings:
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
            message = decode_delivery(
                delivery,
                placement_of=self._placements.placement,
                checks=self._checks,
                lines=self._lines,
            )
            self._counters.messages_received.inc()
            batch.messages.append(message)
            batch.lines += len(message.lines)
            if time.monotonic() >= deadline:
                break
        return batch

    def _write(self, batch: _Batch) -> _Written:
        """Write the batch's fresh lines; what InfluxDB refused joins its dead letters."""
        lines = [line for message in batch.fresh for line in message.lines]
        refused = self._write_narrowing(lines)
        letters = [letter for message in batch.messages for letter in message.letters]
        if refused:
            owners = [(m, i) for m in batch.fresh for i in range(len(m.lines))]
            for index, detail in refused:
                message, line = owners[index]
                letters.append(message.letter_for(line, "influx_rejected", detail))
        return _Written(batch, letters, written=len(lines) - len(refused))

    def _record(self, done: _Written) -> None:
        """Keep the dead letters, record the seqs, then acknowledge and count."""
        if done.letters:
            self._retry("keep dead letters", lambda: self._dead_letters.record(done.letters))
        seqs = [message.seq for message in done.batch.fresh if message.seq is not None]
        copies: set[tuple[str, int]] = set()
        if seqs:
            copies = self._retry("record stored batches", lambda: self._progress.stored(seqs))
        fresh = [message for message in done.batch.fresh if message.seq not in copies]
        written = done.written
        for message in done.batch.fresh:
            if message.seq in copies:  # a copy of a batch recorded meanwhile: a duplicate
                self._ack(message.delivery)
                written -= len(message.lines)
        self._account(done.batch, fresh, done.letters, written=written)

    def _without_duplicates(self, messages: list[Message]) -> list[Message]:
        """The messages whose seq is not stored yet; the others are counted and acknowledged."""
        seqs = [m.seq for m in messages if m.seq is not None]
        stored = self._retry("look up duplicates", lambda: self._progress.duplicates(seqs))
        fresh: list[Message] = []
        seen: set[tuple[str, int]] = set()
        for message in messages:
            if message.seq is not None and (message.seq in stored or message.seq in seen):
                self._counters.duplicates.inc()
                gateway, seq = message.seq
                log.info("duplicate batch %d of %s, not written again", seq, gateway)
                self._ack(message.delivery)
                continue
            if message.seq is not None:
                seen.add(message.seq)
            fresh.append(message)
        return fresh

    def _account(
        self,
        batch: _Batch,
        fresh: list[Message],
        letters: list[DeadLetterRecord],
        *,
        written: int,
    ) -> None:
        """Acknowledge the stored batch and count what happened to it."""
        now = time.monotonic()
        now_ms = int(time.time() * 1000)
        for message in fresh:
            self._ack(message.delivery)
            self._counters.lag_seconds.observe(now - message.delivery.received_at)
            if message.newest_ms is not None:
                age_s = max(0.0, (now_ms - message.newest_ms) / 1000)
                self._counters.reading_age_seconds.observe(age_s)
            if message.refused_reason is not None:
                self._counters.rejected.labels(reason=message.refused_reason).inc()
                log.warning(
                    "refused the message on %s: %s",
                    message.delivery.topic,
                    message.letters[0].detail,
                )
            self._counters.late_readings.inc(message.late)
        for letter in letters:
            if letter.reading_index is not None:
                self._counters.readings_rejected.labels(reason=letter.reason).inc()
        self._counters.dead_letters.inc(len(letters))
        self._counters.readings_received.inc(
            sum(len(m.lines) for m in fresh)
            + sum(1 for letter in letters if letter.reading_index is not None)
        )
        self._counters.readings_written.inc(written)
        if batch.started_at is not None:
            self._counters.batch_seconds.observe(now - batch.started_at)
        if self._on_written is not None:
            self._note_written(fresh, now_ms)

    def _note_written(self, fresh: list[Message], now_ms: int) -> None:
        """Hand each metric's time span to the rollups; only late messages are looked into."""
        assert self._on_written is not None  # noqa: S101 - checked by the caller
        spans: dict[str, list[int]] = {}
        for message in fresh:
            if message.oldest_ms is None or message.oldest_ms >= now_ms - _FRESH_MS:
                continue  # the continuous queries still cover it
            for reading in message.readings:
                span = spans.get(reading.metric)
                if span is None:
                    spans[reading.metric] = [reading.ts, reading.ts]
                elif reading.ts < span[0]:
                    span[0] = reading.ts
                elif reading.ts > span[1]:
                    span[1] = reading.ts
        for measurement, (oldest, newest) in spans.items():
            self._on_written(measurement, oldest, newest)

    def _write_narrowing(self, lines: list[str]) -> list[tuple[int, str]]:
        """Write ``lines``; the indexes of the lines InfluxDB refused, with its reason."""
        if not lines:
            return []
        try:
            self._retry("write to InfluxDB", lambda: self._influx.write_lines(lines))
        except InfluxWriteError as exc:
            if len(lines) == 1:
                log.warning("InfluxDB refused a line: %s", exc)
                return [(0, str(exc))]
            half = len(lines) // 2
            head = self._write_narrowing(lines[:half])
            tail = self._write_narrowing(lines[half:])
            return head + [(index + half, detail) for index, detail in tail]
        return []

    def _retry(self, what: str, step: Callable[[], _T]) -> _T:
        """Run ``step`` until it succeeds; raises StoppedError when stopped first."""
        backoff = _BACKOFF_START_S
        while True:
            try:
                return step()
            except (InfluxUnavailableError, InfluxAuthError, SQLAlchemyError) as exc:
                if self._stopping.is_set():
                    raise StoppedError(what) from exc
                self._counters.write_retries.inc()
                log.warning("could not %s, retrying in %.1f s: %s", what, backoff, exc)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
