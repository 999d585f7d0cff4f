import itertools
import statistics
from datetime import UTC, datetime

import pytest

from firmware_sim.particulates import (
    EPISODES_SINCE,
    PM10_ANNUAL_MEAN,
    PM25_ANNUAL_MEAN,
    Episode,
    EpisodeSchedule,
    ParticulateModel,
    cf1_from_atmospheric,
    diurnal_factor,
    in_heating_season,
)

START = datetime(2017, 1, 1, tzinfo=UTC).timestamp()


DAY = 86_400.0
JANUARY = (START, START + 31 * DAY)
JULY = (datetime(2017, 7, 1, tzinfo=UTC).timestamp(), datetime(2017, 8, 1, tzinfo=UTC).timestamp())


def series(seed, hours=24 * 60, step_s=600.0, *, episodes=True):
    model = ParticulateModel(seed, episodes=episodes)
    return [model.sample(START + i * step_s) for i in range(int(hours * 3600 / step_s))]


def pm25_between(model, start_s, end_s, step_s=600.0):
    return [model.concentrations(t).pm25 for t in _times(start_s, end_s, step_s)]


def _times(start_s, end_s, step_s):
    return [start_s + i * step_s for i in range(int((end_s - start_s) / step_s))]


def test_same_seed_same_series_and_another_seed_another():
    assert series(7, hours=24) == series(7, hours=24)
    assert series(7, hours=24) != series(8, hours=24)


@pytest.mark.parametrize("episodes", [True, False])
def test_annual_means_are_near_liaocheng_2017_annual_means(episodes):
    samples = series(1, hours=24 * 365, step_s=3600.0, episodes=episodes)
    pm25 = statistics.fmean(m.pm25_atm for m in samples)
    pm10 = statistics.fmean(m.pm10_atm for m in samples)
    assert abs(pm25 - PM25_ANNUAL_MEAN) / PM25_ANNUAL_MEAN < 0.08
    assert abs(pm10 - PM10_ANNUAL_MEAN) / PM10_ANNUAL_MEAN < 0.08


def test_a_month_without_episodes_averages_the_annual_mean():
    pm25 = statistics.fmean(pm25_between(ParticulateModel(3, episodes=False), *JULY))
    assert abs(pm25 - PM25_ANNUAL_MEAN) / PM25_ANNUAL_MEAN < 0.1


def test_a_heating_season_month_is_dirtier_than_a_summer_month():
    model = ParticulateModel(3)
    january = statistics.fmean(pm25_between(model, *JANUARY))
    july = statistics.fmean(pm25_between(model, *JULY))
    assert january > 1.1 * PM25_ANNUAL_MEAN > PM25_ANNUAL_MEAN > july
    assert july > 0.75 * PM25_ANNUAL_MEAN


@pytest.mark.parametrize("seed", range(5))
def test_every_january_month_has_a_haze_episode_that_raises_pm25_several_fold(seed):
    model = ParticulateModel(seed)
    episodes = model.episodes_between(*JANUARY)
    assert episodes
    worst = max(episodes, key=lambda e: e.peak)
    assert worst.peak >= 2.5
    assert worst.end_s - worst.start_s >= 12 * 3600  # hours, not a spike
    start, end = max(worst.start_s, JANUARY[0]), min(worst.end_s, JANUARY[1])
    inside = pm25_between(model, start, end, step_s=300.0)
    month = pm25_between(ParticulateModel(seed, episodes=False), *JANUARY)
    assert max(inside) > 2 * statistics.median(month)


def test_episodes_depend_on_seed_and_time_only():
    one, other = EpisodeSchedule(4), EpisodeSchedule(4)
    year = (START, START + 365 * DAY)
    one.between(START + 200 * DAY, START + 201 * DAY)  # drawn ahead, asked for earlier below
    assert one.between(*year) == other.between(*year)
    assert one.between(*year) != EpisodeSchedule(5).between(*year)
    sampled = ParticulateModel(4)
    sampled.concentrations(START + 100 * DAY)
    assert sampled.episodes_between(*year) == one.between(*year)
    assert ParticulateModel(4, episodes=False).episodes_between(*year) == []


def test_episodes_follow_one_another_and_are_frequent_in_the_heating_season():
    episodes = EpisodeSchedule(6).between(EPISODES_SINCE, START + 365 * DAY)
    assert episodes[0].start_s > EPISODES_SINCE
    assert all(a.end_s < b.start_s for a, b in itertools.pairwise(episodes))
    heating = [e for e in episodes if in_heating_season(e.start_s)]
    other = [e for e in episodes if not in_heating_season(e.start_s)]
    # 17 years: about a third of the time is heating season, yet most episodes fall in it
    assert len(heating) > len(other)
    assert statistics.fmean(e.peak for e in heating) > statistics.fmean(e.peak for e in other)


def test_an_episode_rises_to_its_plateau_and_falls_back():
    episode = Episode(start_s=0.0, end_s=100.0, peak=3.0)
    assert [episode.factor(t) for t in (-1, 0, 12.5, 25, 50, 75, 87.5, 100, 101)] == [
        1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 2.0, 1.0, 1.0
    ]  # fmt: skip


def test_heating_season_runs_from_15_november_to_15_march_local_time():
    def local(month, day, hour):
        return datetime(2017, month, day, hour, tzinfo=UTC).timestamp() - 8 * 3600

    assert in_heating_season(local(11, 15, 0))
    assert in_heating_season(local(3, 15, 23))
    assert not in_heating_season(local(3, 16, 0))
    assert not in_heating_season(local(11, 14, 23))


def test_size_fractions_are_nested_and_in_the_documented_ratios():
    for m in series(2, hours=24 * 3):
        assert 0 <= m.pm1_atm <= m.pm25_atm <= m.pm10_atm <= 1000
        # rounding dominates the ratios of small numbers; the ceiling clips PM10 in thick haze
        if m.pm25_atm >= 30 and m.pm10_atm < 1000:
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
