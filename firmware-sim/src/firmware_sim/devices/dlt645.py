"""Simulated DL/T 645-2007 electricity meters sharing one RS-485 line (a pseudo-terminal).

Each meter answers read requests for its own address or for the wildcard (on a real bus several
meters answering the wildcard would collide; here they answer one after another, in order), the
read-address command (to the wildcard), and an error reply "no data" for a data identifier it
does not have. Its values come from a :class:`~firmware_sim.load_profile.FactoryProfile`:

- forward active energy from an :class:`~firmware_sim.load_profile.EnergyRegister`; nothing is
  exported (a factory without generation), and the combined total is forward + reverse, the
  usual factory setting of the combination word (verify);
- total active power from the profile; phase A voltage near 220 V, China's low-voltage phase
  voltage (GB/T 156: 220/380 V), each meter a little off nominal; a power factor rising from
  0.85 at no load to 0.98 at rated load, as motor loads' does; the phase A current of a
  balanced three-phase load, P / (3 U PF); 50 Hz within a few hundredths of a hertz.

Faults for testing a host: ``garbage_every=N`` sends random bytes before every N-th reply,
``corrupt_every=N`` sends every N-th reply with one bit flipped (a wrong checksum) instead of the
good one, :meth:`Dlt645Simulator.set_silent` makes a meter ignore everything, and
:meth:`Dlt645Simulator.reset_counter` (or ``reset_after_s``) sets energy counters back, as a
meter replacement does. While the meters run, :meth:`Dlt645Simulator.inject` and
:meth:`Dlt645Simulator.clear` switch the faults of :mod:`firmware_sim.faults` on one meter or on
all of them; ``busy`` answers every read with an error reply ("other error"), ``stuck`` repeats
the last value of each item. Only good replies written whole reach the recorder, one JSON line
each.
"""

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from firmware_sim import dlt645
from firmware_sim.dlt645 import (
    ERROR_NO_DATA,
    ERROR_OTHER,
    ITEM_FORMATS,
    Code,
    Request,
    RequestScanner,
)
from firmware_sim.faults import Fault, FaultSet, flip_bit, noise
from firmware_sim.load_profile import EnergyRegister, FactoryProfile, Flavour
from firmware_sim.recorder import JsonValue, Recorder
from firmware_sim.serial_link import PtyLink

_log = logging.getLogger(__name__)
_POLL_SECONDS = 0.05  # longest wait before the loop looks at its stop flag again
NOMINAL_VOLTAGE = 220.0  # V, phase to neutral (GB/T 156)
VOLTAGE_OFFSET = 0.02  # a meter's fixed relative deviation from nominal is at most this
VOLTAGE_NOISE = 0.003
PF_LOW, PF_HIGH = 0.85, 0.98  # power factor at no load and at rated load
PF_NOISE = 0.005
FREQUENCY_SIGMA, FREQUENCY_LIMIT = 0.02, 0.1  # Hz around 50 Hz
START_KWH = (1000.0, 20000.0)  # a meter installed a while ago
ENERGY_ITEMS = (0x00000000, 0x00010000, 0x00020000)  # combined, forward, reverse active energy


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """One simulated meter.

    ``rated_kw`` is the factory's load at full production. A meter connected directly measures
    at most about 40 kW (3 x 60 A at 220 V): a larger load is metered through current
    transformers, and the meter reports their secondary side, 1/``ct_ratio`` of the currents,
    powers and energies. ``without`` lists data identifiers the meter does not have.
    """

    address: str
    rated_kw: float = 30.0
    flavour: Flavour = Flavour.TWO_SHIFTS
    ct_ratio: float = 1.0
    without: frozenset[int] = frozenset()


