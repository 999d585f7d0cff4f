"""Gauge aggregation: exact interval statistics, boundaries, grace, flush, quality, pass-through."""

import pytest

from edge.aggregation import Aggregator
from edge.config.base import Sampling
from telemetry import Quality, Reading

T0 = 1_764_140_040_000  # 2025-11-26 06:54:00.000 UTC: a minute boundary
assert T0 % 60_000 == 0

N, M, C, D, T = (Quality.NORMAL, Quality.MAINTENANCE, Quality.CALIBRATION, Quality.FAULT,
                 Quality.OVER_RANGE)  # fmt: skip


def sample(offset_ms, value, quality=N, *, device="pm-1", metric="pm25"):
    return Reading(device=device, metric=metric, value=value, ts=T0 + offset_ms, quality=quality)


def aggregator(interval_s=10.0, period_s=1.0, **options):
    options.setdefault("grace_s", 2.0)
    sampling = {"pm-1": Sampling(period_s), "pm-2": Sampling(period_s)}
    return Aggregator(interval_s, sampling=sampling, **options)


def one_interval(samples, **options):
    agg = aggregator(**options)
    assert agg.add(samples) == []
    out = agg.tick(T0 + 3_600_000)
    assert len(out) == 1
    return out[0], agg.counters()


# interval 10 s, one sample a second: 10 expected, 7.5 needed (min_coverage 0.75);
# each expectation is value, min, max, count, quality and valid
@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([(i * 1000, float(i + 1)) for i in range(10)], (5.5, 1.0, 10.0, 10, N, True)),
        ([(i * 1000, float(i)) for i in range(8)], (3.5, 0.0, 7.0, 8, N, True)),
        ([(i * 1000, 2.0) for i in range(7)], (2.0, 2.0, 2.0, 7, N, False)),
        ([(0, 35.0)], (35.0, 35.0, 35.0, 1, N, False)),
        # maintenance samples stay out of the mean; the flag says maintenance happened
        (
            [(i * 1000, 10.0) for i in range(8)] + [(8000, 100.0, M), (9000, 90.0, M)],
            (10.0, 10.0, 10.0, 8, M, True),
        ),
        # the most frequent non-N flag wins; the numbers are the N samples'
        (
            [(0, 1.0), (1000, 2.0), (2000, 3.0, C), (3000, 4.0, C), (4000, 5.0, C), (5000, 9.0, M)],
            (1.5, 1.0, 2.0, 2, C, False),
        ),
        # no N sample at all: the samples of the aggregate's own flag, never valid
        (
            [(0, 50.0, C), (1000, 60.0, C), (2000, 70.0, C), (3000, 1.0, D)],
            (60.0, 50.0, 70.0, 3, C, False),
        ),
        # a tie goes to the flag listed first in HJ 212-2017 (F M S D C T B): M before D
        (
            [(0, 1.0, D), (1000, 3.0, M), (2000, 7.0, D), (3000, 5.0, M)],
            (4.0, 3.0, 5.0, 2, M, False),
        ),
        ([(0, 1.0, T), (1000, 3.0, T), (2000, 7.0, D)], (2.0, 1.0, 3.0, 2, T, False)),
    ],
)
def test_interval_statistics(samples, expected):
    aggregate, _ = one_interval([sample(*s) for s in samples])
    assert (aggregate.device, aggregate.metric, aggregate.ts) == ("pm-1", "pm25", T0)
    value, low, high, count, quality, valid = expected
    assert aggregate.value == pytest.approx(value)
    assert (aggregate.min, aggregate.max, aggregate.count) == (low, high, count)
    assert (aggregate.quality, aggregate.valid) == (quality, valid)


def test_flagged_samples_are_counted():
    samples = [sample(0, 1.0), sample(1000, 2.0, M), sample(2000, 3.0, C)]
    _, counters = one_interval(samples)
    assert counters.flagged_samples == 2
    assert counters.samples == 3


@pytest.mark.parametrize(("count", "valid"), [(45, True), (44, False)])
def test_a_minute_needs_three_quarters_of_its_samples(count, valid):
    samples = [sample(i * 1000, 1.0) for i in range(count)]
    aggregate, _ = one_interval(samples, interval_s=60.0)
    assert (aggregate.count, aggregate.valid) == (count, valid)


@pytest.mark.parametrize(
    ("period_s", "count", "valid"), [(2.3, 4, True), (2.3, 3, False), (60.0, 1, True)]
)
def test_the_expected_count_follows_the_sampling_period(period_s, count, valid):
    # 10 s at 2.3 s: 4.35 expected, 3.26 needed; a device slower than the interval needs one
    samples = [sample(i * 1000, 1.0) for i in range(count)]
    aggregate, _ = one_interval(samples, period_s=period_s)
    assert aggregate.valid is valid


def test_equal_values_keep_their_mean_within_min_and_max():
    aggregate, _ = one_interval([sample(i, 0.1) for i in range(3)])
    assert aggregate.value == aggregate.min == aggregate.max == 0.1


