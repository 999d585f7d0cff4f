"""Modbus register maps, sans-IO: what to read, in as few requests as possible, how to decode it.

A :class:`RegisterPoint` says where one value lives (register type, 0-based PDU address), how it
is encoded (data type, byte order) and how to turn it into the catalog's unit
(``value * scale + offset``). :func:`plan_reads` groups the points of one slave into
:class:`ReadRequest` objects; :meth:`ReadRequest.decode` turns the registers (or bits) of the
answer into values.

Byte orders name the bytes of the value, most significant first, ``A`` being the most significant
(Lantian protocol reference, "Generic Modbus conventions"); each register carries two bytes::

    value 0x41424344   ABCD: 4142 4344   big endian (the Modbus convention; Eastron meters)
                       DCBA: 4443 4241   little endian: words reversed, bytes swapped in each
                       BADC: 4241 4443   words big endian, bytes swapped in each word
                       CDAB: 4344 4142   words little endian ("word swap"), bytes big endian

For 64-bit values the same two rules apply to four registers (as Telegraf's modbus input
generalises them): ``ABCD`` reads ``AB CD EF GH``, ``DCBA`` reads ``HG FE DC BA``, ``BADC``
reads ``BA DC FE HG`` and ``CDAB`` reads ``GH EF CD AB``. A 16-bit value has no word order, so
``ABCD``/``CDAB`` read ``AB`` and ``DCBA``/``BADC`` read ``BA``.

Request limits (Modbus Application Protocol Specification V1.1b3, §6.1-6.4): one read returns at
most 125 registers (FC03, FC04) or 2000 bits (FC01, FC02).
"""

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import groupby

ADDRESS_SPACE = 0x10000  # PDU addresses are 16-bit: 0..65535


class RegisterKind(StrEnum):
    """The four Modbus data tables."""

    COIL = "coil"
    DISCRETE = "discrete"
    HOLDING = "holding"
    INPUT = "input"

    @property
    def function_code(self) -> int:
        """The read function for this table."""
        return _KINDS[self].function_code

    @property
    def is_bit(self) -> bool:
        """Coils and discrete inputs hold single bits, not 16-bit registers."""
        return _KINDS[self].is_bit

    @property
    def max_count(self) -> int:
        """The most registers (or bits) one read may ask for."""
        return _KINDS[self].max_count


@dataclass(frozen=True, slots=True)
class _Kind:
    function_code: int
    is_bit: bool
    max_count: int


_KINDS = {
    RegisterKind.COIL: _Kind(0x01, is_bit=True, max_count=2000),
    RegisterKind.DISCRETE: _Kind(0x02, is_bit=True, max_count=2000),
    RegisterKind.HOLDING: _Kind(0x03, is_bit=False, max_count=125),
    RegisterKind.INPUT: _Kind(0x04, is_bit=False, max_count=125),
}


class DataType(StrEnum):
    """How a value is encoded in its registers; ``bool`` is one coil or discrete input (0/1)."""

    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"

    @property
    def width(self) -> int:
        """Registers the value occupies (1 bit for ``bool``)."""
        return _FORMATS[self].width


@dataclass(frozen=True, slots=True)
class _Format:
    width: int
    struct_code: str  # the value's big-endian struct format; empty for a bit


_FORMATS = {
    DataType.BOOL: _Format(1, ""),
    DataType.INT16: _Format(1, ">h"),
    DataType.UINT16: _Format(1, ">H"),
    DataType.INT32: _Format(2, ">i"),
    DataType.UINT32: _Format(2, ">I"),
    DataType.INT64: _Format(4, ">q"),
    DataType.UINT64: _Format(4, ">Q"),
    DataType.FLOAT32: _Format(2, ">f"),
    DataType.FLOAT64: _Format(4, ">d"),
}


class ByteOrder(StrEnum):
    """Where the value's bytes sit in its registers; see the module docstring."""

    ABCD = "ABCD"
    DCBA = "DCBA"
    BADC = "BADC"
    CDAB = "CDAB"

    @property
    def words_reversed(self) -> bool:
        """The least significant register comes first."""
        return self in {ByteOrder.DCBA, ByteOrder.CDAB}

    @property
    def bytes_swapped(self) -> bool:
        """Each register holds its two bytes least significant first."""
        return self in {ByteOrder.DCBA, ByteOrder.BADC}


class RegisterError(ValueError):
    """Registers that cannot be decoded as asked: wrong number, or a word outside 0..0xFFFF."""


def decode_value(words: Sequence[int], data_type: DataType, byte_order: ByteOrder) -> int | float:
    """Decode one value from exactly ``data_type.width`` registers (or one bit for ``bool``).

    Raises:
        RegisterError: the wrong number of words, or a word that is not 16-bit.
    """
    if len(words) != data_type.width:
        raise RegisterError(f"{data_type} needs {data_type.width} words, got {len(words)}")
    if data_type is DataType.BOOL:
        return int(bool(words[0]))
    if any(not 0 <= w <= 0xFFFF for w in words):
        raise RegisterError(f"not 16-bit registers: {list(words)}")
    ordered = reversed(words) if byte_order.words_reversed else words
    swap = byte_order.bytes_swapped
    raw = b"".join(w.to_bytes(2, "little" if swap else "big") for w in ordered)
    value: int | float = struct.unpack(_FORMATS[data_type].struct_code, raw)[0]
    return _shortest_float32(value) if data_type is DataType.FLOAT32 else value


