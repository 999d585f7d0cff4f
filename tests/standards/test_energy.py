"""GB/T 2589 coal-equivalent conversion and energy indicators."""

from datetime import date

import pytest

from standards import (
    GB_T_2589_2020_COEFFICIENTS,
    KJ_PER_KGCE,
    STEAM_LOW_PRESSURE_2008,
    Carrier,
    UnknownCarrierError,
    comprehensive_consumption,
    energy_intensity,
    from_calorific_value,
    to_kgce,
    yoy_reduction_percent,
)

C = Carrier

# From the reference notes (energy.md), kgce per unit.
REFERENCE = {
    C.ELECTRICITY: (0.1229, "kWh"),
    C.RAW_COAL: (0.7143, "kg"),
    C.WASHED_COAL: (0.9000, "kg"),
    C.COKE: (0.9714, "kg"),
    C.CRUDE_OIL: (1.4286, "kg"),
    C.FUEL_OIL: (1.4286, "kg"),
    C.GASOLINE: (1.4714, "kg"),
    C.KEROSENE: (1.4714, "kg"),
    C.DIESEL: (1.4571, "kg"),
    C.LPG: (1.7143, "kg"),
    C.NATURAL_GAS: (1.2143, "m³"),
    C.HEAT: (0.03412, "MJ"),
}


@pytest.mark.parametrize(("carrier", "expected"), REFERENCE.items())
def test_coefficients_are_the_reference_values_with_their_provenance(carrier, expected):
    coefficient = GB_T_2589_2020_COEFFICIENTS[carrier]
    assert (coefficient.value, coefficient.unit) == expected
    assert coefficient.version == "GB/T 2589-2020"
    assert coefficient.source.startswith("GB/T 2589-2020")
    assert coefficient.effective_from == date(2021, 4, 1)
    assert coefficient.verify  # the reference says to verify every coefficient


def test_the_table_has_exactly_the_reference_carriers():
    assert set(GB_T_2589_2020_COEFFICIENTS) == set(REFERENCE)


def test_heat_coefficient_agrees_with_the_definition_of_kgce():
    assert round(1000 / KJ_PER_KGCE, 5) == GB_T_2589_2020_COEFFICIENTS[C.HEAT].value


def test_electricity_to_kgce():
    conversion = to_kgce(1000, C.ELECTRICITY)
    assert conversion.kgce == pytest.approx(122.9)
    assert conversion.tce == pytest.approx(0.1229)
    assert conversion.version == "GB/T 2589-2020"
    assert conversion.coefficient.per == "kgce/kWh"


def test_comprehensive_consumption_sums_every_carrier():
    total = comprehensive_consumption(
        [(1000, C.ELECTRICITY), (1000, C.RAW_COAL), (100, C.NATURAL_GAS), (-200, C.ELECTRICITY)]
    )
    assert total.kgce == pytest.approx(122.9 + 714.3 + 121.43 - 24.58)
    assert total.tce == pytest.approx(total.kgce / 1000)
    assert total.versions == ("GB/T 2589-2020",)
    assert len(total.parts) == 4


def test_steam_has_no_default_coefficient():
    with pytest.raises(UnknownCarrierError, match="enthalpy"):
        to_kgce(1000, C.STEAM)


def test_steam_by_the_superseded_value_or_by_enthalpy():
    table = {**GB_T_2589_2020_COEFFICIENTS, C.STEAM: STEAM_LOW_PRESSURE_2008}
    total = comprehensive_consumption([(1000, C.STEAM), (1000, C.ELECTRICITY)], table)
    assert total.kgce == pytest.approx(128.6 + 122.9)
    assert total.versions == ("GB/T 2589-2008", "GB/T 2589-2020")
    steam = from_calorific_value(
        C.STEAM, 2_930.7, "kg", source="site steam table", effective_from=date(2026, 1, 1)
    )
    assert steam.value == pytest.approx(0.1)
    assert to_kgce(10, C.STEAM, {C.STEAM: steam}).kgce == pytest.approx(1.0)


def test_natural_gas_from_the_suppliers_calorific_value():
    gas = from_calorific_value(
        C.NATURAL_GAS, 35_588, "m³", source="supplier 2026", effective_from=date(2026, 1, 1)
    )
    assert gas.value == pytest.approx(1.2143, abs=1e-4)
    assert "29307" in gas.source


def test_bad_quantities_are_refused():
    with pytest.raises(ValueError, match="finite"):
        to_kgce(float("nan"), C.ELECTRICITY)
    with pytest.raises(ValueError, match="positive"):
        from_calorific_value(C.NATURAL_GAS, 0, "m³", source="x", effective_from=date(2026, 1, 1))


def test_energy_intensity():
    assert energy_intensity(120.0, 60.0) == 2.0
    with pytest.raises(ValueError, match="output"):
        energy_intensity(1.0, 0.0)


def test_year_on_year_reduction():
    assert yoy_reduction_percent(86.5, 100) == pytest.approx(13.5)
    assert yoy_reduction_percent(110, 100) == pytest.approx(-10)
    with pytest.raises(ValueError, match="previous"):
        yoy_reduction_percent(1, 0)
