"""A simulated energy meter at a factory: what its measurement registers hold at a given time.

The active power comes from a seeded :class:`~firmware_sim.load_profile.FactoryProfile` and the
import counter from an :class:`~firmware_sim.load_profile.EnergyRegister`, so the counter never
goes down except through :meth:`SimulatedMeter.reset_energy`. Around them sit the quantities an
Eastron meter also measures, each with its own noise:

- a three-phase load is split over L1/L2/L3 with a fixed seeded imbalance of a few per cent;
- phase voltages near 220 V, the Chinese low-voltage supply (GB/T 156: 220/380 V), each meter a
  little off nominal as meters far down a factory's feeders are, with a small noise;
- a power factor between 0.85 and 0.98 that rises with the load, as motor loads' does;
- 50 Hz within a few hundredths of a hertz, well inside the ±0.2 Hz of GB/T 15945;
- nothing exported (a factory without generation), so the total counter equals the import one.

Values are refreshed at most once per ``refresh_s``, as a real meter updates its registers about
once a second; :attr:`SimulatedMeter.frozen` stops the refresh entirely (a stuck meter).
"""

import math
import random
import threading
import time
from collections.abc import Callable, Mapping

from firmware_sim.eastron import Quantity, RegisterMap
from firmware_sim.load_profile import EnergyRegister, FactoryProfile, Flavour

NOMINAL_VOLTAGE = 220.0  # V line to neutral (GB/T 156: 220/380 V)
NOMINAL_FREQUENCY = 50.0  # Hz
VOLTAGE_OFFSET = 0.02  # a meter's fixed relative offset from nominal is at most this
VOLTAGE_NOISE = 0.003  # relative standard deviation of one reading
FREQUENCY_SIGMA = 0.02  # Hz
FREQUENCY_LIMIT = 0.1  # Hz either side of nominal, never exceeded
PF_LOW, PF_HIGH = 0.85, 0.98  # power factor at no load and at rated load
PF_NOISE = 0.005
PHASE_IMBALANCE = 0.06  # the largest fixed relative deviation of a phase's share of the load
PHASE_NOISE = 0.01  # relative noise on a phase's share in one reading
RATED_SHARE_OF_IMAX = 0.8  # a factory sizes its meters so that full production is 80 % of Imax
START_KWH_RANGE = (1000.0, 20000.0)  # a meter installed a while ago

_Q = Quantity
_PHASE_KEYS = (
    (_Q.VOLTAGE_L1, _Q.CURRENT_L1, _Q.ACTIVE_POWER_L1),
    (_Q.VOLTAGE_L2, _Q.CURRENT_L2, _Q.ACTIVE_POWER_L2),
    (_Q.VOLTAGE_L3, _Q.CURRENT_L3, _Q.ACTIVE_POWER_L3),
)
_PHASE_POWER_KEYS = (
    (_Q.APPARENT_POWER_L1, _Q.REACTIVE_POWER_L1, _Q.POWER_FACTOR_L1, _Q.ENERGY_IMPORT_L1),
    (_Q.APPARENT_POWER_L2, _Q.REACTIVE_POWER_L2, _Q.POWER_FACTOR_L2, _Q.ENERGY_IMPORT_L2),
    (_Q.APPARENT_POWER_L3, _Q.REACTIVE_POWER_L3, _Q.POWER_FACTOR_L3, _Q.ENERGY_IMPORT_L3),
)
_LINE_TO_LINE = ((_Q.VOLTAGE_L1_L2, 0, 1), (_Q.VOLTAGE_L2_L3, 1, 2), (_Q.VOLTAGE_L3_L1, 2, 0))


def rated_kw(register_map: RegisterMap) -> float:
    """The full-production load of a factory metered by this model, in kW."""
    watts = register_map.phases * NOMINAL_VOLTAGE * register_map.max_current_a
    return RATED_SHARE_OF_IMAX * watts / 1000.0


