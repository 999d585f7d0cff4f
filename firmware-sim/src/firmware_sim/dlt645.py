"""The DL/T 645-2007 byte protocol as a meter speaks it: requests in, replies out.

Pure: no I/O. Written from the Lantian protocol reference (DL/T 645-2007 section), independently
of the edge agent's parser.

A frame is ``[FE FE FE FE] 68 A0..A5 68 C L DATA CS 16``: the address as 6 BCD bytes, lowest
first (meter 123456789012 is ``12 90 78 56 34 12``; ``AA``x6 is the wildcard); each DATA byte
+0x33 on the wire; CS the sum mod 256 of everything from the first ``68`` through DATA.

The meter understands read data (0x11, DATA = the 4-byte data identifier, lowest byte first) and
read address (0x13, to the wildcard). It answers 0x91 with the identifier and the value in BCD,
0xD1 with one error byte, 0x93 with its address.
"""

from dataclasses import dataclass
from enum import IntEnum

START = 0x68
END = 0x16
WAKE = 0xFE  # preamble byte
SCRAMBLE = 0x33
WILDCARD = b"\xaa" * 6
_HEADER = 10  # 68, address, 68, C, L
_FIXED = _HEADER + 2  # and CS, 16
_SIGN_BIT = 0x80


class Code(IntEnum):
    """Control codes: requests from the host and the meter's replies."""

    READ = 0x11
    READ_ADDRESS = 0x13
    READ_OK = 0x91
    READ_FAILED = 0xD1
    ADDRESS_OK = 0x93


ERROR_NO_DATA = 0x02  # error byte bit 1: the meter has no such data item (verify)
# Error byte bit 0, "other error": what a meter answers when it cannot serve a request it
# understands, e.g. while busy. The bit layout (bit 0 other, bit 1 no data, bit 2 password) is
# DL/T 645-2007's error status word as open-source meter tools decode it; the protocol reference
# gives only the 0xD1 control code (verify).
ERROR_OTHER = 0x01


@dataclass(frozen=True, slots=True)
class Request:
    """A request from the host: its address field as on the wire, code and unscrambled DATA."""

    address: bytes  # 6 bytes, lowest first
    code: int
    data: bytes

    @property
    def identifier(self) -> int | None:
        """The data identifier of a read request, if it carries one."""
        return int.from_bytes(self.data, "little") if len(self.data) == 4 else None


@dataclass(frozen=True, slots=True)
class ItemFormat:
    """How a data item's value travels: BCD bytes, decimals, and whether it carries a sign."""

    size: int
    decimals: int
    signed: bool = False


# The formats a meter uses for the items it answers. Energies: the protocol reference (4 BCD
# bytes, XXXXXX.XX kWh). The others are not in the reference; they follow the DI table of the
# open-source 600888/dlt645 library (go/config/variable_types.json) and the byte sizes and
# signs of chinawrj/esphome-component-dlt645 (dlt645.cpp) (verify).
ITEM_FORMATS: dict[int, ItemFormat] = {
    0x00000000: ItemFormat(4, 2),  # combined active energy, total, kWh
    0x00010000: ItemFormat(4, 2),  # forward active energy, total, kWh
    0x00020000: ItemFormat(4, 2),  # reverse active energy, total, kWh
    0x02010100: ItemFormat(2, 1),  # phase A voltage XXX.X V
    0x02020100: ItemFormat(3, 3, signed=True),  # phase A current XXX.XXX A
    0x02030000: ItemFormat(3, 4, signed=True),  # total active power XX.XXXX kW
    0x02060000: ItemFormat(2, 3, signed=True),  # total power factor X.XXX
    0x02800002: ItemFormat(2, 2),  # grid frequency XX.XX Hz
}


def address_field(address: str) -> bytes:
    """The 6 wire bytes of a 12-digit meter address.

    Raises:
        ValueError: not 12 decimal digits.
    """
    if len(address) != 12 or not address.isdecimal():
        raise ValueError(f"a meter address is 12 digits, got {address!r}")
    # digit pairs from the right: the lowest two digits are the first byte on the wire
    return bytes(int(address[i]) << 4 | int(address[i + 1]) for i in range(10, -1, -2))


