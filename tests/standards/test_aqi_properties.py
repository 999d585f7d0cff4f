"""Properties of IAQI and AQI that hold for every concentration, not only the tabled ones."""

import itertools
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from standards import HJ_633_2012_AQI, BreakpointTable, aqi, iaqi

# Tables without a deferral: every non-negative concentration has an IAQI.
SELF_CONTAINED = [t for t in HJ_633_2012_AQI.tables if t.above_top is None]

tables = st.sampled_from(HJ_633_2012_AQI.tables)
concentrations = st.decimals(min_value=0, max_value=4000, places=1).map(float)


def covered(table: BreakpointTable, c: float) -> bool:
    return table.above_top is None or c <= table.top


@given(tables, concentrations, concentrations)
def test_iaqi_is_monotonic_in_concentration(table, a, b):
    low, high = sorted((a, b))
    if not covered(table, high):
        return
    assert (
        iaqi(table.pollutant, table.averaging, low).value
        <= iaqi(table.pollutant, table.averaging, high).value
    )


@given(tables, concentrations)
def test_iaqi_is_the_formula_rounded_up(table, c):
    if not covered(table, c) or c > table.top:
        return
    points = zip(table.breakpoints, table.levels, strict=True)
    for (bp_lo, lo), (bp_hi, hi) in itertools.pairwise(points):
        if c <= bp_hi:
            exact = Fraction(hi - lo, bp_hi - bp_lo) * (Fraction(str(c)) - bp_lo) + lo
            value = iaqi(table.pollutant, table.averaging, c).value
            assert exact <= value < exact + 1
            assert lo <= value <= hi
            return


@given(st.sampled_from(SELF_CONTAINED), concentrations)
def test_beyond_the_top_is_capped_at_the_top_level(table, c):
    sub = iaqi(table.pollutant, table.averaging, c)
    assert sub.value <= 500
    assert sub.beyond_table == (c > table.top)


@given(
    st.dictionaries(
        st.sampled_from([(t.pollutant, t.averaging) for t in SELF_CONTAINED]),
        concentrations,
        min_size=1,
    )
)
def test_aqi_is_the_max_iaqi_and_primary_pollutants_hold_it(values):
    result = aqi(values)
    subs = [iaqi(p, a, c).value for (p, a), c in values.items()]
    assert result.value == max(subs)
    assert result.category.contains(result.value)
    if result.value > 50:
        assert result.primary
        assert all(s.value == result.value for s in result.primary)
    else:
        assert result.primary == ()
    assert result.exceeding is not None
    assert {(s.pollutant, s.averaging) for s in result.exceeding} == {
        (p, a) for (p, a), c in values.items() if iaqi(p, a, c).value > 100
    }
