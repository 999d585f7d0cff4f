"""A deterministic model of particulate air pollution at a Liaocheng factory site.

The levels follow the city's 2017 baselines: PM2.5 annual mean 71 µg/m³ and PM10 annual mean
136 µg/m³ (Liaocheng's 2018-2022 plan for converting old to new growth drivers, summarised in the
project's reference notes ``reference/liaocheng.md``, "Baselines (2017)"). PM10 is therefore about
136 / 71 ≈ 1.9 times PM2.5, and PM1 about 0.6-0.7 times PM2.5, the usual fine fraction of urban
aerosol in the North China Plain.

On top of a baseline sit a diurnal cycle (highest around 03:00 local time, under the shallow night
boundary layer, lowest around 15:00), a slow red-noise "weather" excursion (hours), a small white
measurement noise and, unless switched off, pollution episodes: haze that raises PM2.5 several-fold
for half a day to a few days. Heating-season haze is the city's typical exceedance, so episodes are
frequent, long and strong while central heating runs (15 November to 15 March, Shandong's usual
heating period; the dates are not in the project's reference notes), and rare, short and milder
the rest of the year. The episode climate below is a plausible shape, not a fit to measurements.
The baseline is lowered by the episodes' expected contribution, so the long-run mean stays at the
2017 level either way.

Episodes depend on the seed and the time only, never on when samples were taken; the rest of the
series depends on the seed and the sample times. The same seed and times give the same series.
"""

import bisect
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from firmware_sim.pms5003 import Measurement

PM25_ANNUAL_MEAN = 71.0  # µg/m³, Liaocheng 2017 (reference/liaocheng.md)
PM10_ANNUAL_MEAN = 136.0  # µg/m³, Liaocheng 2017 (reference/liaocheng.md)
PM10_RATIO = PM10_ANNUAL_MEAN / PM25_ANNUAL_MEAN
DIURNAL_AMPLITUDE = 0.35  # ± fraction of the mean between the night peak and afternoon low
PEAK_HOUR = 3.0  # local time of the diurnal maximum
WEATHER_SIGMA = 0.35  # standard deviation of the log-normal weather factor
WEATHER_SECONDS = 2 * 3600.0  # correlation time of the weather factor
NOISE = 0.03  # relative white measurement noise
UTC_OFFSET_HOURS = 8  # Asia/Shanghai has no daylight saving time
MAX_PM = 1000  # the PMS5003's reporting ceiling, µg/m³
EPISODE_RAMP = 0.25  # share of an episode spent rising to its plateau, and again falling from it
EPISODES_SINCE = datetime(2000, 1, 1, tzinfo=UTC).timestamp()  # no episodes are drawn before
_LOCAL = timezone(timedelta(hours=UTC_OFFSET_HOURS))
_DAY_S = 86_400.0
_WORD_MAX = 0xFFFF


@dataclass(frozen=True, slots=True)
class EpisodeClimate:
    """How episodes come in one season: each range is drawn uniformly."""

    quiet_days: tuple[float, float]  # clean spell between the end of one episode and the next
    hours: tuple[float, float]  # length of an episode
    peak: tuple[float, float]  # multiplier of the baseline on the episode's plateau

    def long_run_excess(self) -> float:
        """Mean added multiplier over a long stretch of this season (renewal-reward)."""
        quiet_h, hours, peak = (sum(r) / 2 for r in (self.quiet_days, self.hours, self.peak))
        share = hours / (24 * quiet_h + hours)
        return share * (1 - EPISODE_RAMP) * (peak - 1)


HEATING_CLIMATE = EpisodeClimate(quiet_days=(2.0, 10.0), hours=(12.0, 60.0), peak=(2.5, 5.0))
OTHER_CLIMATE = EpisodeClimate(quiet_days=(10.0, 40.0), hours=(6.0, 24.0), peak=(1.8, 3.0))
HEATING_SHARE = 121 / 365  # 15 November to 15 March
EPISODE_MEAN_FACTOR = (
    1
    + HEATING_SHARE * HEATING_CLIMATE.long_run_excess()
    + (1 - HEATING_SHARE) * OTHER_CLIMATE.long_run_excess()
)


@dataclass(frozen=True, slots=True)
class Episode:
    """One pollution episode: a trapezoid rising to ``peak`` times the baseline and back."""

    start_s: float
    end_s: float
    peak: float

    def factor(self, epoch_s: float) -> float:
        """Multiplier of the baseline at ``epoch_s``: 1 outside the episode."""
        if not self.start_s < epoch_s < self.end_s:
            return 1.0
        ramp = EPISODE_RAMP * (self.end_s - self.start_s)
        rise = min(epoch_s - self.start_s, self.end_s - epoch_s, ramp) / ramp
        return 1.0 + (self.peak - 1.0) * rise