def test_the_boundary_belongs_to_the_next_interval_and_closes_the_previous_one():
    agg = aggregator()
    assert agg.add([sample(0, 1.0), sample(9_999, 3.0)]) == []
    closed = agg.add([sample(10_000, 100.0)])  # exactly hh:mm:10.000
    assert [(r.ts, r.value, r.count) for r in closed] == [(T0, 2.0, 2)]
    flushed = agg.flush(T0 + 20_000)
    assert [(r.ts, r.value, r.count) for r in flushed] == [(T0 + 10_000, 100.0, 1)]


def test_intervals_are_aligned_to_the_clock_not_to_the_first_sample():
    agg = aggregator(interval_s=60.0)
    out = agg.add([sample(59_000, 1.0), sample(61_000, 2.0), sample(119_999, 4.0)])
    out += agg.flush(T0 + 180_000)
    assert [(r.ts, r.value, r.count) for r in out] == [(T0, 1.0, 1), (T0 + 60_000, 3.0, 2)]


def test_other_metrics_and_devices_have_intervals_of_their_own():
    agg = aggregator()
    agg.add([sample(0, 1.0), sample(0, 5.0, metric="pm10"), sample(500, 7.0, device="pm-2")])
    out = agg.add([sample(10_000, 2.0)])  # closes pm-1 pm25 only
    assert [(r.device, r.metric) for r in out] == [("pm-1", "pm25")]
    rest = agg.flush(T0 + 20_000)
    assert sorted((r.device, r.metric, r.ts) for r in rest) == [
        ("pm-1", "pm10", T0),
        ("pm-1", "pm25", T0 + 10_000),
        ("pm-2", "pm25", T0),
    ]


def test_an_interval_closes_after_its_end_plus_the_grace_period():
    agg = aggregator(grace_s=2.0)
    agg.add([sample(3_000, 1.0)])
    assert agg.next_due_ms() == T0 + 12_000
    assert agg.tick(T0 + 11_999) == []
    out = agg.tick(T0 + 12_000)
    assert [(r.ts, r.count) for r in out] == [(T0, 1)]
    assert agg.next_due_ms() is None
    assert agg.tick(T0 + 60_000) == []


def test_a_slow_sample_within_the_grace_period_lands_in_its_interval():
    agg = aggregator(grace_s=2.0)
    agg.add([sample(3_000, 1.0)])
    assert agg.tick(T0 + 11_000) == []
    agg.add([sample(9_900, 3.0)])  # taken before the end, delivered after it
    out = agg.tick(T0 + 12_000)
    assert [(r.value, r.count) for r in out] == [(2.0, 2)]


def test_a_sample_for_a_closed_interval_is_late_dropped_and_counted():
    agg = aggregator()
    agg.add([sample(1_000, 1.0)])
    agg.tick(T0 + 12_000)
    assert agg.add([sample(9_000, 50.0)]) == []
    assert agg.counters().late_samples == 1
    assert agg.flush(T0 + 60_000) == []  # the late sample opened no interval


def test_a_sample_older_than_the_open_interval_is_late():
    agg = aggregator()
    agg.add([sample(15_000, 1.0)])
    assert agg.add([sample(5_000, 9.0)]) == []  # the clock went back
    assert agg.counters().late_samples == 1
    assert [(r.ts, r.value) for r in agg.flush(T0 + 30_000)] == [(T0 + 10_000, 1.0)]


def test_a_raw_device_publishes_every_sample_unchanged_and_its_late_ones_too():
    agg = aggregator(raw_devices={"pm-1"})
    first = [sample(0, 1.0), sample(1_000, 2.0, M)]
    assert agg.add(first) == first
    other = sample(0, 7.0, device="pm-2")
    assert agg.add([other]) == []  # pm-2 is not raw
    agg.tick(T0 + 12_000)
    late = sample(2_000, 3.0)
    assert agg.add([late]) == [late]
    counters = agg.counters()
    assert (counters.raw_published, counters.late_samples, counters.samples) == (3, 1, 3)


def test_shutdown_emits_partial_intervals_with_their_coverage():
    agg = aggregator()
    agg.add([sample(i * 1000, 4.0) for i in range(3)])
    out = agg.flush(T0 + 3_500)
    assert [(r.ts, r.value, r.count, r.valid) for r in out] == [(T0, 4.0, 3, False)]
    counters = agg.counters()
    assert (counters.aggregates, counters.invalid) == (1, 1)


@pytest.mark.parametrize(
    "reading",
    [
        Reading(device="meter-1", metric="energy_import_delta", value=1.5, ts=T0),
        Reading(device="pm-1", metric="not_in_catalog", value=1.0, ts=T0),
        Reading(device="unconfigured", metric="pm25", value=1.0, ts=T0),
    ],
)
def test_delta_metrics_unknown_ids_and_unknown_devices_pass_through(reading):
    agg = Aggregator(10.0, sampling={"pm-1": Sampling(1.0), "meter-1": Sampling(1.0)})
    assert agg.add([reading]) == [reading]
    assert agg.counters().passed_through == 1
    assert agg.flush(T0 + 60_000) == []


@pytest.mark.parametrize(
    "options",
    [
        {"interval_s": 0.0},
        {"min_coverage": 0.0},
        {"min_coverage": 1.5},
        {"grace_s": -1.0},
    ],
)
def test_bad_settings_are_refused(options):
    with pytest.raises(ValueError, match="interval must be positive"):
        aggregator(**options)
