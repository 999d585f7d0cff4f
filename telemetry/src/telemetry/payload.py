"""Payload models of the messages on the topic tree, and their JSON encoding.

A telemetry batch on the wire (compact JSON, UTF-8)::

    {"schema": 1, "gateway": "gw-0001", "seq": 42,
     "readings": [{"device": "pm-1", "metric": "pm25", "value": 35.0,
                   "ts": 1764140000000, "quality": "N"}]}

``seq`` increases by one per batch and per gateway and is never reused; ``ts`` is UTC epoch
milliseconds taken at the source and kept all the way into InfluxDB, which makes a replayed batch
overwrite itself instead of adding points. Aggregated readings also carry ``min``, ``max`` and
``count``, ``valid`` (whether enough samples arrived in the interval for the aggregate to stand
for it) and ``interval_s`` (the interval's length; ``ts`` is its start, as HJ 212-2017 labels
minute and hourly data). A sample as read from a device has no ``interval_s``.

A reading may state its ``unit``; when it does, it must be the catalog's unit for its metric
(ingest refuses it otherwise), so a meter mapped in Wh instead of kWh is caught at the door
instead of being stored a thousand times too large. Gateways need not send it.

``time_unsynced: true`` flags a reading whose ``ts`` was taken while the gateway's clock was
not synchronised (the kernel reported it unsynchronised, or it was before 2000); an aggregate
carries it when any of its samples did. The flag is absent when the clock was synchronised or
its state unknown, so older messages stay valid.

The status topic carries a retained ``GatewayStatus``: ``online`` with the gateway's health
(uptime, spool, devices, clock; every health field optional) while the agent runs, and the last
will ``offline`` when it vanishes.

Decoding is strict: no type coercion, no NaN or infinity, no unknown fields, so a broken
gateway is noticed instead of silently reinterpreted.
"""

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from telemetry.errors import PayloadError
from telemetry.quality import Quality
from telemetry.topics import IDENTIFIER_PATTERN

SCHEMA_VERSION: Literal[1] = 1
MAX_PAYLOAD_BYTES = 1024 * 1024
MAX_READINGS_PER_BATCH = 10_000

# 2000-01-01 and 2100-01-01 in epoch ms: a timestamp outside is a unit error (seconds, µs), not a
# plausible reading time.
MIN_TS_MS = 946_684_800_000
MAX_TS_MS = 4_102_444_800_000

Identifier = Annotated[str, Field(pattern=f"^{IDENTIFIER_PATTERN}$")]
EpochMs = Annotated[int, Field(ge=MIN_TS_MS, lt=MAX_TS_MS)]
MetricId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class _Message(BaseModel):
    model_config = ConfigDict(
        strict=True, extra="forbid", frozen=True, allow_inf_nan=False, use_enum_values=False
    )


class Reading(_Message):
    """One value of one metric from one device, at one instant, with its quality flag."""

    device: Identifier
    metric: MetricId
    value: float
    ts: EpochMs
    quality: Quality = Quality.NORMAL
    min: float | None = None
    max: float | None = None
    count: Annotated[int, Field(ge=1)] | None = None
    valid: bool | None = None  # aggregates only: enough samples arrived in the interval
    # Aggregates over a clock interval only: its length; ``ts`` is the interval's start.
    interval_s: Annotated[float, Field(gt=0, le=86_400)] | None = None
    # ``ts`` was taken while the gateway's clock was not synchronised: not to be trusted blindly.
    time_unsynced: bool | None = None  # true or absent: ``false`` is refused, never ambiguous
    unit: Annotated[str, Field(min_length=1, max_length=32)] | None = None  # the catalog's, if sent

    @field_validator("time_unsynced")
    @classmethod
    def _flag_is_true_or_absent(cls, flag: bool | None) -> bool | None:  # noqa: FBT001 - pydantic passes it positionally
        if flag is False:
            raise ValueError("true or absent, never false")
        return flag

    @model_validator(mode="after")
    def _aggregate_is_consistent(self) -> Self:
        if self.min is not None and self.min > self.value:
            raise ValueError("min is greater than value")
        if self.max is not None and self.max < self.value:
            raise ValueError("max is less than value")
        return self


class TelemetryBatch(_Message):
    """A batch of readings published by one gateway under one sequence number."""

    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, alias="schema")
    gateway: Identifier
    seq: Annotated[int, Field(ge=0, lt=2**63)]
    readings: Annotated[list[Reading], Field(min_length=1, max_length=MAX_READINGS_PER_BATCH)]

    model_config = ConfigDict(populate_by_name=True)


class GatewayState(StrEnum):
    """Connection state announced on the status topic."""

    ONLINE = "online"
    OFFLINE = "offline"


class ClockSync(StrEnum):
    """Whether the gateway's clock was synchronised (by NTP or another time source)."""

    SYNCED = "synced"
    UNSYNCED = "unsynced"  # the kernel says so, or the clock is before 2000
    UNKNOWN = "unknown"  # the platform cannot tell (no ``adjtimex``)


Count = Annotated[int, Field(ge=0)]


