"""Nova Fitness SDS011 serial protocol (UART 9600 8N1), sans-IO.

Sensor to host, 10 bytes (Lantian protocol reference, SDS011 section)::

    AA C0 PM25_L PM25_H PM10_L PM10_H ID1 ID2 CS AB     data frame, PM = (H*256 + L) / 10 µg/m³
    AA C5 CMD    D1     D2     D3     ID1 ID2 CS AB     reply to a command

``CS`` is the sum of bytes 2..7 mod 256. Host to sensor, 19 bytes: ``AA B4``, 13 data bytes, the
device id (``FF FF`` addresses every sensor on the line), ``CS`` = sum of those 15 bytes mod 256,
``AB``. The reply layout (``CMD`` echoes the command's first data byte, ``D1`` is 1 for "set" and
0 for "query", ``D2`` the value) is not in the reference: it follows the examples of Nova
Fitness's "Laser Dust Sensor Control Protocol V1.3", e.g. ``AA C5 06 01 00 00 A1 60 08 AB``,
the answer of sensor ``A1 60`` to a sleep command. A sensor always answers with its own id.
"""

from dataclasses import dataclass
from enum import IntEnum

HEAD = 0xAA
TAIL = 0xAB
DATA = 0xC0  # command byte of a data frame
REPLY = 0xC5  # command byte of a reply to a setting command
HOST = 0xB4  # command byte of every host command
FRAME_LENGTH = 10
COMMAND_LENGTH = 19
ALL_SENSORS = 0xFFFF  # device id FF FF: every sensor on the line answers
_FROM_SENSOR = (DATA, REPLY)


class Setting(IntEnum):
    """The first data byte of a host command: what it reads or sets (datasheet V1.3)."""

    REPORTING_MODE = 0x02  # value 0 active, 1 query
    QUERY_DATA = 0x04
    DEVICE_ID = 0x05
    SLEEP_WORK = 0x06  # value 0 sleep, 1 work
    FIRMWARE_VERSION = 0x07
    WORKING_PERIOD = 0x08


@dataclass(frozen=True, slots=True)
class Sds011Frame:
    """One data frame; concentrations in tenths of µg/m³ exactly as on the wire."""

    pm25_tenths: int
    pm10_tenths: int
    device_id: int

    @property
    def pm25(self) -> float:
        """PM2.5 in µg/m³."""
        return self.pm25_tenths / 10

    @property
    def pm10(self) -> float:
        """PM10 in µg/m³."""
        return self.pm10_tenths / 10


@dataclass(frozen=True, slots=True)
class CommandReply:
    """The sensor's answer to a setting command (header ``AA C5``).

    ``data`` are the three bytes after ``setting``: for the mode, sleep and period commands
    ``data[0]`` is 1 when the command set the value and 0 when it queried it, ``data[1]`` the value.
    """

    setting: int
    data: tuple[int, int, int]
    device_id: int


class FrameError(ValueError):
    """Bytes that are not a valid sensor frame.

    ``reason`` is ``length``, ``header``, ``tail`` or ``checksum``.
    """

    def __init__(self, reason: str, raw: bytes) -> None:
        self.reason = reason
        self.raw = raw
        super().__init__(f"{reason}: {raw.hex(' ')}")


def checksum(data: bytes) -> int:
    """The sum of ``data`` mod 256: of bytes 2..7 of a frame, of bytes 2..16 of a command."""
    return sum(data) & 0xFF


def parse_frame(raw: bytes) -> Sds011Frame | CommandReply:
    """Decode exactly one 10-byte frame from the sensor, a data frame or a command reply.

    Raises:
        FrameError: wrong size, head, command byte or tail, or a checksum mismatch.
    """
    if len(raw) != FRAME_LENGTH:
        raise FrameError("length", raw)
    if raw[0] != HEAD or raw[1] not in _FROM_SENSOR:
        raise FrameError("header", raw)
    if raw[9] != TAIL:
        raise FrameError("tail", raw)
    if raw[8] != checksum(raw[2:8]):
        raise FrameError("checksum", raw)
    device_id = int.from_bytes(raw[6:8], "big")
    if raw[1] == DATA:
        return Sds011Frame(
            pm25_tenths=int.from_bytes(raw[2:4], "little"),
            pm10_tenths=int.from_bytes(raw[4:6], "little"),
            device_id=device_id,
        )
    return CommandReply(setting=raw[2], data=(raw[3], raw[4], raw[5]), device_id=device_id)


