"""Annual assessment: HJ 663 percentiles and the annual validity of GB 3095 Table 4."""

import calendar
import statistics
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from standards import (
    ANNUAL_TSP,
    ASSESSMENT_PERCENTILES,
    Pollutant,
    annual_mean,
    annual_percentile,
    percentile,
)

P = Pollutant


def year_of(year, value=lambda _: 50.0, skip=()):
    day, out = date(year, 1, 1), {}
    while day.year == year:
        if day not in skip:
            out[day] = value(day)
        day += timedelta(days=1)
    return out


def test_percentile_by_the_hj_663_formula():
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 90) == pytest.approx(9.1)  # k = 1 + 9 * 0.9 = 9.1
    assert percentile(values, 95) == pytest.approx(9.55)
    assert percentile(values, 50) == pytest.approx(5.5)
    assert percentile(values, 100) == 10
    assert percentile(values, 0) == 1
    assert percentile([42.0], 98) == 42


def test_percentile_does_not_depend_on_order():
    assert percentile([3.0, 1.0, 2.0], 50) == 2


@given(
    st.lists(st.floats(min_value=0, max_value=1000), min_size=2, max_size=400),
    st.integers(min_value=1, max_value=99),
)
def test_percentile_is_linear_between_closest_ranks(values, p):
    expected = statistics.quantiles(values, n=100, method="inclusive")[p - 1]
    assert percentile(values, p) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_percentile_refuses_nonsense():
    with pytest.raises(ValueError, match="no values"):
        percentile([], 95)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 101)


def test_assessment_percentiles_per_pollutant():
    assert dict(ASSESSMENT_PERCENTILES) == {
        P.SO2: 98,
        P.NO2: 98,
        P.PM10: 95,
        P.PM25: 95,
        P.CO: 95,
        P.O3: 90,
    }


def test_full_year_annual_mean():
    result = annual_mean(year_of(2025, lambda d: float(d.month)), 2025)
    assert result.valid
    assert result.count == 365
    assert result.missing == 0
    days_per_month = [calendar.monthrange(2025, m)[1] for m in range(1, 13)]
    expected = sum(m * n for m, n in enumerate(days_per_month, start=1)) / 365
    assert result.value == pytest.approx(expected)
    assert result.version == "GB 3095-2012"


def test_324_days_valid_323_not():
    # Remove 41 days while every month keeps its minimum (27, February 25), then one more.
    removable = [
        date(2025, month, d)
        for month in range(1, 13)
        for d in range(1, calendar.monthrange(2025, month)[1] - (25 if month == 2 else 27) + 1)
    ]
    assert len(removable) == 43
    removed = set(removable[:41])
    ok = annual_mean(year_of(2025, skip=removed), 2025)
    assert ok.count == 324
    assert ok.valid
    short = annual_mean(year_of(2025, skip=removed | {date(2025, 12, 31)}), 2025)
    assert short.count == 323
    assert not short.valid
    assert short.value is None
    assert "at least 324" in short.reason


def test_a_thin_month_makes_the_year_insufficient():
    skip = {date(2025, 3, d) for d in range(1, 6)}  # March keeps 26
    result = annual_mean(year_of(2025, skip=skip), 2025)
    assert result.count == 360
    assert not result.valid
    assert "2025-03 has 26, at least 27 required" in result.reason


def test_february_needs_25():
    assert annual_mean(year_of(2025, skip={date(2025, 2, d) for d in (1, 2, 3)}), 2025).valid
    thin = annual_mean(year_of(2025, skip={date(2025, 2, d) for d in (1, 2, 3, 4)}), 2025)
    assert not thin.valid
    assert "2025-02 has 24, at least 25" in thin.reason


def test_leap_year_counts_366():
    assert annual_mean(year_of(2024), 2024).missing == 0
    assert annual_mean(year_of(2024, skip={date(2024, 2, 29)}), 2024).missing == 1


def test_dates_outside_the_year_are_an_error():
    with pytest.raises(ValueError, match="2024-12-31"):
        annual_mean({**year_of(2025), date(2024, 12, 31): 1.0}, 2025)


def test_annual_percentile_of_o3_is_the_90th():
    daily = year_of(2025, lambda d: float(d.timetuple().tm_yday))  # 1..365
    result = annual_percentile(daily, 2025, P.O3)
    assert result.valid
    assert result.value == pytest.approx(1 + 364 * 0.9)
    assert result.version == "HJ 663-2013"
    assert "90th" in result.reason
    so2 = annual_percentile(daily, 2025, P.SO2)
    assert so2.value == pytest.approx(1 + 364 * 0.98)


def test_annual_percentile_with_too_few_days_is_insufficient():
    daily = year_of(2025, skip={date(2025, 7, d) for d in range(1, 32)})
    result = annual_percentile(daily, 2025, P.PM25)
    assert not result.valid
    assert result.value is None


def test_tsp_annual_mean_needs_5_a_month():
    daily = {date(2025, m, d): 100.0 for m in range(1, 13) for d in range(1, 6)}
    assert annual_mean(daily, 2025, rule=ANNUAL_TSP).valid
    del daily[date(2025, 6, 5)]
    assert not annual_mean(daily, 2025, rule=ANNUAL_TSP).valid
