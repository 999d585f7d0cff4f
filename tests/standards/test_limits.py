"""GB 3095 limits: the 2012 table exactly, selection by date and edition, overrides."""

from dataclasses import replace
from datetime import date

import pytest

from standards import (
    GB_3095_2012_LIMITS,
    LIMITS,
    REVISION_2026,
    AmbiguousTableError,
    Averaging,
    Grade,
    NoLimitError,
    Pollutant,
    VersionPolicy,
    limit_for,
    limits_in_force,
)

P, A, G = Pollutant, Averaging, Grade
ON = date(2025, 6, 1)
OPT_IN = VersionPolicy(opt_in=REVISION_2026)

# GB 3095-2012 Tables 1 and 2, typed from the reference notes: (Grade I, Grade II).
GB_3095_2012_TABLE = {
    (P.PM25, A.YEAR): (15, 35),
    (P.PM25, A.DAY): (35, 75),
    (P.PM10, A.YEAR): (40, 70),
    (P.PM10, A.DAY): (50, 150),
    (P.TSP, A.YEAR): (80, 200),
    (P.TSP, A.DAY): (120, 300),
    (P.SO2, A.YEAR): (20, 60),
    (P.SO2, A.DAY): (50, 150),
    (P.SO2, A.HOUR): (150, 500),
    (P.NO2, A.YEAR): (40, 40),
    (P.NO2, A.DAY): (80, 80),
    (P.NO2, A.HOUR): (200, 200),
    (P.CO, A.DAY): (4, 4),
    (P.CO, A.HOUR): (10, 10),
    (P.O3, A.EIGHT_HOURS): (100, 160),
    (P.O3, A.HOUR): (160, 200),
}

CELLS = [
    pytest.param(p, a, g, v, id=f"{p}-{a}-{g}")
    for (p, a), grades in GB_3095_2012_TABLE.items()
    for g, v in zip((G.FIRST, G.SECOND), grades, strict=True)
]


@pytest.mark.parametrize(("pollutant", "averaging", "grade", "value"), CELLS)
def test_every_cell_of_gb_3095_2012(pollutant, averaging, grade, value):
    limit = limit_for(pollutant, averaging, grade, on=ON)
    assert limit.value == value
    assert limit.version == "GB 3095-2012"
    assert limit.standard == "GB 3095"
    assert limit.effective_from == date(2016, 1, 1)
    assert limit.unit == ("mg/m³" if pollutant is P.CO else "µg/m³")
    assert limit.source.startswith("GB 3095-2012 Table")


def test_the_2012_records_are_exactly_the_table():
    assert len(GB_3095_2012_LIMITS) == 2 * len(GB_3095_2012_TABLE)


def test_o3_8_hour_limit_says_it_is_the_daily_maximum():
    assert "daily maximum" in limit_for(P.O3, A.EIGHT_HOURS, on=ON).note


def test_grade_ii_is_the_default():
    assert limit_for(P.PM25, A.DAY, on=ON).grade is G.SECOND


def test_no_annual_co_limit():
    with pytest.raises(NoLimitError) as caught:
        limit_for(P.CO, A.YEAR, on=ON)
    assert caught.value.pollutant == P.CO


def test_nothing_before_gb_3095_2012_took_effect():
    with pytest.raises(NoLimitError):
        limit_for(P.PM25, A.DAY, on=date(2015, 12, 31))


def test_2026_revision_is_disabled_by_default():
    limit = limit_for(P.PM25, A.DAY, on=date(2027, 1, 1))
    assert (limit.value, limit.version) == (75, "GB 3095-2012")


@pytest.mark.parametrize(
    ("pollutant", "averaging", "on", "value", "version"),
    [
        (P.PM25, A.DAY, date(2026, 2, 28), 75, "GB 3095-2012"),
        (P.PM25, A.DAY, date(2026, 3, 1), 60, "GB 3095-2026"),
        (P.PM25, A.DAY, date(2030, 12, 31), 60, "GB 3095-2026"),
        (P.PM25, A.DAY, date(2031, 1, 1), 50, "GB 3095-2026"),
        (P.PM25, A.YEAR, date(2028, 1, 1), 30, "GB 3095-2026"),
        (P.PM25, A.YEAR, date(2031, 1, 1), 25, "GB 3095-2026"),
        (P.PM10, A.DAY, date(2028, 1, 1), 120, "GB 3095-2026"),
        (P.PM10, A.DAY, date(2035, 1, 1), 100, "GB 3095-2026"),
        (P.PM10, A.YEAR, date(2035, 1, 1), 70, "GB 3095-2026"),
        (P.SO2, A.DAY, date(2028, 1, 1), 150, "GB 3095-2026"),
    ],
)
def test_2026_revision_when_opted_in(pollutant, averaging, on, value, version):
    limit = limit_for(pollutant, averaging, on=on, policy=OPT_IN)
    assert (limit.value, limit.version) == (value, version)
    if version == "GB 3095-2026":
        assert limit.verify


def test_2026_revision_leaves_grade_i_as_it_was():
    limit = limit_for(P.PM25, A.DAY, G.FIRST, on=date(2028, 1, 1), policy=OPT_IN)
    assert limit.value == 35


def test_exceedance_is_strictly_above():
    limit = limit_for(P.PM25, A.DAY, on=ON)
    assert not limit.exceeded_by(75)
    assert limit.exceeded_by(75.1)


def test_a_site_limit_overrides_by_being_newer():
    base = limit_for(P.PM25, A.DAY, on=ON)
    site = replace(base, value=50, source="permit 2024-17", effective_from=date(2024, 1, 1))
    chosen = limit_for(P.PM25, A.DAY, on=ON, limits=(*LIMITS, site))
    assert chosen.value == 50
    assert limit_for(P.PM25, A.DAY, on=date(2023, 6, 1), limits=(*LIMITS, site)).value == 75


def test_two_records_of_the_same_day_are_a_data_error():
    base = limit_for(P.PM25, A.DAY, on=ON)
    with pytest.raises(AmbiguousTableError):
        limit_for(P.PM25, A.DAY, on=ON, limits=(base, replace(base, value=70)))


def test_limits_in_force_lists_one_per_pollutant_and_averaging():
    found = limits_in_force(ON)
    assert len(found) == len(GB_3095_2012_TABLE)
    assert {(x.pollutant, x.averaging) for x in found} == set(GB_3095_2012_TABLE)
    revised = {(x.pollutant, x.averaging): x.value for x in limits_in_force(ON, policy=OPT_IN)}
    assert revised[(P.PM25, A.DAY)] == 75  # the revision is not in force yet in 2025