class FrameDecoder:
    """Finds sensor frames in a serial byte stream and resynchronises after garbage.

    It never raises on bad input. A candidate is trusted only when its head, command byte, tail
    and checksum all agree; otherwise one byte is dropped and the search resumes, so a good frame
    that begins inside a damaged one is still found.

    Attributes:
        frames: valid data frames decoded.
        replies: valid command replies decoded.
        checksum_errors: candidates with a correct head, command byte and tail but a wrong checksum.
        garbage_bytes: bytes discarded because they were not part of a valid frame (the bytes of
            a frame with a checksum error are among them).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.frames = 0
        self.replies = 0
        self.checksum_errors = 0
        self.garbage_bytes = 0

    @property
    def pending(self) -> int:
        """Bytes held back because they may be the beginning of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Sds011Frame | CommandReply]:
        """Take the next bytes of the stream; return the frames they complete, in order."""
        self._buffer += data
        found: list[Sds011Frame | CommandReply] = []
        while True:
            start = self._buffer.find(HEAD)
            if start < 0:
                self._discard(len(self._buffer))
                return found
            self._discard(start)
            if len(self._buffer) < 2:
                return found
            if self._buffer[1] not in _FROM_SENSOR:
                self._discard(1)
                continue
            if len(self._buffer) < FRAME_LENGTH:
                return found
            try:
                frame = parse_frame(bytes(self._buffer[:FRAME_LENGTH]))
            except FrameError as exc:
                # a wrong tail means the head was a chance AA in the stream, not a damaged frame
                if exc.reason == "checksum":
                    self.checksum_errors += 1
                self._discard(1)
                continue
            del self._buffer[:FRAME_LENGTH]
            if isinstance(frame, Sds011Frame):
                self.frames += 1
            else:
                self.replies += 1
            found.append(frame)

    def _discard(self, count: int) -> None:
        if count > 0:
            del self._buffer[:count]
            self.garbage_bytes += count


def command(setting: Setting, data: bytes = b"", device_id: int = ALL_SENSORS) -> bytes:
    """The 19-byte host command ``setting`` with up to 12 further data bytes (zero-padded).

    Raises:
        ValueError: more than 12 data bytes, or a device id that does not fit in two bytes.
    """
    if len(data) > 12:
        raise ValueError(f"a command carries at most 12 data bytes after the setting, got {data!r}")
    if not 0 <= device_id <= ALL_SENSORS:
        raise ValueError(f"device id must be 0..0xFFFF, got {device_id:#x}")
    body = bytes((setting,)) + data.ljust(12, b"\x00") + device_id.to_bytes(2, "big")
    return bytes((HEAD, HOST)) + body + bytes((checksum(body), TAIL))


def query(device_id: int = ALL_SENSORS) -> bytes:
    """Ask for one data frame; a sensor in query mode answers with ``AA C0 ...``."""
    return command(Setting.QUERY_DATA, device_id=device_id)


def query_mode(device_id: int = ALL_SENSORS) -> bytes:
    """Set the reporting mode to query (passive): the sensor answers :func:`query` only."""
    return command(Setting.REPORTING_MODE, b"\x01\x01", device_id)


def active_mode(device_id: int = ALL_SENSORS) -> bytes:
    """Set the reporting mode to active: the sensor streams a data frame about every second."""
    return command(Setting.REPORTING_MODE, b"\x01\x00", device_id)


def sleep(device_id: int = ALL_SENSORS) -> bytes:
    """Stop the fan and the laser; the sensor sends nothing until :func:`wake`."""
    return command(Setting.SLEEP_WORK, b"\x01\x00", device_id)


def wake(device_id: int = ALL_SENSORS) -> bytes:
    """Restart the fan and the laser; readings settle after a warm-up."""
    return command(Setting.SLEEP_WORK, b"\x01\x01", device_id)
