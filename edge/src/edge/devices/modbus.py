"""The owners of Modbus buses: RTU on a serial (RS-485) port and TCP, through pymodbus.

A bus (:class:`ModbusRtuBus`, :class:`ModbusTcpBus`) is a :class:`PolledBus`: the only owner of
its port or connection, polling each enabled slave (:class:`ModbusSlave`) on its own interval.
A poll executes the slave's planned reads one after the other (``request_gap`` apart), decodes
them, and returns one reading per register map entry, stamped with the gateway clock.

pymodbus answers with a response, an exception response or an exception of its own; each becomes
one typed poll outcome, so that the framework counts it and backs off the failing slave alone:

- an exception response (slave busy, illegal address): ``DeviceFault`` with its ``code``;
- no answer after ``retries`` resends (``ModbusIOException``, nothing received): ``ReadTimeout``;
- bytes but no valid answer (CRC error, garbage, another unit's reply), or an answer of the wrong
  function or size: ``BadFrame``;
- the port failed or the TCP connection dropped (``ConnectionException``, or an ``OSError``
  such as a connection reset): ``PortError``; the bus closes the transport and opens it again.

A poll stops at its first failed read: a dead slave costs its bus one timeout (times the
retries), not one per planned read.
"""

import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from pymodbus.client import ModbusBaseSyncClient, ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.pdu import ModbusPDU

from edge.config.modbus import ModbusRtuConfig, ModbusSlaveConfig, ModbusTcpConfig
from edge.devices.base import Clock, ReadingSink, wall_clock_ms
from edge.devices.polling import (
    BadFrame,
    DeviceFault,
    PolledBus,
    PollTarget,
    PortError,
    ReadTimeout,
)
from edge.protocols.registers import ReadRequest, RegisterError, RegisterKind, plan_reads
from telemetry import Quality, Reading
from telemetry.payload import MIN_TS_MS

_log = logging.getLogger(__name__)

_Read = Callable[[ModbusBaseSyncClient, int, int, int], ModbusPDU]  # client, address, count, unit

_READS: dict[RegisterKind, _Read] = {
    RegisterKind.COIL: lambda c, a, n, u: c.read_coils(a, count=n, device_id=u),
    RegisterKind.DISCRETE: lambda c, a, n, u: c.read_discrete_inputs(a, count=n, device_id=u),
    RegisterKind.HOLDING: lambda c, a, n, u: c.read_holding_registers(a, count=n, device_id=u),
    RegisterKind.INPUT: lambda c, a, n, u: c.read_input_registers(a, count=n, device_id=u),
}

# Modbus Application Protocol Specification V1.1b3, §7 "MODBUS Exception Responses".
EXCEPTION_NAMES = {
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "server device failure",
    0x05: "acknowledge",
    0x06: "server device busy",
    0x08: "memory parity error",
    0x0A: "gateway path unavailable",
    0x0B: "gateway target device failed to respond",
}


def describe(request: ReadRequest) -> str:
    """``FC04 input 0x0048+2``: a read as the log and ``last_error`` show it."""
    return f"FC{request.function_code:02d} {request.kind} 0x{request.address:04X}+{request.count}"


class Requests(Protocol):
    """What a slave needs of its bus: one read at a time, and the pause between two."""

    def read(self, unit: int, request: ReadRequest) -> Sequence[int]:
        """The registers (or bits) of the answer; raises a ``PollError``."""
        ...

    def pause(self) -> None:
        """Wait the configured gap between two requests."""
        ...


