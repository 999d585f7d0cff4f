"""Energy counters: last value and consumption per interval, with resets, rollovers, replacements,
implausible jumps and gaps, each with its exact expected consumption."""

import pytest

from edge.aggregation import Aggregator, delta_metric
from edge.config.base import Sampling
from telemetry import Quality, Reading

T0 = 1_764_140_040_000  # a minute boundary
MINUTE = 60_000
DL645 = 1_000_000.0  # DL/T 645-2007 energy, XXXXXX.XX kWh: wraps after 999999.99


def sample(t_s, value, quality=Quality.NORMAL, *, metric="energy_import"):
    return Reading(
        device="meter-1", metric=metric, value=value, ts=T0 + round(t_s * 1000), quality=quality
    )


def run(samples, *, replaced_at=(), flush_at=T0 + 3_600_000, **sampling):
    """Feed (seconds, kWh) samples to a 60 s aggregator of a meter read every 10 s."""
    agg = Aggregator(60.0, sampling={"meter-1": Sampling(10.0, **sampling)}, grace_s=5.0)
    for at in replaced_at:
        agg.mark_replacement("meter-1", T0 + at * 1000)
    out = agg.add([sample(*s) for s in samples])
    out += agg.flush(flush_at)
    return out, agg.counters()


def deltas(out):
    return [
        ((r.ts - T0) // MINUTE, r.value, r.valid, r.count)
        for r in out
        if r.metric == "energy_import_delta"
    ]


def ramp(start_s, stop_s, first, step):
    """A sample every 10 s from ``start_s`` (inclusive) to ``stop_s`` (exclusive)."""
    return [(t, first + i * step) for i, t in enumerate(range(start_s, stop_s, 10))]


def test_consumption_is_the_difference_of_the_last_values():
    out, counters = run(ramp(0, 180, 100.0, 1.0))  # 100 at :00 ... 117 at 2:50
    assert deltas(out) == [(0, 5.0, True, 1), (1, 6.0, True, 1), (2, 6.0, True, 1)]
    totals = [(r.value, r.min, r.max, r.count, r.valid) for r in out if r.metric == "energy_import"]
    assert totals == [
        (105.0, 100.0, 105.0, 6, True),
        (111.0, 106.0, 111.0, 6, True),
        (117.0, 112.0, 117.0, 6, True),
    ]
    assert counters.aggregates == 6
    assert counters.invalid == 0


@pytest.mark.parametrize(("first_s", "valid"), [(0, True), (0.6, True), (0.7, False), (35, False)])
def test_the_first_interval_counts_from_its_first_sample_valid_only_from_its_start(first_s, valid):
    # 1 % of a minute is 0.6 s: what a class 1 meter may be off by anyway
    out, _ = run([(first_s, 50.0), (55, 52.5)])
    assert deltas(out) == [(0, 2.5, valid, 1)]


def test_a_reset_counts_the_new_value_as_consumed_and_is_not_valid():
    samples = [(0, 1000.0), (30, 1001.0), (60, 1002.0), (90, 0.5), (110, 1.5)]
    out, counters = run(samples)
    # 1002 - 1001, the unknown remainder before the reset, then 0.5 since it and 1.0 after
    assert deltas(out) == [(0, 1.0, True, 1), (1, 2.5, False, 1)]
    assert counters.resets == 1


def test_a_fall_below_one_percent_of_the_previous_value_is_a_reset():
    out, counters = run([(0, 500_000.0), (30, 500_010.0), (60, 4_000.0), (90, 4_001.0)])
    assert deltas(out)[1] == (1, 4_001.0, False, 1)
    assert counters.resets == 1


def test_a_rollover_adds_the_wrapped_rise_and_stays_valid():
    samples = [(0, 999_990.0), (30, 999_995.0), (60, 999_999.5), (90, 2.5)]
    out, counters = run(samples, counter_modulus=DL645)
    # 4.5 up to 999 999.5, then 1 000 000 - 999 999.5 + 2.5 = 3.0 across the wrap
    assert deltas(out) == [(0, 5.0, True, 1), (1, 7.5, True, 1)]
    assert (counters.rollovers, counters.resets) == (1, 0)


def test_a_rollover_with_a_power_limit_must_be_plausible_for_it():
    samples = [(0, 999_990.0), (30, 999_995.0), (60, 999_999.5), (90, 2.5)]
    _, counters = run(samples, counter_modulus=DL645, max_power_kw=600.0)  # 10 kWh a minute
    assert counters.rollovers == 1
    _, counters = run(samples, counter_modulus=DL645, max_power_kw=60.0)  # 1 kWh: too much
    assert (counters.rollovers, counters.resets) == (0, 1)


def test_without_a_modulus_a_fall_to_near_zero_is_a_reset_not_a_rollover():
    out, counters = run([(0, 999_990.0), (30, 999_995.0), (60, 999_999.5), (90, 2.5)])
    assert deltas(out)[1] == (1, 4.5 + 2.5, False, 1)
    assert (counters.rollovers, counters.resets) == (0, 1)


def test_a_fall_to_an_arbitrary_value_is_a_meter_replacement():
    samples = [(0, 5000.0), (30, 5010.0), (60, 5020.0), (90, 1200.0), (110, 1203.0)]
    out, counters = run(samples)
    # 10 on the old meter, the old meter's tail unknown, 3 on the new one from its first reading
    assert deltas(out) == [(0, 10.0, True, 1), (1, 13.0, False, 1)]
    assert counters.replacements == 1


def test_an_announced_replacement_restarts_counting_even_on_a_rise():
    samples = [(0, 5000.0), (30, 5010.0), (60, 5020.0), (90, 7000.0), (110, 7003.0)]
    out, counters = run(samples, replaced_at=(80,))
    assert deltas(out)[1] == (1, 13.0, False, 1)
    assert counters.replacements == 1
    out, _ = run(samples)  # unannounced, the same rise is consumption
    assert deltas(out)[1] == (1, 1993.0, True, 1)


def test_an_implausible_jump_is_not_trusted():
    # 60 kW at most: 1 kWh per minute, the allowance of any step within a minute
    samples = [(0, 5000.0), (50, 5010.0), (60, 5011.0), (90, 5500.0), (110, 5500.5)]
    out, counters = run(samples, max_power_kw=60.0)
    # the first minute rose 10 kWh in 50 s: implausible too
    assert deltas(out) == [(0, 0.0, False, 1), (1, 1.5, False, 1)]
    assert counters.implausible_jumps == 2


def test_a_jump_beyond_the_catalog_range_is_implausible_without_a_power_limit():
    out, counters = run([(0, 10.0), (30, 20.0), (60, 20_000_030.0)])
    assert deltas(out)[1] == (1, 0.0, False, 1)
    assert counters.implausible_jumps == 1


def test_a_gap_goes_to_the_interval_where_the_counter_is_read_again():
    samples = [(0, 100.0), (50, 101.0), (180, 110.0), (230, 111.0)]
    out, counters = run(samples)
    assert deltas(out) == [(0, 1.0, True, 1), (3, 10.0, False, 3)]
    assert counters.gaps == 1


def test_samples_without_the_normal_flag_do_not_move_the_baseline():
    fault = Quality.FAULT
    samples = [(0, 100.0), (50, 101.0), (70, 9999.0, fault), (130, 104.0)]
    out, counters = run(samples)
    minute_1 = [r for r in out if r.ts == T0 + MINUTE]
    assert [(r.metric, r.value, r.quality, r.valid) for r in minute_1] == [
        ("energy_import", 9999.0, fault, False)  # described, but no consumption from it
    ]
    assert deltas(out)[-1] == (2, 3.0, False, 2)
    assert counters.gaps == 1


def test_a_counter_interval_cut_short_at_shutdown_is_not_valid():
    out, _ = run(ramp(0, 100, 100.0, 1.0), flush_at=T0 + 95_000)  # last sample at 1:30
    assert deltas(out) == [(0, 5.0, True, 1), (1, 4.0, False, 1)]
    last = [r for r in out if r.metric == "energy_import"][-1]
    assert (last.count, last.valid) == (4, False)


def test_a_flush_after_the_interval_ended_is_complete():
    out, _ = run(ramp(0, 120, 100.0, 1.0), flush_at=T0 + 121_000)
    assert deltas(out)[-1] == (1, 6.0, True, 1)


def test_per_phase_counters_yield_only_the_counter():
    assert delta_metric("energy_import_l1") is None
    assert delta_metric("energy_export") == "energy_export_delta"
    assert delta_metric("pm25") is None
    out, _ = run([(0, 1.0, Quality.NORMAL), (30, 2.0, Quality.NORMAL)])
    assert [r.metric for r in out] == ["energy_import", "energy_import_delta"]
    agg = Aggregator(60.0, sampling={"meter-1": Sampling(10.0)})
    agg.add([sample(0, 1.0, metric="energy_import_l1"), sample(30, 2.0, metric="energy_import_l1")])
    assert [r.metric for r in agg.flush(T0 + MINUTE)] == ["energy_import_l1"]
