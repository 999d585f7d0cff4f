"""DL/T 645-2007, the Chinese multi-function electricity meter protocol (RS-485), sans-IO.

Frame (Lantian protocol reference, DL/T 645-2007 section)::

    [FE FE FE FE]  68  A0 A1 A2 A3 A4 A5  68  C  L  DATA (L bytes)  CS  16

- the ``FE`` preamble wakes the receivers up and is optional;
- the address is 12 BCD digits, lowest byte first: meter ``123456789012`` is ``12 90 78 56 34 12``;
  ``AA AA AA AA AA AA`` is the wildcard, which any meter answers (one meter per bus only);
- every DATA byte is sent +0x33 (mod 256) and received -0x33: :class:`Frame` holds it plain;
- CS is the sum of all bytes from the first ``68`` through DATA, mod 256.

Control codes: 0x11 read data, 0x91 its normal reply, 0xD1 its error reply (one error byte),
0x13 read address, 0x93 its reply (the address in DATA). A read request carries the 4-byte data
identifier (DI) lowest byte first; the reply carries the DI, then the value: the data items,
their BCD formats and the metric each becomes are in :mod:`edge.protocols.dlt645_items`.
"""

from dataclasses import dataclass
from enum import IntEnum, IntFlag

from edge.protocols.dlt645_items import DataIdentifier, ReplyError, hex_di

PREAMBLE = b"\xfe\xfe\xfe\xfe"
START = 0x68
END = 0x16
DATA_OFFSET = 0x33  # added to each DATA byte on the wire
WILDCARD = "AAAAAAAAAAAA"
ADDRESS_DIGITS = 12
HEADER_LENGTH = 10  # 68, six address bytes, 68, C, L
MIN_FRAME_LENGTH = HEADER_LENGTH + 2  # a frame without data: header, CS, 16
DI_LENGTH = 4


class Control(IntEnum):
    """The control codes Lantian speaks (protocol reference, DL/T 645-2007 section)."""

    READ = 0x11
    READ_REPLY = 0x91
    READ_ERROR = 0xD1
    READ_ADDRESS = 0x13
    READ_ADDRESS_REPLY = 0x93