class MeterModel:
    """What one meter measures at a given time; seeded by the bus seed and its address."""

    def __init__(self, spec: MeterSpec, *, seed: int, start_s: float) -> None:
        self.spec = spec
        self.wire_address = dlt645.address_field(spec.address)
        rnd = random.Random(f"{seed}-{spec.address}")  # noqa: S311 - a simulation
        self.profile = FactoryProfile(
            spec.rated_kw, seed=rnd.randrange(2**31), flavour=spec.flavour
        )
        self.imported = EnergyRegister(
            self.profile, start_kwh=round(rnd.uniform(*START_KWH), 2), start_s=start_s
        )
        self.exported_kwh = 0.0
        self._voltage = NOMINAL_VOLTAGE * (1 + rnd.uniform(-VOLTAGE_OFFSET, VOLTAGE_OFFSET))
        self._noise = random.Random(rnd.random())  # noqa: S311 - a simulation
        self.frozen = False  # a stuck meter: every item keeps its last value
        self._held: dict[int, float] = {}  # the last value of each item
        ct = spec.ct_ratio
        self._quantities: dict[int, Callable[[float], float]] = {
            0x00000000: lambda t: (self.imported.advance(t) + self.exported_kwh) / ct,
            0x00010000: lambda t: self.imported.advance(t) / ct,
            0x00020000: lambda _: self.exported_kwh / ct,
            0x02010100: lambda _: self.voltage(),
            0x02020100: lambda t: self.current(t) / ct,
            0x02030000: lambda t: self.profile.power_kw(t) / ct,
            0x02060000: self.power_factor,
            0x02800002: lambda _: self.frequency(),
        }

    def has(self, identifier: int) -> bool:
        """Whether the meter answers ``identifier``."""
        return identifier in self._quantities and identifier not in self.spec.without

    def value(self, identifier: int, epoch_s: float) -> float:
        """The value of the data item ``identifier`` at ``epoch_s``, as the meter measures it."""
        if self.frozen and identifier in self._held:
            return self._held[identifier]
        value = self._held[identifier] = self._quantities[identifier](epoch_s)
        return value

    def reset_energy(self, to_kwh: float) -> None:
        """Set the import counter to ``to_kwh`` primary kWh; shown even by a stuck meter."""
        self.imported.reset(to_kwh)
        for identifier in ENERGY_ITEMS:
            self._held.pop(identifier, None)

    def voltage(self) -> float:
        """Phase A voltage, V."""
        return self._voltage * (1 + self._noise.gauss(0, VOLTAGE_NOISE))

    def power_factor(self, epoch_s: float) -> float:
        """Total power factor: higher at higher load."""
        load = min(1.0, self.profile.power_kw(epoch_s) / self.spec.rated_kw)
        pf = PF_LOW + (PF_HIGH - PF_LOW) * load + self._noise.gauss(0, PF_NOISE)
        return min(0.999, max(0.5, pf))

    def current(self, epoch_s: float) -> float:
        """Phase A current of a balanced three-phase load, A (primary side)."""
        watts = self.profile.power_kw(epoch_s) * 1000
        return watts / (3 * self.voltage() * self.power_factor(epoch_s))

    def frequency(self) -> float:
        """Grid frequency, Hz."""
        deviation = self._noise.gauss(0, FREQUENCY_SIGMA)
        return 50.0 + max(-FREQUENCY_LIMIT, min(FREQUENCY_LIMIT, deviation))


@dataclass(slots=True)
class SimulatorCounters:
    """What the simulator did, for tests and for its log."""

    requests: int = 0  # valid requests received
    replies_written: int = 0  # good replies written whole (and recorded)
    replies_dropped: int = 0  # replies the tty buffer did not take: nobody was reading
    error_replies: int = 0  # among the written: "no data" error replies
    corrupt_replies: int = 0  # replies sent with a flipped bit on purpose
    garbage_bytes: int = 0  # random bytes sent on purpose
    silenced: int = 0  # requests a silent meter ignored
    not_for_us: int = 0  # requests for other addresses, or commands no meter here answers
    rejected: int = 0  # candidate frames with a bad checksum
    counter_resets: int = 0
    by_address: dict[str, int] = field(default_factory=dict)  # replies written per meter


