"""ReadingLines, ingest's fast line encoder, gives exactly the lines of the full encoder."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.errors import LineProtocolError
from store.lineprotocol import encode_point
from store.readings import ReadingLines, reading_point
from store.sql import Placement
from telemetry import CATALOG, Quality, Reading
from telemetry.payload import MAX_TS_MS, MIN_TS_MS

IDENTIFIER = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z")
FINITE = st.floats(allow_nan=False, allow_infinity=False)

placements = st.builds(
    Placement,
    gateway=IDENTIFIER,
    site=IDENTIFIER,
    enterprise=IDENTIFIER,
    park=st.none() | IDENTIFIER,
    county=IDENTIFIER,
)


@st.composite
def readings(draw: st.DrawFn) -> Reading:
    value = draw(FINITE)
    aggregate = draw(st.booleans())
    return Reading(
        device=draw(IDENTIFIER),
        metric=draw(st.sampled_from(sorted(CATALOG))),
        value=value,
        ts=draw(st.integers(MIN_TS_MS, MAX_TS_MS - 1)),
        quality=draw(st.sampled_from(Quality)),
        min=draw(st.floats(max_value=value, allow_nan=False, allow_infinity=False))
        if aggregate
        else None,
        max=draw(st.floats(min_value=value, allow_nan=False, allow_infinity=False))
        if aggregate
        else None,
        count=draw(st.integers(1, 10_000)) if aggregate else None,
        valid=draw(st.booleans()) if aggregate else None,
        interval_s=draw(st.sampled_from([None, 60.0, 3600.0, 0.5])),
        time_unsynced=draw(st.sampled_from([None, True])),
    )


@settings(max_examples=300)
@given(placement=placements, batch=st.lists(readings(), min_size=1, max_size=5))
def test_every_line_is_the_full_encoders_line(placement, batch):
    encoder = ReadingLines()
    for reading in [*batch, *batch]:  # the second time from the kept series
        assert encoder.line(placement, reading) == encode_point(reading_point(placement, reading))


def test_past_its_bound_the_encoder_starts_over_and_stays_right():
    placement = Placement("gw-1", "site-1", "ent-1", None, "county-1")
    encoder = ReadingLines(max_series=2)
    batch = [Reading(device=f"d{i}", metric="pm25", value=1.0, ts=MIN_TS_MS) for i in range(5)]
    for reading in batch:
        assert encoder.line(placement, reading) == encode_point(reading_point(placement, reading))


@settings(max_examples=200)
@given(
    placement=placements,
    batch=st.lists(readings(), min_size=1, max_size=8),
    bound=st.integers(1, 4),
)
def test_a_batchs_lines_are_the_full_encoders_lines_in_order(placement, batch, bound):
    encoder = ReadingLines(max_series=bound)  # small bounds start over within a batch
    expected = [encode_point(reading_point(placement, reading)) for reading in batch]
    assert encoder.lines(placement, batch) == expected
    assert encoder.lines(placement, batch) == expected  # again, partly from the kept series


def test_an_unwritable_series_raises_from_the_batch_and_names_itself_line_by_line():
    placement = Placement("gw-1", "bad\nsite", "ent-1", None, "county-1")
    reading = Reading(device="d1", metric="pm25", value=1.0, ts=MIN_TS_MS)
    encoder = ReadingLines()
    with pytest.raises(LineProtocolError, match="line break"):
        encoder.lines(placement, [reading])
    with pytest.raises(LineProtocolError, match="line break"):
        encoder.line(placement, reading)