@dataclass(frozen=True, slots=True)
class Concentrations:
    """Ambient mass concentrations in µg/m³, unrounded; pm1 <= pm25 <= pm10."""

    pm1: float
    pm25: float
    pm10: float


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


def in_heating_season(epoch_s: float) -> bool:
    """Whether central heating runs at ``epoch_s``: 15 November to 15 March, local dates."""
    day = datetime.fromtimestamp(epoch_s, _LOCAL)
    return (day.month, day.day) >= (11, 15) or (day.month, day.day) <= (3, 15)


def cf1_from_atmospheric(atm: int) -> int:
    """The "CF=1" reading that goes with an atmospheric one.

    Plantower sensors report identical values at low concentrations and a somewhat higher CF=1
    value as the concentration rises.
    """
    if atm <= 30:
        return atm
    return min(_WORD_MAX, round(30 + (atm - 30) * 1.1))


class EpisodeSchedule:
    """The seeded sequence of pollution episodes since 2000, drawn forward as far as asked."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(f"episodes-{seed}")  # noqa: S311 - not cryptography
        self._episodes: list[Episode] = []
        self._starts: list[float] = []
        self._drawn_until = EPISODES_SINCE  # end of the last episode drawn

    def between(self, start_s: float, end_s: float) -> list[Episode]:
        """The episodes that overlap ``[start_s, end_s)``, in time order."""
        self._draw_until(end_s)
        first = max(0, bisect.bisect_right(self._starts, start_s) - 1)
        last = bisect.bisect_left(self._starts, end_s)
        return [e for e in self._episodes[first:last] if e.end_s > start_s]

    def factor(self, epoch_s: float) -> float:
        """Multiplier of the baseline at ``epoch_s`` (episodes never overlap)."""
        return math.prod(e.factor(epoch_s) for e in self.between(epoch_s, epoch_s + 1.0))

    def _draw_until(self, epoch_s: float) -> None:
        rnd = self._random
        while self._drawn_until <= epoch_s:
            quiet = _climate(self._drawn_until).quiet_days
            start = self._drawn_until + rnd.uniform(*quiet) * _DAY_S
            climate = _climate(start)
            end = start + rnd.uniform(*climate.hours) * 3600.0
            self._episodes.append(Episode(start, end, rnd.uniform(*climate.peak)))
            self._starts.append(start)
            self._drawn_until = end


def _climate(epoch_s: float) -> EpisodeClimate:
    return HEATING_CLIMATE if in_heating_season(epoch_s) else OTHER_CLIMATE


class ParticulateModel:
    """A seeded series of particulate concentrations, and PMS5003 measurements made of them."""

    def __init__(self, seed: int = 0, *, episodes: bool = True) -> None:
        self._random = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
        self._episodes = EpisodeSchedule(seed) if episodes else None
        self._baseline = PM25_ANNUAL_MEAN / (EPISODE_MEAN_FACTOR if episodes else 1.0)
        self._weather = 0.0  # log of the weather factor, an Ornstein-Uhlenbeck process
        self._last_s: float | None = None

    def episodes_between(self, start_s: float, end_s: float) -> list[Episode]:
        """The pollution episodes overlapping ``[start_s, end_s)``; none when switched off."""
        return [] if self._episodes is None else self._episodes.between(start_s, end_s)

    def concentrations(self, epoch_s: float) -> Concentrations:
        """The ambient concentrations at ``epoch_s``; samples must be taken in time order."""
        self._advance(epoch_s)
        rnd = self._random
        weather = math.exp(self._weather - WEATHER_SIGMA**2 / 2)
        episode = 1.0 if self._episodes is None else self._episodes.factor(epoch_s)
        pm25 = self._baseline * diurnal_factor(epoch_s) * weather * episode
        pm25 *= 1.0 + rnd.gauss(0.0, NOISE)
        pm1 = pm25 * rnd.uniform(0.6, 0.7)
        pm10 = pm25 * PM10_RATIO * (1.0 + rnd.gauss(0.0, NOISE))
        pm25 = max(0.0, pm25)
        return Concentrations(pm1=min(max(0.0, pm1), pm25), pm25=pm25, pm10=max(pm10, pm25))

    def sample(self, epoch_s: float) -> Measurement:
        """The PMS5003 measurement at ``epoch_s``; samples must be taken in time order."""
        c = self.concentrations(epoch_s)
        rnd = self._random
        pm1_atm, pm25_atm, pm10_atm = (_clip(v, MAX_PM) for v in (c.pm1, c.pm25, c.pm10))
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
        for count in counts[1:]:
            nested.append(min(count, nested[-1]))
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
            else math.exp(-max(0.0, epoch_s - self._last_s) / WEATHER_SECONDS)
        )
        self._last_s = epoch_s
        self._weather = keep * self._weather + math.sqrt(1.0 - keep**2) * self._random.gauss(
            0.0, WEATHER_SIGMA
        )


def _clip(value: float, high: int) -> int:
    return max(0, min(high, round(value)))
