"""Plantower PMS5003 / PMS7003 serial protocol (UART 9600 8N1), sans-IO.

Data frame, 32 bytes, big-endian 16-bit words (Lantian protocol reference, PMS5003 section)::

    offset  0-1    2-3     4-9                10-15                     16-27     28-29  30-31
            42 4D  00 1C   PM1 PM2.5 PM10     PM1 PM2.5 PM10            6 counts  resvd  sum
                           (CF=1)             (atmospheric)

``sum`` is the 16-bit sum of bytes 0..29. Ambient monitoring uses the atmospheric values; the
counts are particles per 0.1 L larger than 0.3, 0.5, 1.0, 2.5, 5 and 10 µm.

Host commands are ``42 4D CMD DATAH DATAL CKH CKL`` with the checksum over the first five bytes.
"""

import struct
from dataclasses import dataclass

START = b"\x42\x4d"
FRAME_LENGTH = 32
LENGTH_WORD = 28  # the frame's own length field: bytes after it, checksum included
_FRAME = struct.Struct(">2sH13HH")  # start, length, 12 measurement words, reserved, checksum
_HEADER = START + LENGTH_WORD.to_bytes(2, "big")


@dataclass(frozen=True, slots=True)
class Pms5003Frame:
    """One decoded data frame. Concentrations in µg/m³, counts per 0.1 L of air."""

    pm1_cf1: int
    pm25_cf1: int
    pm10_cf1: int
    pm1_atm: int
    pm25_atm: int
    pm10_atm: int
    pc_0_3: int
    pc_0_5: int
    pc_1_0: int
    pc_2_5: int
    pc_5_0: int
    pc_10: int
    reserved: int = 0


class FrameError(ValueError):
    """Bytes that are not a valid data frame.

    ``reason`` is ``length``, ``header`` or ``checksum``.
    """

    def __init__(self, reason: str, raw: bytes) -> None:
        self.reason = reason
        self.raw = raw
        super().__init__(f"{reason}: {raw.hex(' ')}")


def checksum(data: bytes) -> int:
    """The 16-bit sum of ``data``."""
    return sum(data) & 0xFFFF


def parse_frame(raw: bytes) -> Pms5003Frame:
    """Decode exactly one 32-byte data frame.

    Raises:
        FrameError: wrong size, wrong start bytes or length word, or a checksum mismatch.
    """
    if len(raw) != FRAME_LENGTH:
        raise FrameError("length", raw)
    if raw[:4] != _HEADER:
        raise FrameError("header", raw)
    _, _, *words, received = _FRAME.unpack(raw)
    if received != checksum(raw[:30]):
        raise FrameError("checksum", raw)
    return Pms5003Frame(*words)


class FrameDecoder:
    """Finds data frames in a serial byte stream and resynchronises after garbage.

    It never raises on bad input. A candidate frame is trusted only when its start bytes, length
    word and checksum all agree; otherwise one byte is dropped and the search resumes, so a good
    frame that begins inside a damaged one is still found.

    Attributes:
        frames: valid frames decoded.
        checksum_errors: candidates with a correct start and length word but a wrong checksum.
        garbage_bytes: bytes discarded because they were not part of a valid frame (the bytes of
            a frame with a checksum error are among them).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.frames = 0
        self.checksum_errors = 0
        self.garbage_bytes = 0

    @property
    def pending(self) -> int:
        """Bytes held back because they may be the beginning of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Pms5003Frame]:
        """Take the next bytes of the stream; return the frames they complete, in order."""
        self._buffer += data
        frames: list[Pms5003Frame] = []
        while True:
            start = self._buffer.find(START)
            if start < 0:
                # a trailing 0x42 may be the first half of the next start
                self._discard(len(self._buffer) - int(self._buffer.endswith(START[:1])))
                return frames
            self._discard(start)
            if len(self._buffer) < 4:
                return frames
            if self._buffer[2:4] != _HEADER[2:4]:
                self._discard(1)
                continue
            if len(self._buffer) < FRAME_LENGTH:
                return frames
            try:
                frame = parse_frame(bytes(self._buffer[:FRAME_LENGTH]))
            except FrameError:
                self.checksum_errors += 1  # start and length were checked above
                self._discard(1)
                continue
            del self._buffer[:FRAME_LENGTH]
            self.frames += 1
            frames.append(frame)

    def _discard(self, count: int) -> None:
        if count > 0:
            del self._buffer[:count]
            self.garbage_bytes += count


def _command(code: int, data: int) -> bytes:
    head = START + bytes((code, data >> 8, data & 0xFF))
    return head + checksum(head).to_bytes(2, "big")


def passive_mode() -> bytes:
    """Switch to passive mode: the sensor answers :func:`read_passive` only."""
    return _command(0xE1, 0)


def active_mode() -> bytes:
    """Switch to active mode (the power-on default): the sensor streams about a frame a second."""
    return _command(0xE1, 1)


def read_passive() -> bytes:
    """Ask a sensor in passive mode for one data frame."""
    return _command(0xE2, 0)


def sleep() -> bytes:
    """Stop the fan and all output until :func:`wake`."""
    return _command(0xE4, 0)


def wake() -> bytes:
    """Restart the fan; readings settle after about 30 s."""
    return _command(0xE4, 1)
