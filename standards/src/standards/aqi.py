"""Individual air quality indices (IAQI) and the AQI, computed as HJ 633 prescribes.

For a concentration C between the breakpoints BP_lo and BP_hi of its table,

    IAQI = (IAQI_hi - IAQI_lo) / (BP_hi - BP_lo) * (C - BP_lo) + IAQI_lo  (HJ 633-2012 formula 1)

rounded up to an integer. AQI is the largest IAQI (HJ 633-2012 formula 2); the
primary pollutants (首要污染物) are those whose IAQI equals the AQI when it is above 50, the
exceeding pollutants (超标污染物) those with an IAQI above 100 (HJ 633-2012 §3).

Decisions this module makes where the standard is silent or easy to get wrong:

- **Exact arithmetic.** A concentration is taken at its shortest decimal form (35.8 is 179/5,
  not the binary float nearest to it) and the formula is evaluated in fractions, so every
  breakpoint maps exactly to its level and rounding up never adds one by accident.
- **Beyond the top breakpoint** (IAQI would exceed 500) the IAQI is capped at the table's top
  level and the sub-index says ``beyond_table=True``; the AQI then falls in 严重污染 and its
  result carries the same flag, so a report can print "> 500" rather than a false 500.
- **Deferred tables** (HJ 633-2012 Table 1 notes 2 and 3): an SO2 1-hour value above 800 µg/m³
  is dropped and SO2 is indexed by its 24-hour mean; an O3 8-hour value above 800 µg/m³ is
  dropped and O3 is indexed by its 1-hour value. :func:`aqi` does this and records it in
  ``substitutions``; it raises :class:`SubstituteRequiredError` when the other concentration
  was not supplied, and so does :func:`iaqi` for such a value.

Which concentrations go in is the caller's choice, per HJ 633-2012: the daily report uses
24-hour means of SO2, NO2, CO, PM10, PM2.5 plus the day's maximum 1-hour and maximum 8-hour O3;
the hourly report uses 1-hour values of SO2, NO2, CO, O3, the current 8-hour O3 mean and the
24-hour moving means of PM10 and PM2.5.
"""

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from standards.aqi_tables import HJ_633_2012_AQI, AqiCategory, AqiStandard, BreakpointTable
from standards.errors import InvalidValueError, SubstituteRequiredError
from standards.pollutants import Averaging, Pollutant


@dataclass(frozen=True, slots=True)
class SubIndex:
    """The IAQI of one concentration.

    Attributes:
        value: the IAQI, an integer.
        beyond_table: the concentration is above the table's top breakpoint and ``value`` is
            the capped top level, not a computed index.
        version: the HJ 633 edition used.
    """

    pollutant: Pollutant
    averaging: Averaging
    concentration: float
    value: int
    beyond_table: bool
    version: str


@dataclass(frozen=True, slots=True)
class AqiResult:
    """An AQI with everything it was computed from.

    Attributes:
        value: the AQI, the largest IAQI.
        category: its HJ 633 category, with name and colour.
        sub_indices: the IAQIs that took part, in input order (after substitutions).
        primary: sub-indices equal to the AQI when the AQI is above 50; empty otherwise.
        exceeding: sub-indices above 100; ``None`` when the edition has no such concept.
        substitutions: one sentence per value replaced under HJ 633-2012 Table 1 notes 2, 3.
        version: the HJ 633 edition used.
    """

    value: int
    category: AqiCategory
    sub_indices: tuple[SubIndex, ...]
    primary: tuple[SubIndex, ...]
    exceeding: tuple[SubIndex, ...] | None
    substitutions: tuple[str, ...]
    version: str

    @property
    def beyond_table(self) -> bool:
        """Whether the AQI is a capped value ("> 500") rather than a computed one."""
        return any(s.beyond_table and s.value == self.value for s in self.sub_indices)

    @property
    def primary_pollutants(self) -> tuple[Pollutant, ...]:
        """Primary pollutants, each once (O3 1-hour and 8-hour tying name O3 once)."""
        return tuple(dict.fromkeys(s.pollutant for s in self.primary))

    @property
    def exceeding_pollutants(self) -> tuple[Pollutant, ...] | None:
        """Exceeding pollutants, each once; ``None`` when the edition has no such concept."""
        if self.exceeding is None:
            return None
        return tuple(dict.fromkeys(s.pollutant for s in self.exceeding))