class ErrorBits(IntFlag):
    """The error byte of an error reply, bit by bit.

    From the open-source 600888/dlt645 library, ``python/src/model/types/dlt645_type.py``
    (``ErrorCode``) (verify): a meter that has no such data item answers ``NO_DATA``.
    """

    OTHER = 0x01
    NO_DATA = 0x02
    UNAUTHORISED = 0x04  # password error
    BAUD_RATE_FIXED = 0x08
    YEAR_ZONES = 0x10
    DAY_PERIODS = 0x20
    TARIFFS = 0x40


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame, DATA without the +0x33: what the bytes mean, not how they travel."""

    address: str  # 12 characters, most significant digit first, as printed on the meter
    control: int
    data: bytes = b""


class FrameError(ValueError):
    """Bytes that are not one valid frame.

    ``reason`` is ``length``, ``start``, ``end``, ``checksum`` or ``address``.
    """

    def __init__(self, reason: str, raw: bytes) -> None:
        self.reason = reason
        self.raw = raw
        super().__init__(f"{reason}: {raw.hex(' ')}")


class ErrorReply(Exception):  # noqa: N818 - it is the meter's reply, not a failure of ours
    """The meter answered with an error reply; ``code`` is its error byte (:class:`ErrorBits`)."""

    def __init__(self, address: str, code: int | None) -> None:
        self.address = address
        self.code = code
        flags = ErrorBits(0 if code is None else code & 0x7F)
        why = (
            "no error byte"
            if code is None
            else f"error byte 0x{code:02X} ({flags.name or 'no known bit'})"
        )
        super().__init__(f"meter {address} answered with an error: {why}")


def checksum(data: bytes) -> int:
    """The sum of ``data`` mod 256."""
    return sum(data) & 0xFF


def encode_address(address: str) -> bytes:
    """The six address bytes of a 12-digit address (or :data:`WILDCARD`), lowest byte first.

    Raises:
        ValueError: not 12 decimal digits and not the wildcard.
    """
    if address != WILDCARD and not (len(address) == ADDRESS_DIGITS and address.isdecimal()):
        raise ValueError(f"a meter address is 12 decimal digits, not {address!r}")
    return bytes.fromhex(address)[::-1]


def decode_address(raw: bytes) -> str:
    """The printed form of six address bytes (``AA`` bytes come out as ``AA``)."""
    return raw[::-1].hex().upper()


def encode_frame(frame: Frame, *, preamble: bool = False) -> bytes:
    """The bytes of ``frame`` on the wire, with the ``FE`` preamble if asked."""
    if len(frame.data) > 0xFF:
        raise ValueError(f"DATA is at most 255 bytes, not {len(frame.data)}")
    body = (
        bytes((START,))
        + encode_address(frame.address)
        + bytes((START, frame.control, len(frame.data)))
        + bytes((b + DATA_OFFSET) & 0xFF for b in frame.data)
    )
    return (PREAMBLE if preamble else b"") + body + bytes((checksum(body), END))


def parse_frame(raw: bytes) -> Frame:
    """Decode exactly one frame, with or without a preamble of ``FE`` bytes.

    Raises:
        FrameError: a wrong size, start or end byte, checksum, or an address that is not BCD.
    """
    body = raw.lstrip(b"\xfe")
    if len(body) < MIN_FRAME_LENGTH or len(body) != MIN_FRAME_LENGTH + body[9]:
        raise FrameError("length", raw)
    if body[0] != START or body[7] != START:
        raise FrameError("start", raw)
    if body[-1] != END:
        raise FrameError("end", raw)
    if body[-2] != checksum(body[:-2]):
        raise FrameError("checksum", raw)
    address = decode_address(body[1:7])
    if address != WILDCARD and not address.isdecimal():
        raise FrameError("address", raw)
    data = bytes((b - DATA_OFFSET) & 0xFF for b in body[HEADER_LENGTH:-2])
    return Frame(address=address, control=body[8], data=data)


class FrameDecoder:
    """Finds frames in a serial byte stream and resynchronises after garbage.

    It never raises on bad input. A candidate is trusted only when both start bytes, its length,
    end byte and checksum agree; otherwise one byte is dropped and the search resumes, so a good
    frame that begins inside a damaged one is still found. Preamble bytes are not garbage.

    Attributes:
        frames: valid frames decoded.
        checksum_errors: candidates whose framing was right but whose checksum was wrong.
        garbage_bytes: bytes discarded because they were not part of a valid frame (the bytes of
            a frame with a checksum error are among them).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.frames = 0
        self.checksum_errors = 0
        self.garbage_bytes = 0

    def feed(self, data: bytes) -> list[Frame]:
        """Take the next bytes of the stream; return the frames they complete, in order."""
        self._buffer += data
        frames: list[Frame] = []
        while True:
            start = self._buffer.find(START)
            if start < 0:
                self._discard(len(self._buffer))
                return frames
            self._discard(start)
            if len(self._buffer) < HEADER_LENGTH:
                return frames
            if self._buffer[7] != START:
                self._discard(1)
                continue
            size = MIN_FRAME_LENGTH + self._buffer[9]
            if len(self._buffer) < size:
                # A false start (a 68 in garbage) may claim up to 255 bytes of data; a complete
                # frame already waiting behind it must not wait for them.
                later = self._later_frame()
                if later is None:
                    return frames
                self._discard(later)
                continue
            candidate = bytes(self._buffer[:size])
            try:
                frame = parse_frame(candidate)
            except FrameError as exc:
                if exc.reason == "checksum":
                    self.checksum_errors += 1
                self._discard(1)
                continue
            del self._buffer[:size]
            self.frames += 1
            frames.append(frame)

    def _later_frame(self) -> int | None:
        """Where the first complete candidate after the buffer's first byte starts.

        A complete candidate has both start bytes and its end byte where its length says; its
        checksum is left to :meth:`feed`, so that a damaged frame is still counted.
        """
        at = self._buffer.find(START, 1)
        while at >= 0 and len(self._buffer) - at >= HEADER_LENGTH:
            end = at + MIN_FRAME_LENGTH + self._buffer[at + 9] - 1
            if (
                self._buffer[at + 7] == START
                and end < len(self._buffer)
                and self._buffer[end] == END
            ):
                return at
            at = self._buffer.find(START, at + 1)
        return None

    def _discard(self, count: int) -> None:
        if count > 0:
            # a preamble is not garbage: count only the bytes that are not FE
            self.garbage_bytes += sum(1 for b in self._buffer[:count] if b != PREAMBLE[0])
            del self._buffer[:count]


def read_request(address: str, identifier: int, *, preamble: bool = False) -> bytes:
    """Ask the meter at ``address`` for the data item ``identifier`` (a DI)."""
    data = identifier.to_bytes(DI_LENGTH, "little")
    return encode_frame(Frame(address, Control.READ, data), preamble=preamble)


def read_address_request(*, preamble: bool = False) -> bytes:
    """Ask the (only) meter on the bus for its address, through the wildcard."""
    return encode_frame(Frame(WILDCARD, Control.READ_ADDRESS), preamble=preamble)


def parse_read_reply(frame: Frame, address: str, identifier: DataIdentifier) -> float:
    """The value in ``frame``, the reply of ``address`` to a read of ``identifier``.

    Raises:
        ErrorReply: the meter answered with an error (for example, it has no such data item).
        ReplyError: the frame is from another meter, or not the answer to that read.
    """
    if address not in {WILDCARD, frame.address}:
        raise ReplyError(f"reply from meter {frame.address}, expected {address}")
    if frame.control == Control.READ_ERROR:
        raise ErrorReply(frame.address, frame.data[0] if frame.data else None)
    if frame.control != Control.READ_REPLY:
        raise ReplyError(f"control 0x{frame.control:02X} in answer to a read")
    di = int.from_bytes(frame.data[:DI_LENGTH], "little")
    if len(frame.data) < DI_LENGTH or di != identifier.code:
        raise ReplyError(f"reply for DI {hex_di(di)}, expected {hex_di(identifier.code)}")
    return identifier.decode(frame.data[DI_LENGTH:])


def parse_address_reply(frame: Frame) -> str:
    """The address a meter reported in reply to :func:`read_address_request`.

    Raises:
        ReplyError: not a read-address reply, or the address in it is not 12 BCD digits.
    """
    if frame.control != Control.READ_ADDRESS_REPLY or len(frame.data) != ADDRESS_DIGITS // 2:
        raise ReplyError(f"not a read-address reply: control 0x{frame.control:02X}")
    address = decode_address(frame.data)
    if not address.isdecimal():
        raise ReplyError(f"address {address} is not BCD")
    return address
