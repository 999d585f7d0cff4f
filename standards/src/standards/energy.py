"""Energy in standard coal equivalent (GB/T 2589), and the indicators built on it.

Comprehensive energy consumption is E = Σ eᵢ · kᵢ: each carrier's physical quantity times its
coal-equivalent coefficient (GB/T 2589-2020). Coefficients are data records with their edition,
source and effective date, never literals in callers. The default table,
:data:`GB_T_2589_2020_COEFFICIENTS`, is a plain mapping that a site overrides by building its
own (``{**GB_T_2589_2020_COEFFICIENTS, Carrier.NATURAL_GAS: from_calorific_value(...)}``).

Every coefficient is marked "verify": the reference notes list them as commonly used values to
check against the standard. Electricity is converted at its equivalent value (当量值, the
energy content of a kWh); the equal value (等价值), which depends on the year's power-plant
coal rate, is not encoded. Natural gas and steam depend on the fuel or the steam state: use
:func:`from_calorific_value` with the supplier's calorific value or the steam's enthalpy.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from standards.errors import InvalidValueError, UnknownCarrierError
from standards.versions import GB_T_2589_2008, GB_T_2589_2020

KJ_PER_KGCE = 29_307  # GB/T 2589-2020: 1 kgce has a low calorific value of 29 307 kJ
KGCE_PER_TCE = 1000


class Carrier(StrEnum):
    """An energy carrier with a GB/T 2589 coefficient."""

    ELECTRICITY = "electricity"
    RAW_COAL = "raw_coal"
    WASHED_COAL = "washed_coal"
    COKE = "coke"
    CRUDE_OIL = "crude_oil"
    FUEL_OIL = "fuel_oil"
    GASOLINE = "gasoline"
    KEROSENE = "kerosene"
    DIESEL = "diesel"
    LPG = "lpg"
    NATURAL_GAS = "natural_gas"
    HEAT = "heat"
    STEAM = "steam"


@dataclass(frozen=True, slots=True)
class Coefficient:
    """kgce per physical unit of one carrier.

    Attributes:
        unit: the physical unit of the quantity (kWh, kg, m³, MJ); the coefficient is in
            kgce per that unit.
        verify: what still has to be checked against the official text; ``None`` if nothing.
    """

    carrier: Carrier
    value: float
    unit: str
    version: str
    source: str
    effective_from: date
    verify: str | None = None
    note: str = ""

    @property
    def per(self) -> str:
        """The coefficient's unit, e.g. ``kgce/kWh``."""
        return f"kgce/{self.unit}"


_C = Carrier
_A = "GB/T 2589-2020 Appendix A"
_CHECK = "the coefficient against GB/T 2589-2020 Appendix A"


def _k(carrier: Carrier, value: float, unit: str, note: str = "") -> Coefficient:
    return Coefficient(
        carrier, value, unit, GB_T_2589_2020.id, _A, GB_T_2589_2020.effective_from, _CHECK, note
    )


GB_T_2589_2020_COEFFICIENTS: Mapping[Carrier, Coefficient] = MappingProxyType(
    {
        # GB/T 2589-2020 Appendix A: electricity at its equivalent value (当量值)
        _C.ELECTRICITY: _k(_C.ELECTRICITY, 0.1229, "kWh", "equivalent value (当量值)"),
        _C.RAW_COAL: _k(_C.RAW_COAL, 0.7143, "kg"),  # GB/T 2589-2020 Appendix A
        _C.WASHED_COAL: _k(_C.WASHED_COAL, 0.9000, "kg"),  # GB/T 2589-2020 Appendix A
        _C.COKE: _k(_C.COKE, 0.9714, "kg"),  # GB/T 2589-2020 Appendix A
        _C.CRUDE_OIL: _k(_C.CRUDE_OIL, 1.4286, "kg"),  # GB/T 2589-2020 Appendix A
        _C.FUEL_OIL: _k(_C.FUEL_OIL, 1.4286, "kg"),  # GB/T 2589-2020 Appendix A
        _C.GASOLINE: _k(_C.GASOLINE, 1.4714, "kg"),  # GB/T 2589-2020 Appendix A
        _C.KEROSENE: _k(_C.KEROSENE, 1.4714, "kg"),  # GB/T 2589-2020 Appendix A
        _C.DIESEL: _k(_C.DIESEL, 1.4571, "kg"),  # GB/T 2589-2020 Appendix A
        _C.LPG: _k(_C.LPG, 1.7143, "kg"),  # GB/T 2589-2020 Appendix A
        _C.NATURAL_GAS: _k(  # GB/T 2589-2020 Appendix A: 1.1000-1.3300 kgce/m³
            _C.NATURAL_GAS,
            1.2143,
            "m³",
            "the standard gives 1.1000-1.3300; 1.2143 is the common default, prefer the "
            "supplier's calorific value (from_calorific_value)",
        ),
        _C.HEAT: _k(_C.HEAT, 0.03412, "MJ"),  # GB/T 2589-2020 Appendix A
    }
)
"""GB/T 2589-2020 coefficients. Steam is absent on purpose: see :data:`STEAM_LOW_PRESSURE_2008`."""

