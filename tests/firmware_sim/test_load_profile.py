import itertools
import statistics
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_sim.load_profile import (
    BASE_LOAD,
    WEEKEND_LOAD,
    WORKING_LOAD,
    EnergyRegister,
    FactoryProfile,
    Flavour,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2024, 3, 4, tzinfo=SHANGHAI)  # 00:00 local on a Monday
SATURDAY = MONDAY + timedelta(days=5)


def at(day: datetime, hour: float) -> float:
    return (day + timedelta(hours=hour)).timestamp()


def mean_fraction(profile, day, start_h, end_h, step_min=5):
    steps = int((end_h - start_h) * 60 / step_min)
    samples = [profile.power_kw(at(day, start_h + i * step_min / 60)) for i in range(steps)]
    return statistics.fmean(samples) / profile.rated_kw


def test_the_same_seed_gives_the_same_load_and_another_seed_another():
    times = [at(MONDAY, h / 4) for h in range(96)]
    first = [FactoryProfile(500, seed=7).power_kw(t) for t in times]
    assert first == [FactoryProfile(500, seed=7).power_kw(t) for t in times]
    assert first != [FactoryProfile(500, seed=8).power_kw(t) for t in times]


def test_power_is_a_function_of_time_alone():
    profile = FactoryProfile(100, seed=3)
    t = at(MONDAY, 10.5)
    before = profile.power_kw(t)
    profile.power_kw(at(MONDAY, 3))
    assert profile.power_kw(t) == before


def test_a_weekday_has_two_shifts_a_lunch_dip_and_a_night_base_in_shanghai_time():
    profile = FactoryProfile(1000, seed=1)
    assert mean_fraction(profile, MONDAY, 1, 5) == pytest.approx(BASE_LOAD, abs=0.04)
    assert mean_fraction(profile, MONDAY, 8.5, 11.5) == pytest.approx(WORKING_LOAD, abs=0.04)
    assert mean_fraction(profile, MONDAY, 19, 22) == pytest.approx(WORKING_LOAD, abs=0.04)
    lunch = mean_fraction(profile, MONDAY, 12.25, 12.5)
    assert lunch < WORKING_LOAD - 0.2


def test_weekends_run_at_about_thirty_percent():
    profile = FactoryProfile(1000, seed=1)
    assert mean_fraction(profile, SATURDAY, 8.5, 11.5) == pytest.approx(WEEKEND_LOAD, abs=0.04)
    assert mean_fraction(profile, SATURDAY, 1, 5) == pytest.approx(BASE_LOAD, abs=0.04)
    weekday = mean_fraction(profile, MONDAY, 0, 24)
    weekend = mean_fraction(profile, SATURDAY, 0, 24)
    assert weekend < 0.6 * weekday


def test_three_shifts_work_through_the_night():
    profile = FactoryProfile(1000, seed=2, flavour=Flavour.THREE_SHIFTS)
    assert mean_fraction(profile, MONDAY, 1, 5) > 0.7
    assert mean_fraction(profile, MONDAY, 9, 11) == pytest.approx(WORKING_LOAD, abs=0.04)


def test_a_continuous_process_plant_is_flat_and_ignores_weekends():
    profile = FactoryProfile(1000, seed=4, flavour=Flavour.CONTINUOUS)
    hourly = [mean_fraction(profile, MONDAY, h, h + 1) for h in range(24)]
    assert max(hourly) - min(hourly) < 0.1
    assert mean_fraction(profile, SATURDAY, 0, 24) == pytest.approx(
        mean_fraction(profile, MONDAY, 0, 24), abs=0.03
    )


@settings(max_examples=200)
@given(
    t=st.floats(min_value=1.5e9, max_value=2.2e9),
    seed=st.integers(min_value=0, max_value=2**40),
    flavour=st.sampled_from(list(Flavour)),
)
def test_power_stays_between_zero_and_rated(t, seed, flavour):
    power = FactoryProfile(250, seed=seed, flavour=flavour).power_kw(t)
    assert 0 <= power <= 250


def test_the_register_integrates_the_power():
    profile = FactoryProfile(600, seed=5)
    register = EnergyRegister(profile, start_kwh=100.0, start_s=at(MONDAY, 0))
    kwh = register.advance(at(MONDAY, 24))
    # a midpoint sum on a 1-minute grid approximates the same integral
    expected = sum(profile.power_kw(at(MONDAY, (i + 0.5) / 60)) for i in range(24 * 60)) / 60
    assert kwh - 100.0 == pytest.approx(expected, rel=1e-3)
    # a two-shift day: base load most of the time, a working load for about 16 hours
    assert 0.45 * 600 * 24 < kwh - 100.0 < 0.7 * 600 * 24


def test_the_counter_does_not_depend_on_how_often_it_is_read():
    profile = FactoryProfile(300, seed=9)
    start, end = at(MONDAY, 6.3), at(MONDAY, 30.7)
    once = EnergyRegister(profile, start_s=start).advance(end)
    often = EnergyRegister(profile, start_s=start)
    t = start
    while t < end:
        often.advance(t)
        t += 37.3
    assert often.advance(end) == pytest.approx(once, rel=1e-12)


def test_the_counter_never_goes_down_until_it_is_reset():
    register = EnergyRegister(FactoryProfile(50, seed=1), start_kwh=10.0, start_s=at(MONDAY, 0))
    readings = [register.advance(at(MONDAY, h / 2)) for h in range(1, 49)]
    assert all(b > a for a, b in itertools.pairwise(readings))
    assert register.advance(at(MONDAY, 3)) == readings[-1]  # a read in the past changes nothing
    register.reset()
    assert register.advance(at(MONDAY, 24)) == 0.0
    after = register.advance(at(MONDAY, 25))
    assert 0 < after < readings[-1]
    register.reset(to_kwh=1234.5)
    assert register.advance(at(MONDAY, 25)) == 1234.5


def test_negative_counters_are_refused():
    profile = FactoryProfile(50)
    with pytest.raises(ValueError, match="0 kWh or more"):
        EnergyRegister(profile, start_kwh=-1.0, start_s=0.0)
    register = EnergyRegister(profile, start_s=0.0)
    with pytest.raises(ValueError, match="cannot be set"):
        register.reset(-0.5)
