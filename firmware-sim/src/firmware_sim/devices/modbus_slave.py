"""A Modbus slave in front of a simulated Eastron meter: its answers and the faults it injects.

Shared by the RTU bus and the TCP server, which own the I/O; this module decides, for one request
PDU, whether and what the slave answers. Eastron meters implement FC03, FC04 and FC16 (their
manuals list no FC06: the settings are floats written whole), so every other function, FC06
included, is answered with ILLEGAL_FUNCTION. A written slave id or baud rate is kept in the
holding registers but the simulated slave goes on answering as it was started, as a real meter
does until it is power-cycled (verify).

Faults, counted per slave over the requests addressed to it (the first request is number 1):

- ``busy_every=N``: request N, 2N, ... is answered with exception 06 SLAVE_DEVICE_BUSY;
- ``silent``: time windows in which the slave does not answer at all (the host times out);
- ``stuck``: time windows in which the registers stop changing;
- ``resets``: times at which the energy counters return to 0 (a reset or a new meter);
- ``bad_crc_every=N`` and ``garbage_every=N`` (RTU only): reply N, 2N, ... is sent with a wrong
  CRC, or after a few random bytes;
- ``disconnect_every=N`` (TCP only): request N, 2N, ... makes the server close the connection.

Times are seconds since the slave was created. On top of the plan, :meth:`ModbusSlave.inject`
and :meth:`ModbusSlave.clear` switch the faults of :mod:`firmware_sim.faults` while the slave
runs; ``garbage`` and ``bad_checksum`` shape the reply frames, which only the RTU bus honours.
"""

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from firmware_sim.eastron import FloatRegister, decode_values
from firmware_sim.faults import Fault, FaultSet, noise
from firmware_sim.meters import SimulatedMeter
from firmware_sim.modbus import (
    ExceptionCode,
    FunctionCode,
    ModbusError,
    ReadRegisters,
    Request,
    WriteRegisters,
    encode_exception,
    encode_read_response,
    encode_write_response,
    parse_request,
)
from firmware_sim.recorder import JsonValue

FAULTS = frozenset(Fault)  # a slave can have them all; its transport may offer fewer


@dataclass(frozen=True, slots=True)
class Window:
    """The seconds ``start_s <= t < end_s`` since the slave was created."""

    start_s: float
    end_s: float = math.inf

    def __contains__(self, t: object) -> bool:
        return isinstance(t, float | int) and self.start_s <= t < self.end_s


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """The faults one slave injects; see the module docstring."""

    busy_every: int | None = None
    bad_crc_every: int | None = None
    garbage_every: int | None = None
    disconnect_every: int | None = None
    silent: tuple[Window, ...] = ()
    stuck: tuple[Window, ...] = ()
    resets: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for every in (self.busy_every, self.bad_crc_every, self.garbage_every):
            if every is not None and every < 1:
                raise ValueError(f"a fault every N requests needs N >= 1, not {every}")
        if self.disconnect_every is not None and self.disconnect_every < 1:
            raise ValueError(f"disconnect_every must be >= 1, not {self.disconnect_every}")


@dataclass(frozen=True, slots=True)
class Answer:
    """What the slave sends back; the owner of the link frames it and records it if it went out."""

    pdu: bytes
    record: dict[str, JsonValue]
    bad_crc: bool = False
    garbage: bytes = b""
    disconnect: bool = False


@dataclass(slots=True)
class SlaveCounters:
    """What one slave did, for tests and for the simulator's log."""

    requests: int = 0  # addressed to this slave, with a good CRC
    answers: int = 0  # normal replies
    exceptions: int = 0  # exception replies, injected ones included
    busy: int = 0  # injected SLAVE_DEVICE_BUSY replies
    silenced: int = 0  # requests left unanswered on purpose
    resets: int = 0  # energy counter resets done
    damaged: int = 0  # replies meant to go out with a wrong CRC (injected garbage, bad_checksum)


@dataclass(slots=True)
class _State:
    settings: dict[str, float]
    pending_resets: list[float] = field(default_factory=list)


