"""The electrical load of a Liaocheng factory, and the energy register that integrates it.

Every simulated energy meter (DL/T 645, Modbus) reads its power and its kWh counter from here.
The load is a pure function of time, so two meters with the same profile agree, a restarted
simulator continues where it left off, and a register read early or late gives the same counter.

Shape of a working day, in fractions of the rated power and in Asia/Shanghai local time (UTC+8,
no daylight saving time):

- ``TWO_SHIFTS`` (the default): day shift 07:00-15:00 and middle shift 15:00-23:00, a lunch dip
  around 12:00 and a supper dip around 18:00, a base load of about 15 % at night (lighting,
  compressors, ventilation, standby);
- ``THREE_SHIFTS``: round the clock, the night shift a little lighter, short dips at the shift
  handovers (00:00, 08:00, 16:00) and at meal times;
- ``CONTINUOUS``: a continuous-process plant (aluminium electrolysis, copper smelting, steel,
  chemicals, all heavy industries of Liaocheng) runs at a flat high load, weekends included.

On Saturdays and Sundays a shift plant runs at about 30 % during the day (maintenance, a skeleton
crew) over the same night base. Chinese public holidays and the adjusted working weekends are not
modelled. A small seeded noise is added: a fast one on a one-minute grid and a slower process
wander on a fifteen-minute grid, both interpolated linearly, and each seed shifts the schedule by
up to ten minutes, so that meters on one site do not ramp in lock step.
"""

import itertools
import math
from dataclasses import dataclass
from enum import StrEnum

UTC_OFFSET_S = 8 * 3600  # Asia/Shanghai has no daylight saving time
DAY_S = 86400
BASE_LOAD = 0.15  # fraction of rated power drawn at night and on idle days
WEEKEND_LOAD = 0.30  # fraction of rated power on a weekend day at a shift plant
WORKING_LOAD = 0.85  # fraction of rated power during a weekday shift
FAST_NOISE = 0.015  # amplitude (fraction of rated power) of the one-minute noise
SLOW_NOISE = 0.03  # amplitude of the fifteen-minute process wander
FAST_GRID_S = 60
SLOW_GRID_S = 900
MAX_SHIFT_S = 600  # the seeded offset of the schedule is at most this many seconds either way
INTEGRATION_STEP_S = FAST_GRID_S  # the power is linear between the grid points of this step
_MASK64 = (1 << 64) - 1


class Flavour(StrEnum):
    """How the factory works."""

    TWO_SHIFTS = "two_shifts"
    THREE_SHIFTS = "three_shifts"
    CONTINUOUS = "continuous"


# Weekday load shapes as (local hour, fraction of rated power) points, interpolated linearly.
_WEEKDAY_SHAPES: dict[Flavour, tuple[tuple[float, float], ...]] = {
    Flavour.TWO_SHIFTS: (
        (0.0, BASE_LOAD),
        (6.5, BASE_LOAD),
        (7.5, WORKING_LOAD),  # machines start as the day shift arrives
        (11.75, WORKING_LOAD),
        (12.0, 0.55),  # lunch break
        (12.75, 0.55),
        (13.0, WORKING_LOAD),
        (17.75, WORKING_LOAD),
        (18.0, 0.60),  # supper break of the middle shift
        (18.5, 0.60),
        (18.75, WORKING_LOAD),
        (22.5, WORKING_LOAD),
        (23.5, BASE_LOAD),  # the middle shift shuts down
        (24.0, BASE_LOAD),
    ),
    Flavour.THREE_SHIFTS: (
        (0.0, 0.65),  # handover to the night shift
        (0.25, 0.78),
        (7.75, 0.78),
        (8.0, 0.65),  # handover to the day shift
        (8.25, WORKING_LOAD),
        (11.75, WORKING_LOAD),
        (12.0, 0.60),  # lunch
        (12.75, 0.60),
        (13.0, WORKING_LOAD),
        (15.75, WORKING_LOAD),
        (16.0, 0.65),  # handover to the middle shift
        (16.25, WORKING_LOAD),
        (17.75, WORKING_LOAD),
        (18.0, 0.62),  # supper
        (18.5, 0.62),
        (18.75, WORKING_LOAD),
        (23.75, WORKING_LOAD),
        (24.0, 0.65),
    ),
    Flavour.CONTINUOUS: ((0.0, 0.92), (24.0, 0.92)),
}
_WEEKEND_SCALE = (WEEKEND_LOAD - BASE_LOAD) / (WORKING_LOAD - BASE_LOAD)


