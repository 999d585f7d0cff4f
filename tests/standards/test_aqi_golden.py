"""Golden tests: HJ 633-2012 reproduced exactly, from tables typed in here independently."""

from datetime import date

import pytest

from standards import (
    HJ_633_2012_AQI,
    HJ_633_2026_AQI,
    REVISION_2026,
    Averaging,
    NoBreakpointsError,
    Pollutant,
    SubstituteRequiredError,
    VersionPolicy,
    aqi,
    aqi_category,
    aqi_standard_for,
    iaqi,
)

P, A = Pollutant, Averaging
LEVELS = (0, 50, 100, 150, 200, 300, 400, 500)

# HJ 633-2012 Table 1, typed from the reference notes, not imported from the code.
HJ_633_2012_TABLE_1 = {
    (P.PM25, A.DAY): (0, 35, 75, 115, 150, 250, 350, 500),
    (P.PM10, A.DAY): (0, 50, 150, 250, 350, 420, 500, 600),
    (P.SO2, A.DAY): (0, 50, 150, 475, 800, 1600, 2100, 2620),
    (P.SO2, A.HOUR): (0, 150, 500, 650, 800),
    (P.NO2, A.DAY): (0, 40, 80, 180, 280, 565, 750, 940),
    (P.NO2, A.HOUR): (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    (P.CO, A.DAY): (0, 2, 4, 14, 24, 36, 48, 60),
    (P.CO, A.HOUR): (0, 5, 10, 35, 60, 90, 120, 150),
    (P.O3, A.HOUR): (0, 160, 200, 300, 400, 800, 1000, 1200),
    (P.O3, A.EIGHT_HOURS): (0, 100, 160, 215, 265, 800),
}

EVERY_BREAKPOINT = [
    pytest.param(p, a, bp, level, id=f"{p}-{a}-{bp}")
    for (p, a), bps in HJ_633_2012_TABLE_1.items()
    for bp, level in zip(bps, LEVELS, strict=False)
]


def test_the_code_holds_exactly_the_standard_tables():
    held = {(t.pollutant, t.averaging): t.breakpoints for t in HJ_633_2012_AQI.tables}
    assert held == HJ_633_2012_TABLE_1


@pytest.mark.parametrize(("pollutant", "averaging", "concentration", "level"), EVERY_BREAKPOINT)
def test_every_breakpoint_maps_to_its_level(pollutant, averaging, concentration, level):
    sub = iaqi(pollutant, averaging, concentration)
    assert sub.value == level
    assert not sub.beyond_table
    assert sub.version == "HJ 633-2012"


@pytest.mark.parametrize(
    ("pollutant", "averaging", "concentration", "expected"),
    [
        (P.PM25, A.DAY, 35.1, 51),  # 50 + 50/40 * 0.1 = 50.125, rounded up
        (P.PM25, A.DAY, 55, 75),  # 50 + 1.25 * 20 = 75 exactly: no rounding
        (P.PM25, A.DAY, 75.1, 101),
        (P.PM25, A.DAY, 80, 107),  # 100 + 1.25 * 5 = 106.25
        (P.PM10, A.DAY, 100, 75),
        (P.PM10, A.DAY, 151, 101),  # 100 + 0.5 * 1 = 100.5
        (P.SO2, A.DAY, 300, 124),  # 100 + 50/325 * 150 = 123.08
        (P.NO2, A.HOUR, 150, 75),
        (P.CO, A.HOUR, 5.5, 55),  # mg/m³
        (P.O3, A.HOUR, 900, 350),
        (P.O3, A.EIGHT_HOURS, 500, 244),  # 200 + 100/535 * 235 = 243.93
    ],
)
def test_values_between_breakpoints_round_up(pollutant, averaging, concentration, expected):
    assert iaqi(pollutant, averaging, concentration).value == expected


@pytest.mark.parametrize(
    ("pollutant", "averaging", "concentration", "expected"),
    [
        # Exact values that naive floating point rounds one too high.
        (P.PM25, A.DAY, 4.9, 7),  # 50/35 * 4.9 = 7
        (P.CO, A.DAY, 2.2, 55),  # 50 + 50/2 * 0.2 = 55
        (P.O3, A.EIGHT_HOURS, 158.8, 99),  # 50 + 50/60 * 58.8 = 99: still Good, not 100
        (P.PM10, A.DAY, 352.1, 203),  # 200 + 100/70 * 2.1 = 203
        (P.SO2, A.DAY, 2120.8, 404),  # 400 + 100/520 * 20.8 = 404
    ],
)
def test_exact_integers_are_not_pushed_up_by_float_error(
    pollutant, averaging, concentration, expected
):
    assert iaqi(pollutant, averaging, concentration).value == expected


def test_so2_24_hour_table_is_not_the_1_hour_one():
    # The pitfall of a popular library: 150, 500, 650, 800 in the 24-hour table would give 122
    # for 300 and 150 for 500.
    assert iaqi(P.SO2, A.DAY, 300).value == 124
    assert iaqi(P.SO2, A.DAY, 475).value == 150
    assert iaqi(P.SO2, A.DAY, 500).value == 154
    assert iaqi(P.SO2, A.DAY, 800).value == 200
    assert iaqi(P.SO2, A.HOUR, 500).value == 100


@pytest.mark.parametrize(
    ("value", "level", "name_zh", "name_en", "colour"),
    [
        (0, 1, "优", "Excellent", (0, 228, 0)),
        (50, 1, "优", "Excellent", (0, 228, 0)),
        (51, 2, "良", "Good", (255, 255, 0)),
        (100, 2, "良", "Good", (255, 255, 0)),
        (101, 3, "轻度污染", "Lightly polluted", (255, 126, 0)),
        (150, 3, "轻度污染", "Lightly polluted", (255, 126, 0)),
        (151, 4, "中度污染", "Moderately polluted", (255, 0, 0)),
        (200, 4, "中度污染", "Moderately polluted", (255, 0, 0)),
        (201, 5, "重度污染", "Heavily polluted", (153, 0, 76)),
        (300, 5, "重度污染", "Heavily polluted", (153, 0, 76)),
        (301, 6, "严重污染", "Severely polluted", (126, 0, 35)),
        (500, 6, "严重污染", "Severely polluted", (126, 0, 35)),
    ],
)
def test_category_edges_and_colours(value, level, name_zh, name_en, colour):
    category = aqi_category(value)
    assert (category.level, category.name_zh, category.name_en, category.colour) == (
        level,
        name_zh,
        name_en,
        colour,
    )


def test_colour_hex():
    assert aqi_category(0).colour_hex == "#00E400"
    assert aqi_category(400).colour_hex == "#7E0023"


def test_aqi_is_the_max_and_names_primary_and_exceeding_pollutants():
    result = aqi({(P.PM25, A.DAY): 80, (P.PM10, A.DAY): 100, (P.NO2, A.DAY): 40})
    assert result.value == 107
    assert result.category.name_zh == "轻度污染"
    assert result.primary_pollutants == (P.PM25,)
    assert result.exceeding_pollutants == (P.PM25,)
    assert [s.value for s in result.sub_indices] == [107, 75, 50]
    assert result.version == "HJ 633-2012"


def test_primary_pollutant_ties_name_all_of_them():
    result = aqi({(P.PM25, A.DAY): 75, (P.PM10, A.DAY): 150, (P.SO2, A.DAY): 10})
    assert result.value == 100
    assert result.primary_pollutants == (P.PM25, P.PM10)
    assert result.exceeding_pollutants == ()  # 100 is not above 100


def test_no_primary_pollutant_at_or_below_50():
    result = aqi({(P.PM25, A.DAY): 35, (P.PM10, A.DAY): 50})
    assert result.value == 50
    assert result.primary == ()
    result = aqi({(P.PM25, A.DAY): 35.1})
    assert result.value == 51
    assert result.primary_pollutants == (P.PM25,)


def test_o3_tying_with_itself_is_named_once():
    result = aqi({(P.O3, A.HOUR): 200, (P.O3, A.EIGHT_HOURS): 160})
    assert result.value == 100
    assert len(result.primary) == 2
    assert result.primary_pollutants == (P.O3,)


def test_so2_1_hour_above_800_uses_the_24_hour_iaqi():
    result = aqi({(P.SO2, A.HOUR): 900, (P.SO2, A.DAY): 300, (P.PM25, A.DAY): 50})
    assert result.value == 124
    assert [(s.pollutant, s.averaging) for s in result.sub_indices] == [
        (P.SO2, A.DAY),
        (P.PM25, A.DAY),
    ]
    assert len(result.substitutions) == 1
    assert "so2 1h 900" in result.substitutions[0]


def test_so2_1_hour_at_800_is_still_indexed():
    assert aqi({(P.SO2, A.HOUR): 800}).value == 200


def test_so2_1_hour_above_800_without_24_hour_is_an_error():
    with pytest.raises(SubstituteRequiredError) as caught:
        aqi({(P.SO2, A.HOUR): 801})
    assert caught.value.use == A.DAY
    with pytest.raises(SubstituteRequiredError):
        iaqi(P.SO2, A.HOUR, 801)


def test_o3_8_hour_above_800_uses_the_1_hour_iaqi():
    result = aqi({(P.O3, A.EIGHT_HOURS): 850, (P.O3, A.HOUR): 900})
    assert result.value == 350  # 300 + 100/200 * 100
    assert [s.averaging for s in result.sub_indices] == [A.HOUR]
    assert result.category.level == 6
    with pytest.raises(SubstituteRequiredError) as caught:
        aqi({(P.O3, A.EIGHT_HOURS): 850})
    assert caught.value.use == A.HOUR


def test_above_the_top_breakpoint_is_capped_and_flagged():
    sub = iaqi(P.PM25, A.DAY, 650)
    assert (sub.value, sub.beyond_table) == (500, True)
    result = aqi({(P.PM25, A.DAY): 650, (P.PM10, A.DAY): 100})
    assert result.value == 500
    assert result.beyond_table
    assert result.category.name_en == "Severely polluted"
    assert not aqi({(P.PM25, A.DAY): 500}).beyond_table


def test_no_table_for_tsp_or_pm_1_hour():
    with pytest.raises(NoBreakpointsError):
        iaqi(P.TSP, A.DAY, 100)
    with pytest.raises(NoBreakpointsError):
        iaqi(P.PM25, A.HOUR, 100)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_invalid_concentrations_are_refused(bad):
    with pytest.raises(ValueError, match="must be"):
        iaqi(P.PM25, A.DAY, bad)


def test_no_concentrations_no_aqi():
    with pytest.raises(ValueError, match="at least one"):
        aqi({})


def test_2026_tables_are_disabled_by_default():
    assert aqi_standard_for(date(2027, 1, 1)) is HJ_633_2012_AQI
    assert aqi({(P.PM25, A.DAY): 60}).value == 82  # 50 + 1.25 * 25 = 81.25


def test_2026_tables_when_opted_in():
    policy = VersionPolicy(opt_in=REVISION_2026)
    assert aqi_standard_for(date(2026, 2, 28), policy) is HJ_633_2012_AQI
    standard = aqi_standard_for(date(2026, 3, 1), policy)
    assert standard is HJ_633_2026_AQI
    result = aqi({(P.PM25, A.DAY): 60, (P.PM10, A.DAY): 110}, standard=standard)
    assert result.value == 100
    assert result.primary_pollutants == (P.PM25,)
    assert iaqi(P.PM10, A.DAY, 120, standard=standard).value == 100
    assert iaqi(P.PM10, A.DAY, 130, standard=standard).value == 104  # 100 + 50/130 * 10
    assert result.exceeding is None
    assert result.exceeding_pollutants is None
    assert result.version == "HJ 633-2026"
    # unchanged rows are carried over
    assert standard.table(P.SO2, A.DAY).breakpoints == HJ_633_2012_TABLE_1[(P.SO2, A.DAY)]
