"""The Plantower PMS5003 byte protocol, as the sensor speaks it: data frames out, commands in.

Pure: no I/O. Written from the Lantian protocol reference (PMS5003 section), independently of the
edge agent's parser.

Data frame, 32 bytes, big-endian 16-bit words::

    42 4D | 00 1C | PM1 PM2.5 PM10 (CF=1) | PM1 PM2.5 PM10 (atmospheric) | 6 particle counts
          | reserved | checksum = 16-bit sum of bytes 0..29

Host command, 7 bytes: ``42 4D CMD DATAH DATAL CKH CKL``, checksum = sum of the first five bytes.
"""

import struct
from dataclasses import dataclass
from enum import Enum

FRAME_LENGTH = 32
COMMAND_LENGTH = 7
START = b"\x42\x4d"
_LENGTH_WORD = FRAME_LENGTH - 4  # bytes after the length word: 13 data words + checksum
_BODY = struct.Struct(">2sH13H")  # start, length, 12 measurement words + reserved
_WORD_MAX = 0xFFFF


@dataclass(frozen=True, slots=True)
class Measurement:
    """The twelve measurement words of one data frame, as integers exactly as on the wire.

    ``counts`` are particles per 0.1 L larger than 0.3, 0.5, 1.0, 2.5, 5 and 10 µm.
    """

    pm1_cf1: int
    pm25_cf1: int
    pm10_cf1: int
    pm1_atm: int
    pm25_atm: int
    pm10_atm: int
    counts: tuple[int, int, int, int, int, int]

    def words(self) -> tuple[int, ...]:
        """The measurement words in frame order."""
        return (
            self.pm1_cf1,
            self.pm25_cf1,
            self.pm10_cf1,
            self.pm1_atm,
            self.pm25_atm,
            self.pm10_atm,
            *self.counts,
        )


def checksum(data: bytes) -> int:
    """16-bit sum of ``data``, the checksum of both frames and commands."""
    return sum(data) & _WORD_MAX


def encode_frame(measurement: Measurement, reserved: int = 0) -> bytes:
    """The 32-byte data frame carrying ``measurement``.

    Raises:
        ValueError: a word does not fit in 16 bits.
    """
    words = (*measurement.words(), reserved)
    if any(not 0 <= w <= _WORD_MAX for w in words):
        raise ValueError(f"frame words must be 0..65535, got {words}")
    body = _BODY.pack(START, _LENGTH_WORD, *words)
    return body + checksum(body).to_bytes(2, "big")


class Command(Enum):
    """The host commands the sensor understands, valued by their (CMD, DATAL) bytes."""

    PASSIVE_MODE = (0xE1, 0x00)
    ACTIVE_MODE = (0xE1, 0x01)
    READ = (0xE2, 0x00)
    SLEEP = (0xE4, 0x00)
    WAKE = (0xE4, 0x01)


_COMMANDS = {c.value: c for c in Command}


class CommandError(ValueError):
    """Seven bytes that are not a command the sensor accepts."""

    def __init__(self, raw: bytes, why: str) -> None:
        self.raw = raw
        self.why = why
        super().__init__(f"{raw.hex(' ')}: {why}")


def encode_command(command: Command) -> bytes:
    """The 7 bytes a host sends for ``command`` (used by tests and by hosts written on top)."""
    code, low = command.value
    head = START + bytes((code, 0x00, low))
    return head + checksum(head).to_bytes(2, "big")


def parse_command(raw: bytes) -> Command:
    """Decode one 7-byte host command.

    Raises:
        CommandError: wrong length or start bytes, bad checksum, or an unknown command.
    """
    if len(raw) != COMMAND_LENGTH:
        raise CommandError(raw, f"a command is {COMMAND_LENGTH} bytes")
    if raw[:2] != START:
        raise CommandError(raw, "does not start with 42 4D")
    if int.from_bytes(raw[5:7], "big") != checksum(raw[:5]):
        raise CommandError(raw, "checksum mismatch")
    try:
        return _COMMANDS[raw[2], raw[4]]
    except KeyError:
        raise CommandError(raw, "unknown command") from None


class CommandScanner:
    """Finds host commands in a byte stream, skipping bytes that are not a valid command."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.rejected = 0  # candidate commands with the right start but a bad checksum or code

    def feed(self, data: bytes) -> list[Command]:
        """Append ``data`` and return every complete command found, in order."""
        self._buffer += data
        found: list[Command] = []
        while True:
            start = self._buffer.find(START)
            if start < 0:
                # keep a trailing 0x42: it may be the first half of the next start
                keep = self._buffer[-1:] == START[:1]
                del self._buffer[: len(self._buffer) - int(keep)]
                return found
            del self._buffer[:start]
            if len(self._buffer) < COMMAND_LENGTH:
                return found
            try:
                found.append(parse_command(bytes(self._buffer[:COMMAND_LENGTH])))
            except CommandError:
                self.rejected += 1
                del self._buffer[:1]
            else:
                del self._buffer[:COMMAND_LENGTH]