STEAM_LOW_PRESSURE_2008 = Coefficient(
    carrier=Carrier.STEAM,
    value=0.1286,  # GB/T 2589-2008 Appendix A: low-pressure steam, about 0.1286 kgce/kg
    unit="kg",
    version=GB_T_2589_2008.id,
    source="GB/T 2589-2008 Appendix A",
    effective_from=GB_T_2589_2008.effective_from,
    verify="the value; GB/T 2589-2020 derives steam from its enthalpy instead",
    note="superseded edition; compute from the steam's enthalpy where it is known",
)


def from_calorific_value(
    carrier: Carrier, kj_per_unit: float, unit: str, *, source: str, effective_from: date
) -> Coefficient:
    """A coefficient from a measured calorific value or enthalpy (kJ per ``unit``).

    GB/T 2589-2020 converts any carrier by its low calorific value: kgce = kJ / 29 307. Use it
    for natural gas with the supplier's value and for steam with its enthalpy.
    """
    if not math.isfinite(kj_per_unit) or kj_per_unit <= 0:
        raise InvalidValueError("calorific value", kj_per_unit, "a finite positive number")
    return Coefficient(
        carrier=carrier,
        value=kj_per_unit / KJ_PER_KGCE,
        unit=unit,
        version=GB_T_2589_2020.id,
        source=f"{source}; kgce = kJ / {KJ_PER_KGCE} (GB/T 2589-2020)",
        effective_from=effective_from,
    )


@dataclass(frozen=True, slots=True)
class Conversion:
    """A physical quantity in kgce, with the coefficient (and so the edition) used."""

    quantity: float
    carrier: Carrier
    kgce: float
    coefficient: Coefficient

    @property
    def tce(self) -> float:
        """The same in tonnes of coal equivalent."""
        return self.kgce / KGCE_PER_TCE

    @property
    def version(self) -> str:
        """The edition the coefficient comes from."""
        return self.coefficient.version


def to_kgce(
    quantity: float,
    carrier: Carrier,
    coefficients: Mapping[Carrier, Coefficient] = GB_T_2589_2020_COEFFICIENTS,
) -> Conversion:
    """``quantity`` of ``carrier`` (in the coefficient's unit) in kgce.

    A negative quantity is energy supplied to others, which GB/T 2589 subtracts.

    Raises:
        UnknownCarrierError: no coefficient for ``carrier`` in ``coefficients``.
        InvalidValueError: a NaN or infinite quantity.
    """
    if not math.isfinite(quantity):
        raise InvalidValueError(f"{carrier} quantity", quantity, "a finite number")
    coefficient = coefficients.get(carrier)
    if coefficient is None:
        hint = "use from_calorific_value with its enthalpy" if carrier is Carrier.STEAM else ""
        raise UnknownCarrierError(carrier, hint)
    return Conversion(quantity, carrier, quantity * coefficient.value, coefficient)


@dataclass(frozen=True, slots=True)
class EnergyTotal:
    """Comprehensive energy consumption E = Σ eᵢ · kᵢ, with its parts."""

    kgce: float
    parts: tuple[Conversion, ...]

    @property
    def tce(self) -> float:
        """The total in tonnes of coal equivalent."""
        return self.kgce / KGCE_PER_TCE

    @property
    def versions(self) -> tuple[str, ...]:
        """Every edition a coefficient was taken from, sorted."""
        return tuple(sorted({part.version for part in self.parts}))


def comprehensive_consumption(
    quantities: Iterable[tuple[float, Carrier]],
    coefficients: Mapping[Carrier, Coefficient] = GB_T_2589_2020_COEFFICIENTS,
) -> EnergyTotal:
    """Total energy consumption of (quantity, carrier) pairs (GB/T 2589-2020)."""
    parts = tuple(to_kgce(q, c, coefficients) for q, c in quantities)
    return EnergyTotal(math.fsum(p.kgce for p in parts), parts)


def energy_intensity(energy: float, output: float) -> float:
    """Energy per unit of output: tce per 10,000 yuan (万元产值能耗), kgce per tonne, ...

    The unit is the caller's: energy in tce over output value in 10,000 yuan at comparable
    prices gives 万元产值能耗; energy over physical output gives unit-product consumption.
    """
    if not math.isfinite(output) or output <= 0:
        raise InvalidValueError("output", output, "a finite positive number")
    if not math.isfinite(energy):
        raise InvalidValueError("energy", energy, "a finite number")
    return energy / output


def yoy_reduction_percent(current: float, previous: float) -> float:
    """Year-on-year reduction in per cent: (1 - current / previous) * 100; negative is a rise."""
    if not math.isfinite(previous) or previous <= 0:
        raise InvalidValueError("previous value", previous, "a finite positive number")
    if not math.isfinite(current):
        raise InvalidValueError("current value", current, "a finite number")
    return (1 - current / previous) * 100
