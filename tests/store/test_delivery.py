"""The delivery ledger on SQLite and PostgreSQL: watermark, duplicates, gaps, two workers."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from store.sql import DeliveryLedger, create_engine_for
from store.sql.models import DeliveryProgress

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
GW = "gw-0001"


@pytest.fixture
def ledger(sql_url):
    engine = create_engine_for(sql_url)
    yield DeliveryLedger(engine)
    engine.dispose()


def test_a_new_gateway_starts_at_zero(ledger):
    assert ledger.watermark(GW) == 0
    assert ledger.pending(GW) == []
    assert not ledger.is_duplicate(GW, 1)


def test_contiguous_seqs_raise_the_watermark(ledger):
    assert ledger.record_stored(GW, [1], now=T0).watermark == 1
    assert ledger.record_stored(GW, [2, 3], now=T0).watermark == 3
    assert ledger.watermark(GW) == 3
    assert ledger.pending(GW) == []


def test_out_of_order_seqs_wait_for_the_ones_below(ledger):
    assert ledger.record_stored(GW, [3], now=T0).watermark == 0
    assert ledger.record_stored(GW, [1], now=T0).watermark == 1
    assert ledger.pending(GW) == [3]
    assert ledger.record_stored(GW, [2], now=T0).watermark == 3
    assert ledger.pending(GW) == []


@pytest.mark.parametrize(
    ("stored", "seq", "duplicate"),
    [
        ([1, 2], 1, True),  # at or below W
        ([1, 2], 2, True),
        ([1, 2], 3, False),
        ([1, 5], 5, True),  # pending above W
        ([1, 5], 4, False),
    ],
)
def test_duplicates_are_seqs_below_the_watermark_or_stored(ledger, stored, seq, duplicate):
    ledger.record_stored(GW, stored, now=T0)
    assert ledger.is_duplicate(GW, seq) is duplicate
    outcome = ledger.record_stored(GW, [seq], now=T0)
    assert outcome.duplicates == ((seq,) if duplicate else ())


def test_gateways_are_independent(ledger):
    ledger.record_stored(GW, [1, 2], now=T0)
    ledger.record_stored("gw-0002", [2], now=T0)
    assert ledger.watermark(GW) == 2
    assert ledger.watermark("gw-0002") == 0
    assert ledger.gateways_pending() == ["gw-0002"]


def test_a_missing_seq_becomes_a_gap_only_after_the_timeout(ledger):
    ledger.record_stored(GW, [1, 2], now=T0)
    ledger.record_stored(GW, [5, 6], now=T0)
    ledger.record_stored(GW, [9], now=T0 + timedelta(seconds=500))

    assert ledger.expire_gaps(GW, now=T0 + timedelta(seconds=599), timeout_s=600) == []
    assert ledger.watermark(GW) == 2

    later = T0 + timedelta(seconds=600)
    found = ledger.expire_gaps(GW, now=later, timeout_s=600)
    assert [(g.first_seq, g.last_seq, g.detected_at) for g in found] == [(3, 4, later)]
    assert ledger.watermark(GW) == 6  # 7, 8 went missing when 9 came, 500 s after T0

    end = T0 + timedelta(seconds=1100)
    found = ledger.expire_gaps(GW, now=end, timeout_s=600)
    assert [(g.first_seq, g.last_seq) for g in found] == [(7, 8)]
    assert ledger.watermark(GW) == 9
    assert [(g.first_seq, g.last_seq, g.filled_at) for g in ledger.gaps(GW)] == [
        (3, 4, None),
        (7, 8, None),
    ]


def test_a_late_batch_fills_its_gap_once(ledger):
    ledger.record_stored(GW, [1, 4], now=T0)
    ledger.expire_gaps(GW, now=T0 + timedelta(seconds=1), timeout_s=1)
    assert ledger.watermark(GW) == 4

    assert not ledger.is_duplicate(GW, 2)
    assert ledger.record_stored(GW, [2], now=T0).duplicates == ()
    assert ledger.is_duplicate(GW, 2)  # a second copy of the late batch
    assert ledger.record_stored(GW, [2], now=T0).duplicates == (2,)
    (gap,) = ledger.gaps(GW)
    assert (gap.filled, gap.filled_at) == (1, None)

    filled = T0 + timedelta(seconds=5)
    ledger.record_stored(GW, [3], now=filled)
    (gap,) = ledger.gaps(GW)
    assert (gap.filled, gap.filled_at) == (2, filled)
    assert ledger.is_duplicate(GW, 3)
    assert ledger.watermark(GW) == 4


def test_two_ledgers_on_one_database_share_the_watermark(sql_url):
    engines = [create_engine_for(sql_url) for _ in range(2)]
    first, second = (DeliveryLedger(engine) for engine in engines)
    try:
        first.record_stored(GW, [2], now=T0)
        assert second.record_stored(GW, [1], now=T0).watermark == 2
        assert first.watermark(GW) == 2
        assert first.record_stored(GW, [2], now=T0).duplicates == (2,)
    finally:
        for engine in engines:
            engine.dispose()


def test_a_progress_row_gone_behind_the_ledgers_back_is_made_again(ledger, sql_url):
    ledger.record_stored(GW, [1], now=T0)
    engine = create_engine_for(sql_url)
    try:
        with engine.begin() as connection:  # e.g. the store restored from an older backup
            connection.execute(delete(DeliveryProgress))
    finally:
        engine.dispose()

    assert ledger.record_stored(GW, [1], now=T0).watermark == 1
    assert ledger.watermark(GW) == 1


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.dictionaries(
            st.sampled_from(["a", "b", "c"]),
            st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=4),
            min_size=1,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_recording_many_gateways_at_once_keeps_each_ones_watermark_and_duplicates(ledger, batches):
    # Each example its own gateways; a model of what the ledger must say, without gaps.
    prefix = f"gw-{uuid.uuid4().hex[:8]}-"
    stored: dict[str, set[int]] = {}
    for batch in batches:
        outcomes = ledger.record_stored_many(
            {prefix + name: seqs for name, seqs in batch.items()}, now=T0
        )
        for name, seqs in batch.items():
            before = stored.setdefault(name, set())
            expected_duplicates = tuple(sorted(set(seqs) & before))
            before.update(seqs)
            watermark = 0
            while watermark + 1 in before:
                watermark += 1
            outcome = outcomes[prefix + name]
            assert outcome.duplicates == expected_duplicates
            assert outcome.watermark == watermark
            assert ledger.pending(prefix + name) == sorted(s for s in before if s > watermark)
            assert ledger.duplicates([(prefix + name, seq) for seq in range(1, 14)]) == {
                (prefix + name, seq) for seq in before
            }
