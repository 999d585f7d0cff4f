import statistics
from datetime import UTC, datetime

from firmware_sim.particulates import (
    PM10_ANNUAL_MEAN,
    PM25_ANNUAL_MEAN,
    ParticulateModel,
    cf1_from_atmospheric,
    diurnal_factor,
)

START = datetime(2017, 1, 1, tzinfo=UTC).timestamp()


def series(seed, hours=24 * 60, step_s=600.0):
    model = ParticulateModel(seed)
    return [model.sample(START + i * step_s) for i in range(int(hours * 3600 / step_s))]


def test_same_seed_same_series_and_another_seed_another():
    assert series(7, hours=24) == series(7, hours=24)
    assert series(7, hours=24) != series(8, hours=24)


def test_long_run_means_are_near_liaocheng_2017_annual_means():
    samples = series(1, hours=24 * 120)
    pm25 = statistics.fmean(m.pm25_atm for m in samples)
    pm10 = statistics.fmean(m.pm10_atm for m in samples)
    assert abs(pm25 - PM25_ANNUAL_MEAN) / PM25_ANNUAL_MEAN < 0.2
    assert abs(pm10 - PM10_ANNUAL_MEAN) / PM10_ANNUAL_MEAN < 0.2


def test_size_fractions_are_nested_and_in_the_documented_ratios():
    for m in series(2, hours=24 * 3):
        assert 0 <= m.pm1_atm <= m.pm25_atm <= m.pm10_atm <= 1000
        if m.pm25_atm >= 30:  # rounding dominates the ratios of small numbers
            assert 0.55 <= m.pm1_atm / m.pm25_atm <= 0.72
            assert 1.7 <= m.pm10_atm / m.pm25_atm <= 2.1
        assert all(a >= b for a, b in zip(m.counts, m.counts[1:], strict=False))
        assert all(0 <= c <= 65535 for c in m.counts)
        assert m.pm25_cf1 >= m.pm25_atm
        assert m.pm25_cf1 - m.pm25_atm <= 0.1 * m.pm25_atm + 1


def test_nights_are_dirtier_than_afternoons_in_local_time():
    # 03:00 and 15:00 Asia/Shanghai are 19:00 and 07:00 UTC
    night = datetime(2017, 1, 1, 19, tzinfo=UTC).timestamp()
    afternoon = datetime(2017, 1, 1, 7, tzinfo=UTC).timestamp()
    assert diurnal_factor(night) > 1.3
    assert diurnal_factor(afternoon) < 0.7


def test_cf1_equals_atmospheric_at_low_levels_and_is_a_little_higher_above():
    assert cf1_from_atmospheric(0) == 0
    assert cf1_from_atmospheric(25) == 25
    assert cf1_from_atmospheric(130) == 140
