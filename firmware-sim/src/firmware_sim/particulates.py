"""A deterministic model of particulate air pollution at a Liaocheng factory site.

The levels follow the city's 2017 baselines: PM2.5 annual mean 71 µg/m³ and PM10 annual mean
136 µg/m³ (Liaocheng's 2018-2022 plan for converting old to new growth drivers, summarised in the
project's reference notes ``reference/liaocheng.md``, "Baselines (2017)"). PM10 is therefore about
136 / 71 ≈ 1.9 times PM2.5, and PM1 about 0.6-0.7 times PM2.5, the usual fine fraction of urban
aerosol in the North China Plain.

On top of the mean sit a diurnal cycle (highest around 03:00 local time, under the shallow night
boundary layer, lowest around 15:00), a slow red-noise excursion (episodes lasting hours) and a
small white measurement noise. The same seed and the same sample times give the same series.
"""

import math
import random
from dataclasses import dataclass

from firmware_sim.pms5003 import Measurement

PM25_ANNUAL_MEAN = 71.0  # µg/m³, Liaocheng 2017 (reference/liaocheng.md)
PM10_ANNUAL_MEAN = 136.0  # µg/m³, Liaocheng 2017 (reference/liaocheng.md)
PM10_RATIO = PM10_ANNUAL_MEAN / PM25_ANNUAL_MEAN
DIURNAL_AMPLITUDE = 0.35  # ± fraction of the mean between the night peak and afternoon low
PEAK_HOUR = 3.0  # local time of the diurnal maximum
EPISODE_SIGMA = 0.35  # standard deviation of the log-normal episode factor
EPISODE_SECONDS = 2 * 3600.0  # correlation time of the episode factor
NOISE = 0.03  # relative white measurement noise
UTC_OFFSET_HOURS = 8  # Asia/Shanghai has no daylight saving time
MAX_PM = 1000  # the sensor's reporting ceiling, µg/m³
_WORD_MAX = 0xFFFF


@dataclass(frozen=True, slots=True)
class _CountShape:
    per_pm25: float  # particles per 0.1 L for each µg/m³ of PM2.5
    per_coarse: float  # particles per 0.1 L for each µg/m³ of PM10 - PM2.5


# Size distribution of the counts (per 0.1 L) in the proportions low-cost sensors report in urban
# air: most particles are below 1 µm, the few above 2.5 µm follow the coarse mass.
_COUNT_SHAPES = (
    _CountShape(per_pm25=160.0, per_coarse=2.0),  # > 0.3 µm
    _CountShape(per_pm25=48.0, per_coarse=1.5),  # > 0.5 µm
    _CountShape(per_pm25=8.0, per_coarse=1.0),  # > 1.0 µm
    _CountShape(per_pm25=0.5, per_coarse=0.6),  # > 2.5 µm
    _CountShape(per_pm25=0.05, per_coarse=0.15),  # > 5 µm
    _CountShape(per_pm25=0.01, per_coarse=0.04),  # > 10 µm
)


def diurnal_factor(epoch_s: float) -> float:
    """Multiplier of the annual mean at a given instant, from the local hour of day."""
    hour = (epoch_s / 3600.0 + UTC_OFFSET_HOURS) % 24.0
    return 1.0 + DIURNAL_AMPLITUDE * math.cos(2.0 * math.pi * (hour - PEAK_HOUR) / 24.0)


def cf1_from_atmospheric(atm: int) -> int:
    """The "CF=1" reading that goes with an atmospheric one.

    Plantower sensors report identical values at low concentrations and a somewhat higher CF=1
    value as the concentration rises.
    """
    if atm <= 30:
        return atm
    return min(_WORD_MAX, round(30 + (atm - 30) * 1.1))


class ParticulateModel:
    """A seeded series of PMS5003 measurements."""

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
        self._episode = 0.0  # log of the episode factor, an Ornstein-Uhlenbeck process
        self._last_s: float | None = None

    def sample(self, epoch_s: float) -> Measurement:
        """The measurement at ``epoch_s``; samples must be taken in time order."""
        self._advance(epoch_s)
        rnd = self._random
        episode = math.exp(self._episode - EPISODE_SIGMA**2 / 2)
        pm25 = PM25_ANNUAL_MEAN * diurnal_factor(epoch_s) * episode
        pm25 *= 1.0 + rnd.gauss(0.0, NOISE)
        pm1 = pm25 * rnd.uniform(0.6, 0.7)
        pm10 = pm25 * PM10_RATIO * (1.0 + rnd.gauss(0.0, NOISE))
        pm1_atm, pm25_atm, pm10_atm = (_clip(v, MAX_PM) for v in (pm1, pm25, pm10))
        pm10_atm = max(pm10_atm, pm25_atm)  # the size fractions are nested
        pm1_atm = min(pm1_atm, pm25_atm)
        coarse = pm10_atm - pm25_atm
        counts = tuple(
            _clip(
                (s.per_pm25 * pm25_atm + s.per_coarse * coarse) * rnd.uniform(0.9, 1.1), _WORD_MAX
            )
            for s in _COUNT_SHAPES
        )
        # a count above a larger size can never exceed the count above a smaller one
        nested = [counts[0]]
        for c in counts[1:]:
            nested.append(min(c, nested[-1]))
        return Measurement(
            pm1_cf1=cf1_from_atmospheric(pm1_atm),
            pm25_cf1=cf1_from_atmospheric(pm25_atm),
            pm10_cf1=cf1_from_atmospheric(pm10_atm),
            pm1_atm=pm1_atm,
            pm25_atm=pm25_atm,
            pm10_atm=pm10_atm,
            counts=(nested[0], nested[1], nested[2], nested[3], nested[4], nested[5]),
        )

    def _advance(self, epoch_s: float) -> None:
        # the first sample starts from the stationary distribution, later ones remember
        keep = (
            0.0
            if self._last_s is None
            else math.exp(-max(0.0, epoch_s - self._last_s) / EPISODE_SECONDS)
        )
        self._last_s = epoch_s
        self._episode = keep * self._episode + math.sqrt(1.0 - keep**2) * self._random.gauss(
            0.0, EPISODE_SIGMA
        )


def _clip(value: float, high: int) -> int:
    return max(0, min(high, round(value)))
