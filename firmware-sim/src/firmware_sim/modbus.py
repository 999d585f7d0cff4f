"""The Modbus protocol as a slave speaks it, over a serial line (RTU) and over TCP.

Pure: no I/O. Written from the Modbus Application Protocol Specification V1.1b3 (function codes,
limits, exception codes; "MB" below) and Modbus over Serial Line V1.02 (RTU framing and CRC; "SL"),
checked against the example frames of the Lantian protocol reference (Eastron section).

A PDU is a function code and its data. The slave serves::

    03 / 04  read holding / input registers   FC addr(2) count(2)          -> FC n values(n bytes)
    06       write single register            06 addr(2) value(2)          -> the request, echoed
    16       write multiple registers         10 addr(2) count(2) n values -> 10 addr(2) count(2)
    error    exception response                                            -> FC|80 code

RTU frame: slave address, PDU, CRC-16 (reflected polynomial 0xA001, initial value 0xFFFF) sent
low byte first (SL §2.5.1.2, §6.2.2). TCP frame: the MBAP header (transaction id, protocol id 0,
length of what follows it, unit id; MB §4.1) then the PDU.
"""

import struct
from dataclasses import dataclass
from enum import IntEnum

MAX_READ = 125  # registers in one FC03/FC04 request (MB §6.3, §6.4)
MAX_WRITE = 123  # registers in one FC16 request (MB §6.12)
MAX_PDU = 253  # bytes (MB §4.1): a 256-byte RTU frame less address and CRC
BROADCAST = 0  # RTU address every slave obeys without answering (SL §2.2)
EXCEPTION_FLAG = 0x80
_WORD = struct.Struct(">H")
_ADDRESS_COUNT = struct.Struct(">BHH")  # function, address, count (or value)
_MBAP = struct.Struct(">HHHB")  # transaction, protocol, length, unit
_TCP_PROTOCOL = 0
# Lengths of the requests of every public function code (MB §6), address and CRC included: fixed,
# or (offset of the byte count, length without the counted bytes).
_RTU_FIXED_LENGTH = (
    dict.fromkeys((0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08), 8)
    | dict.fromkeys((0x07, 0x0B, 0x0C, 0x11), 4)
    | {0x16: 10, 0x18: 6, 0x2B: 7}  # 0x2B: MEI 0E, read device identification
)
_RTU_COUNTED = {0x0F: (6, 9), 0x10: (6, 9), 0x14: (2, 5), 0x15: (2, 5), 0x17: (10, 13)}


class FunctionCode(IntEnum):
    """The function codes a simulated slave implements."""

    READ_HOLDING_REGISTERS = 0x03
    READ_INPUT_REGISTERS = 0x04
    WRITE_SINGLE_REGISTER = 0x06
    WRITE_MULTIPLE_REGISTERS = 0x10


class ExceptionCode(IntEnum):
    """Exception codes of MB §7."""

    ILLEGAL_FUNCTION = 0x01
    ILLEGAL_DATA_ADDRESS = 0x02
    ILLEGAL_DATA_VALUE = 0x03
    SLAVE_DEVICE_FAILURE = 0x04
    SLAVE_DEVICE_BUSY = 0x06
    GATEWAY_TARGET_FAILED = 0x0B  # a gateway's target device did not answer


class ModbusError(Exception):
    """A request the slave answers with an exception response carrying ``code``."""

    def __init__(self, code: ExceptionCode, why: str) -> None:
        self.code = code
        self.why = why
        super().__init__(f"exception {code:02X} ({code.name.lower()}): {why}")


@dataclass(frozen=True, slots=True)
class ReadRegisters:
    """FC03 or FC04: read ``count`` registers from ``address``."""

    function: FunctionCode
    address: int
    count: int


@dataclass(frozen=True, slots=True)
class WriteRegisters:
    """FC06 (one value) or FC16: write ``values`` from ``address`` on."""

    function: FunctionCode
    address: int
    values: tuple[int, ...]


Request = ReadRegisters | WriteRegisters