class SimulatedMeter:
    """The measurements of one meter, deterministic for a seed and a sequence of read times."""

    def __init__(  # noqa: PLR0913 - each option is a separate knob of the simulation
        self,
        register_map: RegisterMap,
        *,
        seed: int = 0,
        rated: float | None = None,
        flavour: Flavour = Flavour.TWO_SHIFTS,
        start_kwh: float | None = None,
        refresh_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.register_map = register_map
        full_load = rated if rated is not None else rated_kw(register_map)
        self.profile = FactoryProfile(full_load, seed, flavour)
        self._random = random.Random(f"meter-{seed}")  # noqa: S311 - a simulation
        rnd = self._random
        if start_kwh is None:
            start_kwh = round(rnd.uniform(*START_KWH_RANGE), 2)
        self._energy = EnergyRegister(self.profile, start_kwh=start_kwh, start_s=clock())
        self._voltage = NOMINAL_VOLTAGE * (1.0 + rnd.uniform(-VOLTAGE_OFFSET, VOLTAGE_OFFSET))
        shares = [
            1.0 + rnd.uniform(-PHASE_IMBALANCE, PHASE_IMBALANCE) for _ in range(register_map.phases)
        ]
        self._shares = tuple(s / sum(shares) for s in shares)
        self._refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: dict[str, float] | None = None
        self._taken_s = -math.inf
        self.frozen = False  # a stuck meter: the registers stop changing

    def values(self) -> Mapping[str, float]:
        """Every quantity this model measures, as its registers hold them now."""
        with self._lock:
            now = self._clock()
            stale = now - self._taken_s >= self._refresh_s
            if self._snapshot is None or (stale and not self.frozen):
                self._snapshot = self._measure(now)
                self._taken_s = now
            return dict(self._snapshot)

    def reset_energy(self, to_kwh: float = 0.0) -> None:
        """Set the energy counters to ``to_kwh``, as a counter reset or a new meter does."""
        with self._lock:
            self._energy.advance(self._clock())
            self._energy.reset(to_kwh)
            self._snapshot = None  # the next read shows the reset, even on a stuck meter

    def _measure(self, epoch_s: float) -> dict[str, float]:
        rnd = self._random
        total_w = self.profile.power_kw(epoch_s) * 1000.0
        load = min(1.0, total_w / (self.profile.rated_kw * 1000.0 or 1.0))
        noisy = [s * (1.0 + rnd.gauss(0.0, PHASE_NOISE)) for s in self._shares]
        imported = self._energy.advance(epoch_s)
        values: dict[str, float] = {}
        volts: list[float] = []
        totals = [0.0, 0.0, 0.0]  # W, VA, VAr
        for phase, share in enumerate(noisy):
            watts = total_w * share / sum(noisy)
            volt = self._voltage * (1.0 + rnd.gauss(0.0, VOLTAGE_NOISE))
            pf = PF_LOW + (PF_HIGH - PF_LOW) * load + rnd.gauss(0.0, PF_NOISE)
            pf = _clip(pf, PF_LOW, PF_HIGH)
            va = watts / pf
            var = math.sqrt(max(0.0, va * va - watts * watts))
            v_key, a_key, w_key = _PHASE_KEYS[phase]
            va_key, var_key, pf_key, kwh_key = _PHASE_POWER_KEYS[phase]
            values |= {v_key: volt, a_key: va / volt, w_key: watts, va_key: va, var_key: var}
            values |= {pf_key: pf, kwh_key: imported * self._shares[phase]}
            volts.append(volt)
            totals = [totals[0] + watts, totals[1] + va, totals[2] + var]
        for key, a, b in _LINE_TO_LINE if len(volts) == 3 else ():
            # phases 120° apart: |Va - Vb|² = Va² + Vb² + Va·Vb
            values[key] = math.sqrt(volts[a] ** 2 + volts[b] ** 2 + volts[a] * volts[b])
        exported = 0.0
        values |= {
            _Q.VOLTAGE: sum(volts) / len(volts),
            _Q.CURRENT: sum(values[k[1]] for k in _PHASE_KEYS[: len(volts)]),
            _Q.ACTIVE_POWER: totals[0],
            _Q.APPARENT_POWER: totals[1],
            _Q.REACTIVE_POWER: totals[2],
            _Q.POWER_FACTOR: totals[0] / totals[1] if totals[1] else 1.0,
            _Q.FREQUENCY: NOMINAL_FREQUENCY
            + _clip(rnd.gauss(0.0, FREQUENCY_SIGMA), -FREQUENCY_LIMIT, FREQUENCY_LIMIT),
            _Q.ENERGY_IMPORT: imported,
            _Q.ENERGY_EXPORT: exported,
            _Q.ENERGY_TOTAL: imported + exported,
        }
        return values


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
