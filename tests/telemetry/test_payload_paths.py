"""The batch's two decoding paths agree: one pass for the whole batch, or reading by reading.

:func:`telemetry.decode_batch_partial` decodes a batch of good readings in one pass and falls
back to the envelope and each reading alone when any reading breaks the schema. These
properties hold the two to the same answer on generated batches, good and damaged alike: the
readings that decode alone are the batch's readings, in order, and the others are rejected at
their positions, with one problem for each error that decoding them alone gives.
"""

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from telemetry import Reading, decode_batch_partial
from telemetry.payload import MAX_TS_MS, MIN_TS_MS

GOOD = st.fixed_dictionaries(
    {
        "device": st.sampled_from(["pm-1", "meter.2", "A_3"]),
        "metric": st.sampled_from(["pm25", "pm10", "energy_import"]),
        "value": st.floats(-1e6, 1e6) | st.integers(-1000, 1000),
        "ts": st.integers(MIN_TS_MS, MAX_TS_MS - 1),
    },
    optional={
        "quality": st.sampled_from(["N", "F", "M", "S", "D", "C", "T", "B"]),
        "count": st.integers(1, 100),
        "valid": st.booleans(),
        "interval_s": st.sampled_from([60.0, 3600, 86_400]),
        "time_unsynced": st.just(True),
        "unit": st.sampled_from(["µg/m³", "kWh"]),
    },
)
# What a damaged field may become: wrong types, bounds just past the edges, coercible strings.
DAMAGE: st.SearchStrategy[object] = st.sampled_from(
    [None, "", "35.0", "N", True, False, 0, -1, 0.0, 1e400, [], {}, "x" * 70, "pm 1"]
) | st.sampled_from([MIN_TS_MS - 1, MAX_TS_MS, 86_400.5, 2**63])
FIELDS = ["device", "metric", "value", "ts", "quality", "min", "max", "count", "valid"]
FIELDS += ["interval_s", "time_unsynced", "unit", "extra"]


@st.composite
def readings(draw: st.DrawFn) -> object:
    reading = draw(GOOD)
    for _ in range(draw(st.integers(0, 2))):
        reading[draw(st.sampled_from(FIELDS))] = draw(DAMAGE)
    if draw(st.integers(0, 9)) == 0:
        return draw(DAMAGE)  # not even an object
    return reading


def alone(item: object) -> Reading | ValidationError:
    """One reading decoded on its own, as the fallback path decodes it."""
    raw = json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        return Reading.model_validate_json(raw)
    except ValidationError as exc:
        return exc


@settings(max_examples=300)
@given(items=st.lists(readings(), min_size=1, max_size=8))
def test_one_pass_and_reading_by_reading_give_the_same_batch(items):
    payload = {"schema": 1, "gateway": "gw-7", "seq": 9, "readings": items}
    decoded = decode_batch_partial(json.dumps(payload).encode())
    assert (decoded.gateway, decoded.seq) == ("gw-7", 9)
    outcomes = [alone(item) for item in items]
    assert decoded.readings == [o for o in outcomes if isinstance(o, Reading)]
    assert [r.index for r in decoded.rejected] == [
        i for i, o in enumerate(outcomes) if not isinstance(o, Reading)
    ]
    for rejected in decoded.rejected:
        assert json.loads(rejected.raw) == items[rejected.index]
        assert rejected.reason == "schema"
        failure = outcomes[rejected.index]
        assert isinstance(failure, ValidationError)
        assert len(rejected.problems) == failure.error_count()
