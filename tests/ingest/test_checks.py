"""ReadingChecks passes a plain sample without looking further: the outcome stays the same.

The quick test in :meth:`ingest.validation.ReadingChecks.check` lets a known, in-range,
in-time sample through at once and sends everything else to the full reasoning; these
properties hold it equal to asking the full reasoning about every reading.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.validation import Checked, ReadingChecks, Refusal, _refusal
from telemetry import CATALOG, Reading
from telemetry.payload import MIN_TS_MS

NOW_MS = MIN_TS_MS + 10**12
SKEW_S, LATE_S = 300.0, 600.0
METRICS = sorted(CATALOG)


def reference(readings: list[Reading], now_ms: int) -> Checked:
    """Every reading through the full reasoning, as the checks did before the quick test."""
    future = now_ms + int(SKEW_S * 1000)
    accepted = [r for r in readings if _refusal(r, future) is None]
    refused = [
        Refusal(position, *why)
        for position, r in enumerate(readings)
        if (why := _refusal(r, future)) is not None
    ]
    times = [r.ts for r in accepted]
    late = sum(1 for ts in times if ts < now_ms - int(LATE_S * 1000))
    return Checked(accepted, refused, late, min(times, default=None), max(times, default=None))


@st.composite
def readings(draw: st.DrawFn) -> Reading:
    metric_id = draw(st.sampled_from([*METRICS, "no_such_metric"]))
    entry = CATALOG.get(metric_id)
    low, high = (entry.low, entry.high) if entry is not None else (0.0, 1.0)
    edge = st.sampled_from([low, high, low - 1e-9, high + 1e-9, low - 1, high + 1])
    value = draw(edge | st.floats(low - 10, high + 10, allow_nan=False))
    unit = draw(st.sampled_from([None, entry.unit if entry else "kWh", "Wh"]))
    aggregate = draw(st.booleans())
    return Reading(
        device="pm-1",
        metric=metric_id,
        value=value,
        ts=NOW_MS + draw(st.integers(-2 * 600_000, 2 * 300_000)),
        unit=unit,
        min=draw(st.floats(min(value, low - 5), value)) if aggregate else None,
        max=draw(st.floats(value, max(value, high + 5))) if aggregate else None,
    )


@settings(max_examples=400)
@given(batch=st.lists(readings(), max_size=12))
def test_the_quick_test_changes_no_outcome(batch):
    checks = ReadingChecks(clock_skew_s=SKEW_S, late_after_s=LATE_S)
    assert checks.check(batch, now_ms=NOW_MS) == reference(batch, NOW_MS)


def test_a_plain_sample_at_the_edges_of_its_range_and_of_the_tolerance_is_accepted():
    entry = CATALOG["pm25"]
    future = NOW_MS + int(SKEW_S * 1000)
    batch = [
        Reading(device="pm-1", metric="pm25", value=entry.low, ts=future),
        Reading(device="pm-1", metric="pm25", value=entry.high, ts=MIN_TS_MS),
    ]
    checked = ReadingChecks(clock_skew_s=SKEW_S, late_after_s=LATE_S).check(batch, now_ms=NOW_MS)
    assert checked == Checked(batch, [], 1, MIN_TS_MS, future)
