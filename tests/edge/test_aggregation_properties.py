"""Properties of the aggregation stage over generated inputs."""

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.aggregation import Aggregator
from edge.config.base import Sampling
from telemetry import Quality, Reading

T0 = 1_764_140_040_000
DL645 = 1_000_000.0

# strictly increasing sample times, up to ~3 intervals apart, so gaps happen too
offsets = st.lists(st.integers(1, 150_000), min_size=1, max_size=80).map(
    lambda steps: [sum(steps[: i + 1]) for i in range(len(steps))]
)


def meter(samples, *, metric="energy_import", **sampling):
    agg = Aggregator(60.0, sampling={"meter-1": Sampling(10.0, **sampling)}, grace_s=5.0)
    out = []
    for ts, value in samples:
        out += agg.add([Reading(device="meter-1", metric=metric, value=value, ts=ts)])
        out += agg.tick(ts)
    out += agg.flush(samples[-1][0] + 3_600_000)
    return out, agg.counters()


@settings(max_examples=200, deadline=None)
@given(
    first=st.floats(0, 1e7),
    times=offsets,
    rises=st.lists(st.floats(0, 500), min_size=80, max_size=80),
)
def test_the_consumptions_of_a_monotonic_counter_add_up_to_last_minus_first(first, times, rises):
    values = [first]
    for rise in rises[: len(times) - 1]:
        values.append(values[-1] + rise)
    out, counters = meter(list(zip((T0 + t for t in times), values, strict=True)))
    consumed = math.fsum(r.value for r in out if r.metric == "energy_import_delta")
    assert consumed == pytest.approx(values[-1] - values[0], rel=1e-9, abs=1e-6)
    assert (counters.resets, counters.replacements, counters.implausible_jumps) == (0, 0, 0)
    intervals = [r.count for r in out if r.metric == "energy_import_delta"]
    last_interval = (T0 + times[-1]) // 60_000 - (T0 + times[0]) // 60_000
    assert sum(intervals) == last_interval + 1  # every interval accounted for exactly once


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(99_990_000, 99_999_999),  # hundredths of a kWh, within 100 kWh of the top
    times=offsets,
    rises=st.lists(st.integers(0, 9_000), min_size=80, max_size=80),
)
def test_a_wrapping_register_loses_no_consumption(start, times, rises):
    counts = [start]
    for rise in rises[: len(times) - 1]:
        counts.append(counts[-1] + rise)
    shown = [(c % 100_000_000) / 100 for c in counts]  # what an XXXXXX.XX register shows
    out, counters = meter(
        list(zip((T0 + t for t in times), shown, strict=True)), counter_modulus=DL645
    )
    consumed = math.fsum(r.value for r in out if r.metric == "energy_import_delta")
    assert consumed == pytest.approx((counts[-1] - counts[0]) / 100, abs=1e-3)
    assert counters.rollovers == sum(
        1 for a, b in itertools.pairwise(counts) if b // 100_000_000 > a // 100_000_000
    )
    assert counters.resets == counters.replacements == 0


METRICS = ["pm25", "pm10", "energy_import", "energy_import_l1", "energy_import_delta", "nope"]
readings = st.builds(
    Reading,
    device=st.sampled_from(["pm-1", "meter-1", "stranger"]),
    metric=st.sampled_from(METRICS),
    value=st.floats(-1e9, 1e9, allow_nan=False),
    ts=st.integers(T0 - 200_000, T0 + 600_000),
    quality=st.sampled_from(list(Quality)),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(readings, max_size=5)),
        st.tuples(st.just("tick"), st.integers(T0 - 200_000, T0 + 700_000)),
        st.tuples(st.just("replace"), st.integers(T0 - 200_000, T0 + 600_000)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(operations, st.booleans(), st.floats(0.1, 120).map(lambda p: round(p, 3)))
def test_arbitrary_input_never_raises_and_every_sample_is_accounted_for(ops, raw, period_s):
    sampling = {
        "pm-1": Sampling(period_s),
        "meter-1": Sampling(period_s, counter_modulus=DL645, max_power_kw=100.0),
    }
    agg = Aggregator(60.0, sampling=sampling, raw_devices={"meter-1"} if raw else ())
    given_readings = 0
    out: list[Reading] = []
    for op, arg in ops:
        if op == "add":
            given_readings += len(arg)
            out += agg.add(arg)
        elif op == "tick":
            out += agg.tick(arg)
        else:
            agg.mark_replacement("meter-1", arg)
    out += agg.flush(T0 + 700_000)
    counters = agg.counters()
    assert counters.samples + counters.passed_through + counters.late_samples == given_readings
    aggregates = [r for r in out if r.count is not None]
    assert len(aggregates) == counters.aggregates
    assert sum(1 for r in aggregates if r.valid is False) == counters.invalid
    assert all(r.ts % 60_000 == 0 for r in aggregates)
    assert all(r.value >= 0 for r in aggregates if r.metric.endswith("_delta"))
