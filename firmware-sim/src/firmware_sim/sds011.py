"""The Nova Fitness SDS011 byte protocol, as the sensor speaks it: frames out, commands in.

Pure: no I/O. Written from the Lantian protocol reference (SDS011 section) and, for what the
reference leaves out (the layout of replies, the firmware and device-id commands), from the
examples of Nova Fitness's "Laser Dust Sensor Control Protocol V1.3"; independently of the edge
agent's parser.

Sensor to host, 10 bytes; ``CS`` = sum of bytes 2..7 mod 256, PM in tenths of µg/m³, low byte
first::

    AA C0 PM25_L PM25_H PM10_L PM10_H ID1 ID2 CS AB     data frame
    AA C5 CMD    D1     D2     D3     ID1 ID2 CS AB     reply: CMD and D1..D3 as the datasheet shows

Host to sensor, 19 bytes: ``AA B4``, data bytes 1..13 (byte 1 names the command, byte 2 is 1 to
set and 0 to query, byte 3 the value), the device id (``FF FF``: every sensor), ``CS`` = sum of
the 15 bytes between ``B4`` and ``CS`` mod 256, ``AB``.
"""

from dataclasses import dataclass
from enum import IntEnum

HEAD = 0xAA
TAIL = 0xAB
DATA_FRAME = 0xC0
REPLY_FRAME = 0xC5
HOST_COMMAND = 0xB4
FRAME_LENGTH = 10
COMMAND_LENGTH = 19
BROADCAST = 0xFFFF  # the device id every sensor obeys
MAX_TENTHS = 9999  # 999.9 µg/m³, the top of the sensor's range
_START = bytes((HEAD, HOST_COMMAND))


class Kind(IntEnum):
    """Data byte 1 of a host command (datasheet V1.3)."""

    REPORTING_MODE = 0x02  # value 0: active, 1: query
    QUERY_DATA = 0x04
    SET_DEVICE_ID = 0x05  # new id in data bytes 12 and 13
    SLEEP_WORK = 0x06  # value 0: sleep, 1: work
    FIRMWARE_VERSION = 0x07
    WORKING_PERIOD = 0x08  # value: minutes between measurements, 0 continuous


@dataclass(frozen=True, slots=True)
class HostCommand:
    """One decoded host command."""

    kind: Kind
    data: bytes  # the 12 data bytes after the kind
    device_id: int

    @property
    def sets(self) -> bool:
        """Whether the command sets a value (data byte 2 is 1) rather than asking for it."""
        return self.data[0] == 1

    @property
    def value(self) -> int:
        """Data byte 3: the value a setting command sets."""
        return self.data[1]

    @property
    def new_device_id(self) -> int:
        """Data bytes 12 and 13 of a set-device-id command."""
        return int.from_bytes(self.data[10:12], "big")


class CommandError(ValueError):
    """Nineteen bytes that are not a command the sensor accepts."""

    def __init__(self, raw: bytes, why: str) -> None:
        self.raw = raw
        self.why = why
        super().__init__(f"{raw.hex(' ')}: {why}")


def checksum(data: bytes) -> int:
    """The sum of ``data`` mod 256."""
    return sum(data) % 256


def encode_data_frame(pm25_tenths: int, pm10_tenths: int, device_id: int) -> bytes:
    """The 10-byte data frame carrying PM2.5 and PM10 in tenths of µg/m³.

    Raises:
        ValueError: a value outside 0..65535.
    """
    if not all(0 <= v <= 0xFFFF for v in (pm25_tenths, pm10_tenths, device_id)):
        raise ValueError(f"values must be 0..65535, got {pm25_tenths}, {pm10_tenths}, {device_id}")
    body = (
        pm25_tenths.to_bytes(2, "little")
        + pm10_tenths.to_bytes(2, "little")
        + device_id.to_bytes(2, "big")
    )
    return bytes((HEAD, DATA_FRAME)) + body + bytes((checksum(body), TAIL))


def encode_reply(kind: Kind, data: tuple[int, int, int], device_id: int) -> bytes:
    """The 10-byte reply to a command of ``kind``, with three data bytes and the sensor's id."""
    body = bytes((kind, *data)) + device_id.to_bytes(2, "big")
    return bytes((HEAD, REPLY_FRAME)) + body + bytes((checksum(body), TAIL))


def encode_command(kind: Kind, data: bytes = b"", device_id: int = BROADCAST) -> bytes:
    """The 19 bytes a host sends (for tests, and for hosts written on top of the simulator)."""
    body = bytes((kind,)) + data.ljust(12, b"\x00") + device_id.to_bytes(2, "big")
    return _START + body + bytes((checksum(body), TAIL))


def parse_command(raw: bytes) -> HostCommand:
    """Decode one 19-byte host command.

    Raises:
        CommandError: wrong length, head or tail, bad checksum, or an unknown command.
    """
    if len(raw) != COMMAND_LENGTH:
        raise CommandError(raw, f"a command is {COMMAND_LENGTH} bytes")
    if raw[:2] != _START or raw[-1] != TAIL:
        raise CommandError(raw, "does not start with AA B4 and end with AB")
    if raw[17] != checksum(raw[2:17]):
        raise CommandError(raw, "checksum mismatch")
    try:
        kind = Kind(raw[2])
    except ValueError:
        raise CommandError(raw, "unknown command") from None
    return HostCommand(kind, bytes(raw[3:15]), int.from_bytes(raw[15:17], "big"))


class CommandScanner:
    """Finds host commands in a byte stream, skipping bytes that are not a valid command."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.rejected = 0  # candidates with the right start but a bad tail, checksum or command

    def feed(self, data: bytes) -> list[HostCommand]:
        """Append ``data`` and return every complete command found, in order."""
        self._buffer += data
        found: list[HostCommand] = []
        while True:
            start = self._buffer.find(_START)
            if start < 0:
                # keep a trailing AA: it may be the first half of the next start
                keep = self._buffer[-1:] == _START[:1]
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
