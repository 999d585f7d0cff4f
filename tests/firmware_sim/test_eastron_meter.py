import itertools
import math
from datetime import UTC, datetime

import pytest

from firmware_sim.eastron import SDM120, SDM630, Quantity
from firmware_sim.load_profile import EnergyRegister, FactoryProfile
from firmware_sim.meters import SimulatedMeter, rated_kw

Q = Quantity
# Tuesday 5 March 2024, 10:00 in Asia/Shanghai: the day shift is at work
WORKDAY_10H = datetime(2024, 3, 5, 2, tzinfo=UTC).timestamp()


class FakeClock:
    def __init__(self, start=WORKDAY_10H):
        self.now = start

    def __call__(self):
        return self.now


def day_of_readings(register_map, seed=1, step_s=600.0):
    clock = FakeClock()
    meter = SimulatedMeter(register_map, seed=seed, refresh_s=0.0, clock=clock)
    readings = []
    for _ in range(int(86400 / step_s)):
        readings.append((clock.now, meter.values()))
        clock.now += step_s
    return meter, readings


@pytest.mark.parametrize("register_map", [SDM120, SDM630])
def test_a_meter_fills_every_register_of_its_model(register_map):
    values = SimulatedMeter(register_map, clock=FakeClock()).values()
    assert {r.name for r in register_map.inputs} <= set(values)


def test_rated_load_is_80_percent_of_imax_at_220_v():
    assert rated_kw(SDM120) == pytest.approx(0.8 * 220 * 45 / 1000)
    assert rated_kw(SDM630) == pytest.approx(0.8 * 3 * 220 * 100 / 1000)


def test_same_seed_and_times_give_the_same_readings_another_seed_others():
    assert day_of_readings(SDM630, seed=4)[1] == day_of_readings(SDM630, seed=4)[1]
    assert day_of_readings(SDM630, seed=4)[1] != day_of_readings(SDM630, seed=5)[1]


def test_three_phase_quantities_are_physically_consistent():
    meter, readings = day_of_readings(SDM630)
    for epoch_s, v in readings:
        phases = ("l1", "l2", "l3")
        watts = [v[f"active_power_{p}"] for p in phases]
        assert v[Q.ACTIVE_POWER] == pytest.approx(sum(watts))
        assert v[Q.ACTIVE_POWER] == pytest.approx(meter.profile.power_kw(epoch_s) * 1000)
        assert max(watts) / min(watts) < 1.2  # a small imbalance
        for p in phases:
            volts, amps = v[f"voltage_{p}"], v[f"current_{p}"]
            assert 210 < volts < 230
            assert 0.85 <= v[f"power_factor_{p}"] <= 0.98
            assert v[f"apparent_power_{p}"] == pytest.approx(volts * amps)
            assert v[f"apparent_power_{p}"] ** 2 == pytest.approx(
                v[f"active_power_{p}"] ** 2 + v[f"reactive_power_{p}"] ** 2
            )
        assert 0.85 <= v[Q.POWER_FACTOR] <= 0.98
        assert 49.9 <= v[Q.FREQUENCY] <= 50.1
        for pair, a, b in (("l1_l2", "l1", "l2"), ("l2_l3", "l2", "l3"), ("l3_l1", "l3", "l1")):
            mean = (v[f"voltage_{a}"] + v[f"voltage_{b}"]) / 2
            assert v[f"voltage_{pair}"] == pytest.approx(mean * math.sqrt(3), rel=0.01)


def test_single_phase_meter_reports_its_one_phase():
    _, readings = day_of_readings(SDM120)
    for _, v in readings:
        assert v[Q.VOLTAGE] == v[Q.VOLTAGE_L1]
        assert v[Q.CURRENT] * v[Q.VOLTAGE] == pytest.approx(v[Q.APPARENT_POWER])
        assert v[Q.ACTIVE_POWER] < 1000 * rated_kw(SDM120) * 1.1


def test_noise_and_power_factor_vary_across_the_day():
    _, readings = day_of_readings(SDM630)
    volts = {round(v[Q.VOLTAGE_L1], 3) for _, v in readings}
    factors = [v[Q.POWER_FACTOR] for _, v in readings]
    assert len(volts) > 100
    assert max(factors) - min(factors) > 0.05  # higher under the day's load than at night


def test_energy_counters_rise_monotonically_as_the_profile_integrates():
    meter, readings = day_of_readings(SDM630)
    imports = [v[Q.ENERGY_IMPORT] for _, v in readings]
    assert all(b >= a for a, b in itertools.pairwise(imports))
    reference = EnergyRegister(
        FactoryProfile(meter.profile.rated_kw, 1), start_kwh=imports[0], start_s=readings[0][0]
    )
    assert imports[-1] == pytest.approx(reference.advance(readings[-1][0]))
    assert imports[-1] - imports[0] > 0.15 * meter.profile.rated_kw * 23  # at least the base load
    for _, v in readings:
        assert v[Q.ENERGY_TOTAL] == v[Q.ENERGY_IMPORT] + v[Q.ENERGY_EXPORT]
        per_phase = v[Q.ENERGY_IMPORT_L1] + v[Q.ENERGY_IMPORT_L2] + v[Q.ENERGY_IMPORT_L3]
        assert per_phase == pytest.approx(v[Q.ENERGY_IMPORT])


def test_registers_refresh_at_most_once_per_refresh_interval():
    clock = FakeClock()
    meter = SimulatedMeter(SDM630, refresh_s=1.0, clock=clock)
    first = meter.values()
    clock.now += 0.5
    assert meter.values() == first
    clock.now += 0.5
    assert meter.values() != first


def test_a_frozen_meter_repeats_itself_until_thawed():
    clock = FakeClock()
    meter = SimulatedMeter(SDM630, refresh_s=0.0, clock=clock)
    meter.frozen = True
    first = meter.values()
    clock.now += 3600
    assert meter.values() == first
    meter.frozen = False
    after = meter.values()
    assert after != first
    assert after[Q.ENERGY_IMPORT] > first[Q.ENERGY_IMPORT]


def test_a_counter_reset_starts_the_energy_registers_again_from_zero():
    clock = FakeClock()
    meter = SimulatedMeter(SDM630, refresh_s=0.0, start_kwh=5000.0, clock=clock)
    clock.now += 600
    before = meter.values()[Q.ENERGY_IMPORT]
    assert before > 5000.0
    meter.reset_energy()
    assert meter.values()[Q.ENERGY_IMPORT] == 0.0
    assert meter.values()[Q.ENERGY_IMPORT_L2] == 0.0
    clock.now += 600
    after = meter.values()
    assert 0.0 < after[Q.ENERGY_IMPORT] < before - 5000.0 + 10
    assert after[Q.ENERGY_TOTAL] == after[Q.ENERGY_IMPORT]


def test_a_reset_shows_even_on_a_frozen_meter():
    meter = SimulatedMeter(SDM120, start_kwh=100.0, clock=FakeClock())
    meter.frozen = True
    assert meter.values()[Q.ENERGY_IMPORT] == 100.0
    meter.reset_energy(7.0)
    assert meter.values()[Q.ENERGY_IMPORT] == 7.0