class ModbusSlave:
    """One meter answering at one slave (unit) id."""

    def __init__(
        self,
        unit: int,
        meter: SimulatedMeter,
        *,
        faults: FaultPlan | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= unit <= 247:  # the unicast range of Modbus over serial line
            raise ValueError(f"a slave id is 1..247, not {unit}")
        self.unit = unit
        self.meter = meter
        self.counters = SlaveCounters()
        self._faults = faults or FaultPlan()
        self._monotonic = monotonic
        self._clock = clock
        self._t0 = monotonic()
        self._random = random.Random(f"faults-{unit}")  # noqa: S311 - not cryptography
        self._state = _State(meter.register_map.default_settings(unit))
        self._state.pending_resets = sorted(self._faults.resets)
        self._injected = FaultSet(f"Modbus slave {unit}", FAULTS)
        self._lock = threading.Lock()

    @property
    def faults(self) -> FaultPlan:
        """The faults in force."""
        return self._faults

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        with self._lock:
            self._faults = plan
            self._state.pending_resets = sorted(t for t in plan.resets if t >= self.elapsed())

    @property
    def settings(self) -> dict[str, float]:
        """The holding registers: parity/stop code, slave id and baud code."""
        return dict(self._state.settings)

    def elapsed(self) -> float:
        """Seconds since the slave was created, the time base of the fault plan."""
        return self._monotonic() - self._t0

    @property
    def injected(self) -> frozenset[Fault]:
        """The faults injected with :meth:`inject` and in force."""
        return self._injected.active

    def inject(self, fault: Fault) -> None:
        """Put ``fault`` in force until :meth:`clear`; ``counter_reset`` happens at once."""
        if fault is Fault.COUNTER_RESET:
            with self._lock:
                self.meter.reset_energy()
                self.counters.resets += 1
            return
        self._injected.add(fault)
        if fault is Fault.STUCK:
            self.meter.frozen = True

    def clear(self, fault: Fault) -> None:
        """End an injected fault (the plan's own windows still apply)."""
        if fault is Fault.COUNTER_RESET:
            return  # an event, over as soon as it happened
        self._injected.discard(fault)
        if fault is Fault.STUCK:
            self.meter.frozen = False

    def silence(self, seconds: float = math.inf) -> None:
        """Stop answering for ``seconds`` from now (on demand, on top of the plan)."""
        now = self.elapsed()
        self.faults = replace(self.faults, silent=(*self.faults.silent, Window(now, now + seconds)))

    def answer(self, pdu: bytes) -> Answer | None:
        """The reply to one request PDU addressed to this slave; None to stay silent."""
        with self._lock:
            self.counters.requests += 1
            number, now, plan = self.counters.requests, self.elapsed(), self._faults
            self._apply_schedule(now, plan)
            injected = self._injected
            if Fault.SILENCE in injected or any(now in w for w in plan.silent):
                self.counters.silenced += 1
                return None
            if Fault.BUSY in injected or _every(plan.busy_every, number):
                self.counters.busy += 1
                reply, record = self._exception(pdu, None, ExceptionCode.SLAVE_DEVICE_BUSY)
            else:
                reply, record = self._serve(pdu)
            garbage = b""
            if Fault.GARBAGE in injected or _every(plan.garbage_every, number):
                garbage = noise(self._random)
            damaged = injected.damage_next()
            self.counters.damaged += damaged
            return Answer(
                reply,
                record,
                bad_crc=damaged or _every(plan.bad_crc_every, number),
                garbage=garbage,
                disconnect=_every(plan.disconnect_every, number),
            )

    def _apply_schedule(self, now: float, plan: FaultPlan) -> None:
        if plan.stuck:
            self.meter.frozen = Fault.STUCK in self._injected or any(now in w for w in plan.stuck)
        pending = self._state.pending_resets
        while pending and pending[0] <= now:
            pending.pop(0)
            self.meter.reset_energy()
            self.counters.resets += 1

    def _serve(self, pdu: bytes) -> tuple[bytes, dict[str, JsonValue]]:
        request: Request | None = None
        try:
            request = parse_request(pdu)
            if isinstance(request, ReadRegisters):
                registers, table = self._read(request)
                reply = encode_read_response(request.function, registers)
            else:
                registers, table = self._write(request)
                reply = encode_write_response(request)
        except ModbusError as error:
            return self._exception(pdu, request, error.code)
        self.counters.answers += 1
        return reply, self._record(request.function, request.address, registers, table)

    def _read(self, request: ReadRegisters) -> tuple[tuple[int, ...], tuple[FloatRegister, ...]]:
        register_map = self.meter.register_map
        if request.function is FunctionCode.READ_INPUT_REGISTERS:
            values = self.meter.values()
            return register_map.read_inputs(values, request.address, request.count), (
                register_map.inputs
            )
        settings = self._state.settings
        return register_map.read_settings(settings, request.address, request.count), (
            register_map.holding_floats
        )

    def _write(self, request: WriteRegisters) -> tuple[tuple[int, ...], tuple[FloatRegister, ...]]:
        if request.function is not FunctionCode.WRITE_MULTIPLE_REGISTERS:
            raise ModbusError(ExceptionCode.ILLEGAL_FUNCTION, "settings are written whole")
        register_map = self.meter.register_map
        self._state.settings.update(register_map.write_settings(request.address, request.values))
        return request.values, register_map.holding_floats

    def _exception(
        self, pdu: bytes, request: Request | None, code: ExceptionCode
    ) -> tuple[bytes, dict[str, JsonValue]]:
        self.counters.exceptions += 1
        function = pdu[0] if pdu else 0
        address = request.address if request is not None else _raw_address(pdu)
        record: dict[str, JsonValue] = {
            "ts": math.floor(self._clock() * 1000),
            "unit": self.unit,
            "function": function,
            "address": address,
            "exception": int(code),
        }
        return encode_exception(function, code), record

    def _record(
        self,
        function: FunctionCode,
        address: int,
        registers: tuple[int, ...],
        table: tuple[FloatRegister, ...],
    ) -> dict[str, JsonValue]:
        values: list[JsonValue] = [
            {"address": r.address, "name": r.name, "value": v}
            for r, v in decode_values(table, address, registers)
        ]
        return {
            "ts": math.floor(self._clock() * 1000),
            "unit": self.unit,
            "function": int(function),
            "address": address,
            "registers": list(registers),
            "values": values,
        }


def _every(n: int | None, number: int) -> bool:
    return n is not None and number % n == 0


def _raw_address(pdu: bytes) -> int | None:
    return int.from_bytes(pdu[1:3], "big") if len(pdu) >= 3 else None