def to_bcd(value: float, fmt: ItemFormat) -> bytes:
    """``value`` in the item's BCD format, lowest byte first.

    A meter never fails to show a number: an unsigned value past the format's last digit rolls
    over, as an energy register does at 999999.99 kWh (instantaneous values never get there),
    and a signed one saturates at the largest magnitude its top bit leaves room for.
    """
    units = round(abs(value) * 10**fmt.decimals)
    if fmt.signed:
        units = min(units, 8 * 10 ** (2 * fmt.size - 1) - 1)  # the top bit is the sign
    elif value < 0:
        units = 0
    else:
        units %= 10 ** (2 * fmt.size)
    out = bytearray()
    for _ in range(fmt.size):
        units, pair = divmod(units, 100)
        out.append(pair // 10 << 4 | pair % 10)
    if fmt.signed and value < 0 and any(out):
        out[-1] |= _SIGN_BIT
    return bytes(out)


def from_bcd(raw: bytes, fmt: ItemFormat) -> float:
    """The value of ``raw`` in the item's format (the inverse of :func:`to_bcd`, for records)."""
    negative = fmt.signed and bool(raw[-1] & _SIGN_BIT)
    units = 0
    for i, byte in enumerate(reversed(raw)):
        plain = byte & ~_SIGN_BIT if i == 0 and fmt.signed else byte
        units = units * 100 + (plain >> 4) * 10 + (plain & 0x0F)
    value = units / 10.0**fmt.decimals
    return -value if negative else value


def frame(address: bytes, code: int, data: bytes, *, preamble: bool = True) -> bytes:
    """A complete frame, DATA scrambled (+0x33), with the FE preamble if asked."""
    body = bytearray((START, *address, START, code, len(data)))
    body += bytes((b + SCRAMBLE) & 0xFF for b in data)
    body += bytes((sum(body) & 0xFF, END))
    return (bytes((WAKE,)) * 4 if preamble else b"") + bytes(body)


def read_reply(address: bytes, identifier: int, value: bytes, *, preamble: bool = True) -> bytes:
    """The normal reply to a read: the identifier, then the value bytes (BCD)."""
    return frame(address, Code.READ_OK, identifier.to_bytes(4, "little") + value, preamble=preamble)


def error_reply(address: bytes, error: int, *, preamble: bool = True) -> bytes:
    """The error reply to a read: one error byte."""
    return frame(address, Code.READ_FAILED, bytes((error,)), preamble=preamble)


def address_reply(address: bytes, *, preamble: bool = True) -> bytes:
    """The reply to read address: the meter's own address in DATA."""
    return frame(address, Code.ADDRESS_OK, address, preamble=preamble)


class RequestScanner:
    """Finds host requests in a byte stream, skipping anything that is not a valid frame."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self.rejected = 0  # frames with a correct layout but a wrong checksum

    def feed(self, data: bytes) -> list[Request]:
        """Append ``data`` and return every complete request found, in order."""
        self._pending += data
        found: list[Request] = []
        while True:
            at = self._pending.find(START)
            if at < 0:
                self._pending.clear()
                return found
            del self._pending[:at]
            if len(self._pending) < _HEADER:
                return found
            length = _FIXED + self._pending[9]
            if self._pending[7] != START:
                del self._pending[:1]
                continue
            if len(self._pending) < length:
                return found
            raw = bytes(self._pending[:length])
            if raw[-1] != END or raw[-2] != sum(raw[:-2]) & 0xFF:
                if raw[-1] == END:
                    self.rejected += 1
                del self._pending[:1]
                continue
            del self._pending[:length]
            data = bytes((b - SCRAMBLE) & 0xFF for b in raw[_HEADER:-2])
            found.append(Request(address=raw[1:7], code=raw[8], data=data))