@dataclass(frozen=True, slots=True)
class FactoryProfile:
    """A deterministic, seeded factory load of ``rated_kw`` kilowatts at full production."""

    rated_kw: float
    seed: int = 0
    flavour: Flavour = Flavour.TWO_SHIFTS

    def power_kw(self, epoch_s: float) -> float:
        """The active power drawn at ``epoch_s`` (Unix seconds), never negative."""
        shifted = epoch_s + UTC_OFFSET_S + self._schedule_shift_s()
        day, second = divmod(shifted, DAY_S)
        fraction = _interpolate(_WEEKDAY_SHAPES[self.flavour], second / 3600.0)
        # 1970-01-01 was a Thursday: with Monday as 0 the weekday of day n is (n + 3) % 7
        if self.flavour is not Flavour.CONTINUOUS and (int(day) + 3) % 7 >= 5:
            fraction = BASE_LOAD + (fraction - BASE_LOAD) * _WEEKEND_SCALE
        fraction += FAST_NOISE * self._grid_noise(epoch_s, FAST_GRID_S, stream=1)
        fraction += SLOW_NOISE * self._grid_noise(epoch_s, SLOW_GRID_S, stream=2)
        return max(0.0, self.rated_kw * fraction)

    def _schedule_shift_s(self) -> int:
        # whole minutes, so that the shape's corners stay on the integration grid
        minutes = _unit(self.seed, 0, 0) * (MAX_SHIFT_S // 60)
        return round(minutes) * 60

    def _grid_noise(self, epoch_s: float, grid_s: int, *, stream: int) -> float:
        index, offset = divmod(epoch_s, grid_s)
        left = _unit(self.seed, stream, int(index))
        right = _unit(self.seed, stream, int(index) + 1)
        return left + (right - left) * offset / grid_s


class EnergyRegister:
    """A kWh counter that integrates a profile's power, like a meter's active-energy register.

    The counter only ever grows (reads at earlier times than the last one return the last value)
    until :meth:`reset`. It integrates on the profile's one-minute grid, on which the power is
    linear, so the counter at a given time does not depend on how often it was read.
    """

    def __init__(self, profile: FactoryProfile, *, start_kwh: float = 0.0, start_s: float) -> None:
        if start_kwh < 0:
            raise ValueError(f"an energy register starts at 0 kWh or more, not {start_kwh}")
        self._profile = profile
        self._kwh = start_kwh
        self._last_s = start_s

    @property
    def profile(self) -> FactoryProfile:
        """The load the register integrates."""
        return self._profile

    def advance(self, epoch_s: float) -> float:
        """The counter at ``epoch_s``, in kWh."""
        power = self._profile.power_kw
        t = self._last_s
        kwh = self._kwh
        while t < epoch_s:
            grid_next = (math.floor(t / INTEGRATION_STEP_S) + 1) * INTEGRATION_STEP_S
            t_next = min(epoch_s, grid_next)
            kwh += (power(t) + power(t_next)) / 2.0 * (t_next - t) / 3600.0
            t = t_next
        self._kwh = kwh
        self._last_s = max(self._last_s, epoch_s)
        return kwh

    def reset(self, to_kwh: float = 0.0) -> None:
        """Set the counter to ``to_kwh``, as a meter replacement or a counter reset does."""
        if to_kwh < 0:
            raise ValueError(f"an energy register cannot be set to {to_kwh} kWh")
        self._kwh = to_kwh


def _interpolate(points: tuple[tuple[float, float], ...], x: float) -> float:
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def _unit(seed: int, stream: int, index: int) -> float:
    """A reproducible value in [-1, 1) for (seed, stream, index), independent of ``hash()``."""
    # splitmix64 finaliser (Steele, Lea and Flood, "Fast splittable pseudorandom number
    # generators", OOPSLA 2014): cheap, well mixed, and the same on every platform and run
    z = (seed * 0x9E3779B97F4A7C15 + stream * 0xBF58476D1CE4E5B9 + index) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return z / float(1 << 63) - 1.0