class ModbusBus(PolledBus):
    """A Modbus bus driven through a pymodbus synchronous client; see the module docstring.

    ``client`` makes that client around the trace hook it is given (pymodbus' ``trace_packet``),
    through which the bus learns whether any bytes came back for a request.
    """

    def __init__(
        self,
        config: ModbusRtuConfig | ModbusTcpConfig,
        client: Callable[[Callable[[bool, bytes], bytes]], ModbusBaseSyncClient],
        sink: ReadingSink,
        *,
        clock: Clock = wall_clock_ms,
        max_backoff_s: float = 300.0,
    ) -> None:
        super().__init__(
            config.id,
            sink,
            clock=clock,
            request_gap_s=config.request_gap,
            max_backoff_s=max_backoff_s,
        )
        self.config = config
        self._client = client(self._trace)
        self._heard = 0  # bytes received since the current request was sent
        self._slaves = tuple(ModbusSlave(s, self) for s in config.slaves if s.enabled)

    def open(self) -> None:
        """Open the port or connect; pymodbus keeps the reason to its own log."""
        if not self._client.connect():
            raise PortError(f"cannot open {self.config.endpoint}")

    def close(self) -> None:
        """Close the port or connection."""
        with contextlib.suppress(OSError):  # a port that is already gone closes with an error
            self._client.close()  # type: ignore[no-untyped-call] # pymodbus leaves it unannotated

    def targets(self) -> Sequence[PollTarget]:
        """The enabled slaves, in configuration order."""
        return self._slaves

    @property
    def slaves(self) -> tuple["ModbusSlave", ...]:
        """The enabled slaves, in configuration order, with their read plans."""
        return self._slaves

    def pause(self) -> None:
        """The configured gap between two requests of one poll (the bus keeps it between polls)."""
        if self.config.request_gap:
            time.sleep(self.config.request_gap)

    def read(self, unit: int, request: ReadRequest) -> Sequence[int]:
        """Execute one read on the bus thread: the registers, or the bits, of the answer.

        Raises:
            PollError: the outcome, as the module docstring lists them.
        """
        where = f"unit {unit}: {describe(request)}"
        self._heard = 0
        try:
            response = _READS[request.kind](self._client, request.address, request.count, unit)
        except (ConnectionException, OSError) as exc:
            # pymodbus turns most socket and port errors into ConnectionException, but lets a
            # connection reset while receiving through as it is
            raise PortError(f"{self.config.endpoint}: {exc}") from None
        except ModbusException:
            # pymodbus says "no response" for both; what was received tells them apart
            if self._heard:
                raise BadFrame(f"{where}: {self._heard} bytes but no valid answer") from None
            tries = self.config.retries + 1
            again = f" ({tries} tries)" if tries > 1 else ""
            raise ReadTimeout(f"{where}: no answer within {self.config.timeout} s{again}") from None
        if response.isError():
            code = response.exception_code
            raise DeviceFault(f"{where}: {EXCEPTION_NAMES.get(code, 'exception')}", code=code)
        if response.function_code != request.function_code:
            raise BadFrame(f"{where}: answered with function {response.function_code}")
        return response.bits if request.kind.is_bit else response.registers

    def _trace(self, sending: bool, data: bytes) -> bytes:  # noqa: FBT001 - pymodbus' signature
        if not sending:
            self._heard += len(data)
        return data


class ModbusSlave:
    """One slave on a bus: its read plan, and the readings of one poll."""

    def __init__(self, config: ModbusSlaveConfig, bus: Requests) -> None:
        self.config = config
        self.plan = plan_reads(config.points(), max_gap=config.max_gap)
        self._bus = bus
        self._non_finite: set[str] = set()  # metrics whose last value was NaN or infinite

    @property
    def id(self) -> str:
        """The slave's device id."""
        return self.config.id

    @property
    def interval_s(self) -> float:
        """Seconds between polls while it answers."""
        return self.config.interval

    def poll(self, now_ms: int) -> Sequence[Reading]:
        """Execute every planned read; one reading per register map entry.

        Raises:
            PollError: the first read that failed, and how.
        """
        values: list[tuple[str, float]] = []
        for position, request in enumerate(self.plan):
            if position:
                self._bus.pause()
            words = self._bus.read(self.config.unit, request)
            try:
                values.extend((p.metric, v) for p, v in request.decode(words))
            except RegisterError as exc:
                raise BadFrame(f"unit {self.config.unit}: {describe(request)}: {exc}") from None
        if now_ms < MIN_TS_MS:
            return []  # the bus counts it; there is no trustworthy time to give these values
        return [
            Reading(device=self.id, metric=m, value=v, ts=now_ms, quality=Quality.NORMAL)
            for m, v in values
            if self._finite(m, v)
        ]

    def _finite(self, metric: str, value: float) -> bool:
        # A float register may hold NaN (a meter's "no value"); the wire contract has no NaN.
        if math.isfinite(value):
            self._non_finite.discard(metric)
            return True
        if metric not in self._non_finite:
            _log.warning("%s: %s reads %s; not published", self.id, metric, value)
            self._non_finite.add(metric)
        return False


class ModbusRtuBus(ModbusBus):
    """Modbus RTU slaves on one serial port (RS-485 multi-drop)."""

    def __init__(
        self,
        config: ModbusRtuConfig,
        sink: ReadingSink,
        *,
        clock: Clock = wall_clock_ms,
        max_backoff_s: float = 300.0,
    ) -> None:
        def client(trace: Callable[[bool, bytes], bytes]) -> ModbusBaseSyncClient:
            return ModbusSerialClient(
                str(config.port),
                baudrate=config.baudrate,
                bytesize=config.bytesize,
                parity=config.parity,
                stopbits=config.stopbits,
                timeout=config.timeout,
                retries=config.retries,
                name=config.id,
                trace_packet=trace,
            )

        super().__init__(config, client, sink, clock=clock, max_backoff_s=max_backoff_s)


class ModbusTcpBus(ModbusBus):
    """Modbus TCP units behind one host and port."""

    def __init__(
        self,
        config: ModbusTcpConfig,
        sink: ReadingSink,
        *,
        clock: Clock = wall_clock_ms,
        max_backoff_s: float = 300.0,
    ) -> None:
        def client(trace: Callable[[bool, bytes], bytes]) -> ModbusBaseSyncClient:
            return ModbusTcpClient(
                config.host,
                port=config.port,
                timeout=config.timeout,
                retries=config.retries,
                name=config.id,
                trace_packet=trace,
            )

        super().__init__(config, client, sink, clock=clock, max_backoff_s=max_backoff_s)