class Dlt645Simulator:
    """Meters on one :class:`PtyLink`; :meth:`start` runs them in a thread."""

    FAULTS: ClassVar[frozenset[Fault]] = frozenset(Fault)

    def __init__(  # noqa: PLR0913 - each option is a separate knob of the simulation
        self,
        link: PtyLink,
        meters: Sequence[MeterSpec],
        *,
        seed: int = 0,
        recorder: Recorder | None = None,
        preamble: bool = True,
        garbage_every: int | None = None,
        corrupt_every: int | None = None,
        reset_after_s: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not meters or len({m.address for m in meters}) != len(meters):
            raise ValueError("give at least one meter, each with its own address")
        if any(n is not None and n < 1 for n in (garbage_every, corrupt_every)):
            raise ValueError("garbage_every and corrupt_every must be at least 1")
        self.link = link
        self.counters = SimulatorCounters()
        self._clock = clock
        self._meters = [MeterModel(m, seed=seed, start_s=clock()) for m in meters]
        self._recorder = recorder
        self._preamble = preamble
        self._garbage_every = garbage_every
        self._corrupt_every = corrupt_every
        self._reset_after_s = reset_after_s
        self._faults = random.Random(f"faults-{seed}")  # noqa: S311 - not cryptography
        self._injected = {
            m.address: FaultSet(f"DL/T 645 meter {m.address}", self.FAULTS) for m in meters
        }
        self._lock = threading.Lock()  # meter state: the loop and the test thread both touch it
        self._scanner = RequestScanner()
        self._replies = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def addresses(self) -> list[str]:
        """The meters' addresses, in order."""
        return [m.spec.address for m in self._meters]

    def set_silent(self, address: str, *, silent: bool = True) -> None:
        """Make the meter at ``address`` ignore every request (a dead meter), or answer again."""
        (self.inject if silent else self.clear)(Fault.SILENCE, address)

    def reset_counter(self, address: str, to_kwh: float = 0.0) -> None:
        """Set the meter's energy counter to ``to_kwh`` primary kWh (a reset or replacement)."""
        meter = self._meter(address)
        with self._lock:
            meter.reset_energy(to_kwh)
            self.counters.counter_resets += 1

    def faults(self, address: str) -> frozenset[Fault]:
        """The injected faults in force on the meter at ``address``."""
        self._meter(address)
        return self._injected[address].active

    def inject(self, fault: Fault, address: str | None = None) -> None:
        """Put ``fault`` in force on the meter at ``address`` (None: every meter).

        A lasting fault stays until :meth:`clear`; ``counter_reset`` happens at once.

        Raises:
            KeyError: no meter has that address.
        """
        for meter in self._addressed(address):
            if fault is Fault.COUNTER_RESET:
                self.reset_counter(meter.spec.address)
                continue
            self._injected[meter.spec.address].add(fault)
            if fault is Fault.STUCK:
                meter.frozen = True

    def clear(self, fault: Fault, address: str | None = None) -> None:
        """End an injected fault on the meter at ``address`` (None: every meter)."""
        for meter in self._addressed(address):
            if fault is not Fault.COUNTER_RESET:
                self._injected[meter.spec.address].discard(fault)
            if fault is Fault.STUCK:
                meter.frozen = False

    def _addressed(self, address: str | None) -> list[MeterModel]:
        return list(self._meters) if address is None else [self._meter(address)]

    def start(self) -> None:
        """Run the meters in a background thread until :meth:`stop`."""
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        self._thread = threading.Thread(target=self.run, name="dlt645-sim", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and wait for its thread; the link stays open (its owner closes it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """The meters' loop: answer requests until :meth:`stop`."""
        reset_at = None if self._reset_after_s is None else time.monotonic() + self._reset_after_s
        while not self._stop.is_set():
            for request in self._scanner.feed(self.link.read(_POLL_SECONDS)):
                self.counters.requests += 1
                self._handle(request)
            self.counters.rejected = self._scanner.rejected
            if reset_at is not None and time.monotonic() >= reset_at:
                reset_at = None
                for address in self.addresses:
                    self.reset_counter(address)
                _log.info("energy counters reset to 0")

    def _handle(self, request: Request) -> None:
        wildcard = request.address == dlt645.WILDCARD
        addressed = [m for m in self._meters if wildcard or request.address == m.wire_address]
        if (
            not addressed
            or request.code not in {Code.READ, Code.READ_ADDRESS}
            or (request.code == Code.READ_ADDRESS and not wildcard)
        ):
            self.counters.not_for_us += 1
            return
        for meter in addressed:
            faults = self._injected[meter.spec.address]
            with self._lock:
                if Fault.SILENCE in faults:
                    self.counters.silenced += 1
                    continue
                reply, record = self._reply(meter, request, busy=Fault.BUSY in faults)
            self._send(reply, record, faults)

    def _reply(
        self, meter: MeterModel, request: Request, *, busy: bool
    ) -> tuple[bytes, dict[str, JsonValue]]:
        address, preamble = meter.wire_address, self._preamble
        record: dict[str, JsonValue] = {"address": meter.spec.address}
        if request.code == Code.READ_ADDRESS:
            return dlt645.address_reply(address, preamble=preamble), record | {"code": 0x93}
        di = request.identifier
        if busy or di is None or not meter.has(di):
            error = ERROR_OTHER if busy else ERROR_NO_DATA
            reply = dlt645.error_reply(address, error, preamble=preamble)
            return reply, record | {"code": 0xD1, "di": _di(di), "error": error}
        fmt = ITEM_FORMATS[di]
        value = dlt645.to_bcd(meter.value(di, self._clock()), fmt)
        record |= {"code": 0x91, "di": _di(di), "value": dlt645.from_bcd(value, fmt)}
        return dlt645.read_reply(address, di, value, preamble=preamble), record

    def _send(self, reply: bytes, record: dict[str, JsonValue], faults: FaultSet) -> None:
        self._replies += 1
        if Fault.GARBAGE in faults or _every(self._garbage_every, self._replies):
            garbage = noise(self._faults)
            if self.link.write(garbage):
                self.counters.garbage_bytes += len(garbage)
        if faults.damage_next() or _every(self._corrupt_every, self._replies):
            first_data = reply.index(dlt645.START) + 10
            damaged = flip_bit(reply, self._faults, first=first_data, last=len(reply) - 3)
            if self.link.write(damaged):
                self.counters.corrupt_replies += 1
            return
        ts_ms = math.floor(self._clock() * 1000)
        if not self.link.write(reply):
            self.counters.replies_dropped += 1
            return
        self.counters.replies_written += 1
        if record.get("code") == Code.READ_FAILED:
            self.counters.error_replies += 1
        address = str(record["address"])
        self.counters.by_address[address] = self.counters.by_address.get(address, 0) + 1
        if self._recorder is not None:
            self._recorder.write({"ts": ts_ms, **record, "wire": reply.hex()})

    def _meter(self, address: str) -> MeterModel:
        for meter in self._meters:
            if meter.spec.address == address:
                return meter
        raise KeyError(f"no meter {address} on this link")


def _every(n: int | None, number: int) -> bool:
    return n is not None and number % n == 0


def _di(identifier: int | None) -> str | None:
    return None if identifier is None else f"{identifier:08X}"