def parse_request(pdu: bytes) -> Request:
    """Decode a request PDU, checking it in the order of MB §6 (function, then value).

    Raises:
        ModbusError: ILLEGAL_FUNCTION for a function the slave does not implement,
            ILLEGAL_DATA_VALUE for a bad count, byte count or length.
    """
    if not pdu:
        raise ModbusError(ExceptionCode.ILLEGAL_FUNCTION, "empty PDU")
    try:
        function = FunctionCode(pdu[0])
    except ValueError:
        raise ModbusError(ExceptionCode.ILLEGAL_FUNCTION, f"function {pdu[0]:02X}") from None
    if function is FunctionCode.WRITE_MULTIPLE_REGISTERS:
        return _parse_write_multiple(pdu)
    if len(pdu) != _ADDRESS_COUNT.size:
        raise ModbusError(ExceptionCode.ILLEGAL_DATA_VALUE, f"{len(pdu)}-byte PDU for {function}")
    _, address, word = _ADDRESS_COUNT.unpack(pdu)
    if function is FunctionCode.WRITE_SINGLE_REGISTER:
        return WriteRegisters(function, address, (word,))
    if not 1 <= word <= MAX_READ:
        raise ModbusError(ExceptionCode.ILLEGAL_DATA_VALUE, f"count {word} not in 1..{MAX_READ}")
    return ReadRegisters(function, address, word)


def _parse_write_multiple(pdu: bytes) -> WriteRegisters:
    if len(pdu) < _ADDRESS_COUNT.size + 1:
        raise ModbusError(ExceptionCode.ILLEGAL_DATA_VALUE, "FC16 PDU too short")
    _, address, count = _ADDRESS_COUNT.unpack_from(pdu)
    byte_count = pdu[_ADDRESS_COUNT.size]
    data = pdu[_ADDRESS_COUNT.size + 1 :]
    if not 1 <= count <= MAX_WRITE or byte_count != 2 * count or len(data) != byte_count:
        raise ModbusError(
            ExceptionCode.ILLEGAL_DATA_VALUE,
            f"FC16 count {count}, byte count {byte_count}, {len(data)} data bytes",
        )
    return WriteRegisters(FunctionCode.WRITE_MULTIPLE_REGISTERS, address, _words(data))


def encode_read_response(function: FunctionCode, registers: tuple[int, ...]) -> bytes:
    """The reply PDU to FC03/FC04 carrying ``registers``."""
    data = b"".join(_WORD.pack(r) for r in registers)
    return bytes((function, len(data))) + data


def encode_write_response(request: WriteRegisters) -> bytes:
    """The reply PDU to FC06 (the request echoed) or FC16 (address and count)."""
    if request.function is FunctionCode.WRITE_SINGLE_REGISTER:
        return _ADDRESS_COUNT.pack(request.function, request.address, request.values[0])
    return _ADDRESS_COUNT.pack(request.function, request.address, len(request.values))


def encode_exception(function: int, code: ExceptionCode) -> bytes:
    """The exception reply PDU: the function code with its high bit set, then the code."""
    return bytes(((function | EXCEPTION_FLAG) & 0xFF, code))


def read_request(function: FunctionCode, address: int, count: int) -> bytes:
    """The request PDU a host sends to read registers (for tests and hosts built on this)."""
    return _ADDRESS_COUNT.pack(function, address, count)


def write_request(address: int, values: tuple[int, ...]) -> bytes:
    """The FC16 request PDU writing ``values`` from ``address`` on."""
    data = b"".join(_WORD.pack(v) for v in values)
    head = _ADDRESS_COUNT.pack(FunctionCode.WRITE_MULTIPLE_REGISTERS, address, len(values))
    return head + bytes((len(data),)) + data


def parse_read_response(pdu: bytes) -> tuple[int, ...]:
    """The registers of an FC03/FC04 reply PDU, as a host decodes it.

    Raises:
        ModbusError: the reply is an exception response (its code), or malformed
            (SLAVE_DEVICE_FAILURE, with the reason).
    """
    if len(pdu) == 2 and pdu[0] & EXCEPTION_FLAG:
        raise ModbusError(ExceptionCode(pdu[1]), f"exception reply to function {pdu[0] & 0x7F}")
    if len(pdu) < 2 or pdu[1] != len(pdu) - 2 or pdu[1] % 2:
        raise ModbusError(ExceptionCode.SLAVE_DEVICE_FAILURE, f"malformed reply {pdu.hex(' ')}")
    return _words(pdu[2:])


def _words(data: bytes) -> tuple[int, ...]:
    return tuple(w for (w,) in _WORD.iter_unpack(data))


# --- RTU ----------------------------------------------------------------------------------------