def _shortest_float32(value: float) -> float:
    # A float32 holds 6-9 significant digits; widened to a double, 230.2 becomes 230.19999694...
    # The shortest decimal that packs to the same float32 is the value the device meant.
    if not math.isfinite(value):
        return value
    packed = struct.pack(">f", value)
    for digits in range(1, 10):  # 9 significant digits always round-trip a float32
        candidate = float(f"{value:.{digits}g}")
        if struct.pack(">f", candidate) == packed:
            return candidate
    return value  # pragma: no cover - unreachable by the bound above


@dataclass(frozen=True, slots=True)
class RegisterPoint:
    """One value of a slave: where it is, how it is encoded, and its catalog metric.

    ``address`` is the 0-based PDU address (an input register documented as 30001 is address 0).
    """

    metric: str
    kind: RegisterKind
    address: int
    data_type: DataType
    byte_order: ByteOrder = ByteOrder.ABCD
    scale: float = 1.0
    offset: float = 0.0

    def __post_init__(self) -> None:
        if self.kind.is_bit != (self.data_type is DataType.BOOL):
            raise ValueError(f"{self.kind} cannot hold a {self.data_type}")
        if not 0 <= self.address <= ADDRESS_SPACE - self.width:
            raise ValueError(f"{self.data_type} at {self.address} is outside 0..65535")

    @property
    def width(self) -> int:
        """Registers (or bits) the value occupies."""
        return self.data_type.width

    @property
    def end(self) -> int:
        """The address after the value's last register."""
        return self.address + self.width

    def value(self, words: Sequence[int]) -> float:
        """The value in the catalog's unit: decoded, then ``* scale + offset``.

        A scaled value is rounded to 15 significant digits, the precision of a double, so that
        1234.5 W at scale 0.001 is 1.2345 kW and not 1.2345000000000002.
        """
        value = float(decode_value(words, self.data_type, self.byte_order))
        if self.scale == 1 and self.offset == 0:
            return value
        scaled = value * self.scale + self.offset
        return float(f"{scaled:.15g}") if math.isfinite(scaled) else scaled


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One read of ``count`` registers (or bits) from ``address``, and the points it serves."""

    kind: RegisterKind
    address: int
    count: int
    points: tuple[RegisterPoint, ...]

    @property
    def function_code(self) -> int:
        """FC01..FC04."""
        return self.kind.function_code

    def decode(self, words: Sequence[int]) -> tuple[tuple[RegisterPoint, float], ...]:
        """The value of each point from the answer's registers (or bits), in point order.

        An answer with bits carries whole bytes, so up to seven padding bits may follow.

        Raises:
            RegisterError: the answer does not have the number of registers asked for.
        """
        padding = len(words) - self.count
        if padding < 0 or padding > (7 if self.kind.is_bit else 0):
            raise RegisterError(f"asked for {self.count} {self.kind} values, got {len(words)}")
        return tuple(
            (p, p.value(words[p.address - self.address : p.end - self.address]))
            for p in self.points
        )


def plan_reads(points: Iterable[RegisterPoint], *, max_gap: int = 0) -> tuple[ReadRequest, ...]:
    """The fewest reads that fetch every point of one slave, ordered by function and address.

    Points of the same register type are merged into one read while it stays within the
    protocol's limit (125 registers, 2000 bits). Overlapping and adjacent points are always
    merged; points ``max_gap`` or fewer registers apart are merged only when that saves a read,
    because reading the gap costs bus time and some devices refuse reads of unmapped addresses.
    Among plans with the fewest reads, the one reading the fewest registers wins.
    """
    requests: list[ReadRequest] = []
    by_kind = sorted(points, key=lambda p: (p.kind.function_code, p.address, p.end))
    for kind, group in groupby(by_kind, key=lambda p: p.kind):
        requests.extend(_plan_kind(kind, tuple(group), max_gap))
    return tuple(requests)


def _plan_kind(
    kind: RegisterKind, points: tuple[RegisterPoint, ...], max_gap: int
) -> list[ReadRequest]:
    # Points sorted by address; a read serves a consecutive run of them. best[i] is the cheapest
    # (reads, registers) plan for the first i points, where[i] the start of its last run.
    n = len(points)
    best: list[tuple[float, float]] = [(0, 0)] + [(math.inf, math.inf)] * n
    where = [0] * (n + 1)
    for first in range(n):
        start, end = points[first].address, points[first].address
        for last in range(first, n):
            point = points[last]
            if point.address - end > max_gap:
                break  # every longer run contains this gap too
            end = max(end, point.end)
            if end - start > kind.max_count:
                break
            cost = (best[first][0] + 1, best[first][1] + end - start)
            if cost <= best[last + 1]:  # on a tie the later start: earlier reads are fuller
                best[last + 1], where[last + 1] = cost, first
    runs: list[ReadRequest] = []
    last = n
    while last > 0:
        first = where[last]
        run = points[first:last]
        start = run[0].address
        runs.append(ReadRequest(kind, start, max(p.end for p in run) - start, run))
        last = first
    return runs[::-1]