class DeviceHealth(_Message):
    """One device's state and key counters in a health report."""

    state: str
    consecutive_failures: Count = 0
    read_timeouts: Count = 0
    bad_frames: Count = 0
    device_faults: Count = 0
    last_error: str | None = None


class SpoolHealth(_Message):
    """The gateway's disk spool: what waits for the platform's acknowledgement."""

    batches: Count
    readings: Count
    oldest_unacked_s: Annotated[float, Field(ge=0)] | None = None
    in_flight: Count = 0
    dropped_raw: Count = 0
    dropped_aggregate: Count = 0
    dropped_batches: Count = 0


class GatewayStatus(_Message):
    """Retained birth and health message (``online``) and last will (``offline``) of a gateway.

    The health fields (``uptime_s`` onwards) are optional: the birth message and the last will
    carry none, the periodic health report all it knows (``cpu_temp_c`` only where the board
    reports a temperature).
    """

    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, alias="schema")
    gateway: Identifier
    state: GatewayState
    ts: EpochMs | None = None  # absent in the last will, which is written before it is needed
    agent_version: str | None = None
    uptime_s: Annotated[float, Field(ge=0)] | None = None
    spool: SpoolHealth | None = None
    devices: dict[str, DeviceHealth] | None = None
    clock: ClockSync | None = None
    cpu_temp_c: float | None = None

    model_config = ConfigDict(populate_by_name=True)


class Ack(_Message):
    """The platform's durable watermark: every batch of ``gateway`` up to ``seq`` is stored."""

    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, alias="schema")
    gateway: Identifier
    seq: Annotated[int, Field(ge=0, lt=2**63)]
    ts: EpochMs

    model_config = ConfigDict(populate_by_name=True)


def encode(message: _Message) -> bytes:
    """Compact JSON of a message, with the wire field names."""
    return message.model_dump_json(by_alias=True, exclude_none=True).encode()


_M = TypeVar("_M", bound=_Message)


def _decode(model: type[_M], payload: bytes) -> _M:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(
            "too_large", [f"payload is {len(payload)} bytes, limit {MAX_PAYLOAD_BYTES}"]
        )
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        ]
        reason = (
            "invalid_json" if any(e["type"] == "json_invalid" for e in exc.errors()) else "schema"
        )
        raise PayloadError(reason, problems) from None


def decode_batch(payload: bytes) -> TelemetryBatch:
    """Decode a telemetry batch.

    Raises:
        PayloadError: with reason ``too_large``, ``invalid_json`` or ``schema``, and one problem
            line per offending field, e.g. ``readings.3.ts: Input should be greater than ...``.
    """
    return _decode(TelemetryBatch, payload)


class _Envelope(_Message):
    """A telemetry batch whose readings are not decoded yet."""

    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, alias="schema")
    gateway: Identifier
    seq: Annotated[int, Field(ge=0, lt=2**63)]
    readings: Annotated[list[Any], Field(min_length=1, max_length=MAX_READINGS_PER_BATCH)]

    model_config = ConfigDict(populate_by_name=True)


@dataclass(frozen=True, slots=True)
class RejectedReading:
    """One reading of a batch that does not decode: where it was, what it was, and why."""

    index: int  # its position in the batch's ``readings``
    raw: str  # the reading as compact JSON, as received
    reason: str  # a short stable code, like :attr:`PayloadError.reason`
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """A telemetry batch decoded reading by reading: the good ones, and the rejected ones."""

    gateway: str
    seq: int
    readings: list[Reading]
    rejected: list[RejectedReading]


def decode_batch_partial(payload: bytes) -> DecodedBatch:
    """Decode a telemetry batch, keeping every good reading when some readings are broken.

    A batch of valid readings decodes in one pass (the fast path). When readings fail, the
    envelope (schema, gateway, seq, a list of 1 to 10,000 readings) is decoded alone and each
    reading on its own, so one broken reading costs that reading only, never its batch.

    Raises:
        PayloadError: the envelope itself is broken (too large, not JSON, wrong schema).
    """
    try:
        batch = decode_batch(payload)
    except PayloadError as exc:
        if exc.reason != "schema":
            raise
    else:
        return DecodedBatch(batch.gateway, batch.seq, list(batch.readings), [])
    envelope = _decode(_Envelope, payload)
    readings: list[Reading] = []
    rejected: list[RejectedReading] = []
    for index, item in enumerate(envelope.readings):
        raw = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        try:
            readings.append(_decode(Reading, raw.encode()))
        except PayloadError as exc:
            rejected.append(RejectedReading(index, raw, exc.reason, exc.problems))
    return DecodedBatch(envelope.gateway, envelope.seq, readings, rejected)


def decode_status(payload: bytes) -> GatewayStatus:
    """Decode a gateway status message; raises :class:`PayloadError` like :func:`decode_batch`."""
    return _decode(GatewayStatus, payload)


def decode_ack(payload: bytes) -> Ack:
    """Decode an ack watermark; raises :class:`PayloadError` like :func:`decode_batch`."""
    return _decode(Ack, payload)