def crc16(data: bytes) -> int:
    """The Modbus CRC-16 of ``data`` (SL §6.2.2); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@dataclass(frozen=True, slots=True)
class RtuFrame:
    """One RTU frame whose CRC checked out: the slave address and the PDU."""

    address: int
    pdu: bytes


def encode_rtu(address: int, pdu: bytes) -> bytes:
    """The RTU frame carrying ``pdu`` to or from the slave at ``address``."""
    body = bytes((address,)) + pdu
    return body + crc16(body).to_bytes(2, "little")


class RtuRequestDecoder:
    """Finds request frames in the byte stream a slave hears, resynchronising after bad bytes.

    A real slave delimits frames by 3.5 character times of silence; a pty carries no timing, so
    the length of a request is taken from its function code (SL §2.5.1.1). A byte that cannot
    start a request of a public function code, or a candidate frame whose CRC is wrong, is
    skipped. The owner of the port calls :meth:`discard` after a silence, as the slave's t3.5
    timer would.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.rejected = 0  # bytes skipped: bad CRC, garbage, or a frame cut short by silence

    @property
    def pending(self) -> int:
        """Bytes waiting for the rest of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[RtuFrame]:
        """Append ``data`` and return every complete frame with a good CRC, in order."""
        self._buffer += data
        frames: list[RtuFrame] = []
        while len(self._buffer) >= 2:  # address and function
            length = self._candidate_length()
            if length is None:
                return frames
            if length:
                frame = bytes(self._buffer[:length])
                del self._buffer[:length]
                frames.append(RtuFrame(frame[0], frame[1:-2]))
            else:
                self.rejected += 1
                del self._buffer[:1]
        return frames

    def discard(self) -> int:
        """Drop an incomplete frame (the line went silent in the middle of it); bytes dropped."""
        dropped = len(self._buffer)
        self.rejected += dropped
        self._buffer.clear()
        return dropped

    def _candidate_length(self) -> int | None:
        """Length of the frame at the buffer's start; 0 if none starts there, None if unsure yet."""
        buffer = self._buffer
        function = buffer[1]
        if function in _RTU_FIXED_LENGTH:
            length = _RTU_FIXED_LENGTH[function]
        elif function in _RTU_COUNTED:
            offset, overhead = _RTU_COUNTED[function]
            if len(buffer) <= offset:
                return None
            length = overhead + buffer[offset]
        else:
            return 0
        if len(buffer) < length:
            return None
        return length if _crc_ok(buffer[:length]) else 0


def _crc_ok(frame: bytes | bytearray) -> bool:
    return crc16(bytes(frame[:-2])) == int.from_bytes(frame[-2:], "little")


# --- TCP ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TcpFrame:
    """One Modbus TCP frame: the MBAP transaction and unit ids and the PDU."""

    transaction: int
    unit: int
    pdu: bytes


class MbapError(ValueError):
    """A header no Modbus TCP peer sends: the connection cannot be resynchronised."""

    def __init__(self, header: bytes, why: str) -> None:
        self.header = header
        self.why = why
        super().__init__(f"{header.hex(' ')}: {why}")


def encode_tcp(transaction: int, unit: int, pdu: bytes) -> bytes:
    """The Modbus TCP frame carrying ``pdu``; the length field counts the unit id and the PDU."""
    return _MBAP.pack(transaction, _TCP_PROTOCOL, len(pdu) + 1, unit) + pdu


class MbapDecoder:
    """Splits the byte stream of one TCP connection into frames."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[TcpFrame]:
        """Append ``data`` and return every complete frame, in order.

        Raises:
            MbapError: a protocol id other than 0 or a length outside 2..254; TCP has no way to
                find the next frame after that, so the caller closes the connection.
        """
        self._buffer += data
        frames: list[TcpFrame] = []
        while len(self._buffer) >= _MBAP.size:
            transaction, protocol, length, unit = _MBAP.unpack_from(self._buffer)
            header = bytes(self._buffer[: _MBAP.size])
            if protocol != _TCP_PROTOCOL:
                raise MbapError(header, f"protocol id {protocol}, not 0")
            if not 2 <= length <= MAX_PDU + 1:
                raise MbapError(header, f"length {length} not in 2..{MAX_PDU + 1}")
            end = _MBAP.size - 1 + length
            if len(self._buffer) < end:
                break
            frames.append(TcpFrame(transaction, unit, bytes(self._buffer[_MBAP.size : end])))
            del self._buffer[:end]
        return frames
