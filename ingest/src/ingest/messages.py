"""One telemetry delivery, decoded: its lines of line protocol and its dead letters.

:func:`decode_delivery` is the per-message half of ingest's hot path. It never raises for bad
input: a message that cannot be read at all (not a telemetry topic, broken JSON, an envelope
that breaks the schema, a payload naming another gateway than its topic, an unknown gateway)
becomes one dead letter; a reading that breaks the schema or fails a check
(:mod:`ingest.validation`) becomes a dead letter of its own while the rest of the batch is
written. A message whose every reading was refused still counts as delivered: its seq is
recorded like any other, so the gateway's watermark moves on.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ingest.broker import Delivery
from ingest.validation import ReadingChecks
from store.errors import LineProtocolError
from store.readings import ReadingLines
from store.sql import DeadLetterRecord, Placement, UnknownGatewayError
from telemetry import (
    DecodedBatch,
    PayloadError,
    Reading,
    TopicError,
    TopicKind,
    decode_batch_partial,
    parse_topic,
)


@dataclass(slots=True)
class Message:
    """What ingest makes of one delivery."""

    delivery: Delivery
    seq: tuple[str, int] | None = None  # (gateway, seq); None when the message was unreadable
    lines: list[str] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)  # one per line, in order
    positions: list[int] = field(default_factory=list)  # each line's index in the batch
    letters: list[DeadLetterRecord] = field(default_factory=list)
    refused_reason: str | None = None  # set when the whole message was refused
    late: int = 0
    oldest_ms: int | None = None  # the accepted readings' time span
    newest_ms: int | None = None
    _raw: list[object] | None = None

    def raw_reading(self, position: int) -> bytes:
        """Reading ``position`` of the batch as it arrived (compact JSON)."""
        if self._raw is None:  # parsed again only for messages with a refused reading
            self._raw = json.loads(self.delivery.payload)["readings"]
        return json.dumps(self._raw[position], ensure_ascii=False, separators=(",", ":")).encode()

    def letter_for(self, index: int, reason: str, detail: str) -> DeadLetterRecord:
        """A dead letter for line ``index`` of this message (InfluxDB refused it)."""
        gateway, seq = self.seq or (None, None)
        return DeadLetterRecord(
            received_at=datetime.now(UTC),
            reason=reason,
            detail=detail,
            topic=self.delivery.topic,
            payload=self.raw_reading(self.positions[index]),
            gateway=gateway,
            seq=seq,
            reading_index=self.positions[index],
        )


def decode_delivery(
    delivery: Delivery,
    *,
    placement_of: Callable[[str], Placement],
    checks: ReadingChecks,
    lines: ReadingLines,
) -> Message:
    """Decode, check and encode one delivery (see the module docstring)."""
    message = Message(delivery)
    try:
        topic = parse_topic(delivery.topic)
        if topic.kind is not TopicKind.TELEMETRY:
            return _refused(message, "topic", f"not a telemetry topic: {delivery.topic}")
        batch = decode_batch_partial(delivery.payload)
    except TopicError as exc:
        return _refused(message, "topic", str(exc))
    except PayloadError as exc:
        return _refused(message, exc.reason, str(exc), gateway=_owner(delivery.topic))
    if batch.gateway != topic.owner:
        return _refused(
            message,
            "gateway_mismatch",
            f"topic names gateway {topic.owner!r}, payload {batch.gateway!r}",
            gateway=topic.owner,
        )
    try:
        placement = placement_of(batch.gateway)
    except UnknownGatewayError:
        return _refused(
            message,
            "unknown_gateway",
            f"gateway {batch.gateway!r} is not in the registry",
            gateway=batch.gateway,
        )
    message.seq = (batch.gateway, batch.seq)
    _add_readings(message, batch, placement, checks=checks, lines=lines)
    return message


def _add_readings(
    message: Message,
    batch: DecodedBatch,
    placement: Placement,
    *,
    checks: ReadingChecks,
    lines: ReadingLines,
) -> None:
    """Check and encode the readings of a readable batch; dead letters for the bad ones."""

    def letter(position: int, reason: str, detail: str, payload: bytes) -> DeadLetterRecord:
        return DeadLetterRecord(
            received_at=datetime.now(UTC),
            reason=reason,
            detail=detail,
            topic=message.delivery.topic,
            payload=payload,
            gateway=batch.gateway,
            seq=batch.seq,
            reading_index=position,
        )

    for rejected in batch.rejected:
        detail = "; ".join(rejected.problems)
        message.letters.append(
            letter(rejected.index, rejected.reason, detail, rejected.raw.encode())
        )
    # Positions of the decoded readings in the batch: only worked out when some were broken.
    positions = _positions(len(batch.readings), {r.index for r in batch.rejected})
    checked = checks.check(batch.readings, now_ms=int(time.time() * 1000))
    message.late = checked.late
    message.oldest_ms, message.newest_ms = checked.oldest_ms, checked.newest_ms
    if not batch.rejected and not checked.refused:
        try:  # the common case: every reading written, the batch's lines built in one call
            message.lines = lines.lines(placement, batch.readings)
        except LineProtocolError:
            pass  # a reading's series cannot be written: line by line below finds which
        else:
            message.readings = list(batch.readings)
            message.positions = list(range(len(batch.readings)))
            return
    refused = {refusal.position for refusal in checked.refused}
    for refusal in checked.refused:
        position = positions[refusal.position]
        message.letters.append(
            letter(position, refusal.reason, refusal.detail, message.raw_reading(position))
        )
    for i, reading in enumerate(batch.readings):
        if refused and i in refused:
            continue
        try:
            line = lines.line(placement, reading)
        except LineProtocolError as exc:
            raw = message.raw_reading(positions[i])
            message.letters.append(letter(positions[i], "unwritable", str(exc), raw))
            continue
        message.lines.append(line)
        message.readings.append(reading)
        message.positions.append(positions[i])


def _refused(message: Message, reason: str, detail: str, *, gateway: str | None = None) -> Message:
    message.refused_reason = reason
    message.letters.append(
        DeadLetterRecord(
            received_at=datetime.now(UTC),
            reason=reason,
            detail=detail,
            topic=message.delivery.topic,
            payload=message.delivery.payload,
            gateway=gateway,
        )
    )
    return message


def _owner(topic: str) -> str | None:
    try:
        return parse_topic(topic).owner
    except TopicError:
        return None


class _Identity:
    """``positions[i] == i``, without building a list: the common case of no broken reading."""

    def __getitem__(self, index: int) -> int:
        return index


def _positions(decoded: int, broken: set[int]) -> "list[int] | _Identity":
    if not broken:
        return _Identity()
    return [i for i in range(decoded + len(broken)) if i not in broken]
