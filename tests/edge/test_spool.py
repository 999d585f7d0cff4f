"""The spool alone: numbering in the insert transaction, acknowledgement, migration, quota."""

import json
import sqlite3

import pytest

from edge.sequence import StateError
from edge.spool import Spool
from telemetry import Reading

TS = 1_764_140_000_000
BIG = 10**9  # a quota that is never reached


def sample(i: int) -> Reading:
    return Reading(device="pm-1", metric="pm25", value=float(i), ts=TS + i)


def aggregate(i: int) -> Reading:
    return Reading(device="pm-1", metric="pm25", value=float(i), ts=TS + i, interval_s=60.0)


def open_spool(tmp_path, gateway="gw-1", quota=BIG) -> Spool:
    spool = Spool(tmp_path / "spool.sqlite3", gateway, quota_bytes=quota, legacy_state_dir=tmp_path)
    spool.open()
    return spool


def test_seqs_are_contiguous_from_1_and_survive_reopening(tmp_path):
    spool = open_spool(tmp_path)
    assert spool.last_seq() == 0
    assert [spool.put([sample(i)], TS) for i in range(3)] == [1, 2, 3]
    spool.close()  # a new process continues after the last number, even with nothing acked
    again = open_spool(tmp_path)
    assert again.put([sample(9)], TS) == 4
    assert [b.seq for b in again.unacknowledged(10)] == [1, 2, 3, 4]


def test_batches_come_back_whole_in_order_and_leave_only_when_acknowledged(tmp_path):
    spool = open_spool(tmp_path)
    for n in range(1, 6):
        spool.put([sample(10 * n + i) for i in range(n)], TS + n)
    first = spool.unacknowledged(2)
    assert [(b.seq, b.created_ms, len(b.batch.readings)) for b in first] == [
        (1, TS + 1, 1),
        (2, TS + 2, 2),
    ]
    assert first[1].batch.readings == [sample(20), sample(21)]
    assert first[1].batch.gateway == "gw-1"
    assert first[1].batch.seq == 2
    assert [b.seq for b in spool.unacknowledged(10, after=3)] == [4, 5]
    assert spool.acknowledge_through(3) == 3
    assert spool.acknowledge_through(3) == 0  # a repeated watermark deletes nothing more
    counters = spool.counters()
    assert (counters.depth, counters.readings, counters.oldest_created_ms) == (2, 9, TS + 4)
    assert spool.put([sample(0)], TS) == 6  # acknowledged numbers are never reused


def test_numbering_continues_after_an_old_sequence_file(tmp_path):
    (tmp_path / "gw-1.seq.json").write_text(json.dumps({"gateway": "gw-1", "next_seq": 42}))
    spool = open_spool(tmp_path)
    assert spool.last_seq() == 41
    assert spool.put([sample(1)], TS) == 42


def open_other_gateway(path):
    spool = Spool(path, "gw-other", quota_bytes=BIG, legacy_state_dir=path.parent / "x")
    spool.open()
    spool.put([sample(1)], TS)
    spool.close()


@pytest.mark.parametrize(
    ("prepare", "why"),
    [
        (lambda p: p.write_bytes(b"not a database at all, certainly not" * 100), "usable"),
        (open_other_gateway, "another gateway"),
    ],
)
def test_an_untrustworthy_spool_is_refused(tmp_path, prepare, why):
    prepare(tmp_path / "spool.sqlite3")
    with pytest.raises(StateError, match=why):
        open_spool(tmp_path)


def test_the_file_is_in_wal_mode_with_full_synchronous(tmp_path):
    spool = open_spool(tmp_path)
    spool.put([sample(1)], TS)
    with sqlite3.connect(tmp_path / "spool.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db_of_spool = spool._conn()  # the setting is per connection: ask the spool's own
    assert db_of_spool.execute("PRAGMA synchronous").fetchone() == (2,)  # 2 = FULL


def raw_and_aggregates(n: int) -> list[Reading]:
    """Ten samples, then two aggregates: about 1 kB of JSON."""
    return [sample(n * 100 + i) for i in range(10)] + [
        aggregate(n * 100 + 50 + i) for i in range(2)
    ]


BATCHES = 120


@pytest.mark.parametrize(
    ("quota", "raw_dropped", "aggregates_dropped", "batches_dropped"),
    [
        (256_000, False, False, False),  # everything fits
        (64_000, True, False, False),  # some samples go
        (24_000, True, False, False),  # every sample goes, the aggregates fit
        (8_000, True, True, True),  # only one-reading batches are left: whole batches go
    ],
)
def test_the_quota_drops_samples_then_aggregates_then_batches_oldest_first_and_counts_all(
    tmp_path, quota, raw_dropped, aggregates_dropped, batches_dropped
):
    spool = open_spool(tmp_path, quota=quota)
    for n in range(BATCHES):
        spool.put(raw_and_aggregates(n), TS + n)
    counters = spool.counters()
    kept = spool.unacknowledged(BATCHES)
    kept_readings = [r for b in kept for r in b.batch.readings]
    assert counters.used_bytes <= quota
    assert (counters.dropped_raw > 0, counters.dropped_aggregate > 0) == (
        raw_dropped,
        aggregates_dropped,
    )
    assert (counters.dropped_batches > 0) == batches_dropped
    # nothing disappears silently: what is kept and what the drops table records add up
    with sqlite3.connect(tmp_path / "spool.sqlite3") as db:
        logged = dict(db.execute("SELECT kind, sum(readings) FROM drops GROUP BY kind"))
    assert len(kept_readings) + sum(logged.values()) == BATCHES * 12
    assert (logged.get("raw", 0), logged.get("aggregate", 0)) == (
        counters.dropped_raw,
        counters.dropped_aggregate,
    )
    # oldest first: the kept samples and aggregates are the newest of their kind, apart from
    # each batch's last reading, which only a whole-batch drop takes
    last = {raw_and_aggregates(n)[-1].ts for n in range(BATCHES)}
    for is_aggregate in (False, True):
        put = [
            r.ts
            for n in range(BATCHES)
            for r in raw_and_aggregates(n)
            if (r.interval_s is not None) == is_aggregate and r.ts not in last
        ]
        left = sorted(
            r.ts
            for r in kept_readings
            if (r.interval_s is not None) == is_aggregate and r.ts not in last
        )
        assert left == put[len(put) - len(left) :]
    # holes only where whole batches went (those seqs are recorded as dropped, oldest first)
    assert [b.seq for b in kept] == list(range(counters.dropped_batches + 1, BATCHES + 1))
    if aggregates_dropped:  # no sample was left that could have gone before an aggregate
        assert all(r.interval_s is not None for b in kept for r in b.batch.readings[:-1])