def _exact(value: float, what: str) -> Fraction:
    """``value`` as the decimal it is written as, refusing negatives, NaN and infinities."""
    if not math.isfinite(value) or value < 0:
        raise InvalidValueError(what, value)
    return Fraction(repr(float(value)))


def _interpolate(table: BreakpointTable, c: Fraction) -> int:
    """The rounded-up IAQI of ``c``, which lies within the table."""
    points = zip(table.breakpoints, table.levels, strict=True)
    for (bp_lo, iaqi_lo), (bp_hi, iaqi_hi) in itertools.pairwise(points):
        lo, hi = _exact(bp_lo, "breakpoint"), _exact(bp_hi, "breakpoint")
        if c <= hi:
            # HJ 633-2012 formula (1), rounded up
            return math.ceil(Fraction(iaqi_hi - iaqi_lo) / (hi - lo) * (c - lo) + iaqi_lo)
    msg = f"{c} is above the table"  # unreachable: callers check the top first
    raise AssertionError(msg)


def iaqi(
    pollutant: Pollutant,
    averaging: Averaging,
    concentration: float,
    *,
    standard: AqiStandard = HJ_633_2012_AQI,
) -> SubIndex:
    """The IAQI of one concentration (µg/m³; CO in mg/m³).

    Raises:
        NoBreakpointsError: the edition has no table for this pollutant and averaging.
        SubstituteRequiredError: the value is above a table that defers to another averaging
            (SO2 1-hour or O3 8-hour above 800 µg/m³); index that other concentration instead.
        InvalidValueError: a negative, infinite or NaN concentration.
    """
    table = standard.table(pollutant, averaging)
    c = _exact(concentration, f"{pollutant} {averaging} concentration")
    if c > _exact(table.top, "breakpoint"):
        if table.above_top is not None:
            raise SubstituteRequiredError(
                pollutant, averaging, concentration, table.above_top, standard.version
            )
        return SubIndex(
            pollutant,
            averaging,
            concentration,
            table.levels[-1],
            beyond_table=True,
            version=standard.version,
        )
    value = _interpolate(table, c)
    return SubIndex(
        pollutant, averaging, concentration, value, beyond_table=False, version=standard.version
    )


def aqi(
    concentrations: Mapping[tuple[Pollutant, Averaging], float],
    *,
    standard: AqiStandard = HJ_633_2012_AQI,
) -> AqiResult:
    """The AQI of a set of concentrations keyed by (pollutant, averaging).

    Raises:
        ValueError: no concentrations at all.
        SubstituteRequiredError: a deferred value (see the module docstring) without the
            concentration it defers to.
        NoBreakpointsError, InvalidValueError: as :func:`iaqi`.
    """
    if not concentrations:
        msg = "an AQI needs at least one concentration"
        raise ValueError(msg)
    subs: list[SubIndex] = []
    substitutions: list[str] = []
    for (pollutant, averaging), concentration in concentrations.items():
        table = standard.table(pollutant, averaging)
        over = _exact(concentration, f"{pollutant} {averaging} concentration") > _exact(
            table.top, "breakpoint"
        )
        if over and table.above_top is not None:
            if (pollutant, table.above_top) not in concentrations:
                raise SubstituteRequiredError(
                    pollutant, averaging, concentration, table.above_top, standard.version
                )
            substitutions.append(
                f"{pollutant} {averaging} {concentration} is above {table.top}: "
                f"{pollutant} is indexed by its {table.above_top} value ({table.source} notes)"
            )
            continue
        subs.append(iaqi(pollutant, averaging, concentration, standard=standard))
    value = max(s.value for s in subs)
    primary = tuple(s for s in subs if s.value == value) if value > standard.primary_above else ()
    exceeding = (
        None
        if standard.exceeding_above is None
        else tuple(s for s in subs if s.value > standard.exceeding_above)
    )
    return AqiResult(
        value=value,
        category=standard.category(value),
        sub_indices=tuple(subs),
        primary=primary,
        exceeding=exceeding,
        substitutions=tuple(substitutions),
        version=standard.version,
    )


def aqi_category(value: int, *, standard: AqiStandard = HJ_633_2012_AQI) -> AqiCategory:
    """The category of an AQI value (HJ 633-2012 Table 2): 0-50 优, 51-100 良, ... >300 严重污染."""
    if value < 0:
        raise InvalidValueError("AQI", value)
    return standard.category(value)
