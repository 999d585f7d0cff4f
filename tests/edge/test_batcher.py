import pytest

from edge.batcher import Batcher
from telemetry import Reading

TS = 1_764_140_000_000


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def readings(n, start=0):
    return [Reading(device="pm-1", metric="pm25", value=float(start + i), ts=TS) for i in range(n)]


def test_nothing_is_due_before_the_interval_and_everything_after():
    clock = FakeClock()
    batcher = Batcher(5.0, 100, clock=clock)
    assert batcher.add(readings(3)) == []
    clock.now += 4.9
    assert not batcher.due()
    clock.now += 0.1
    assert batcher.due()
    assert batcher.take() == readings(3)
    assert len(batcher) == 0
    assert batcher.seconds_left() == pytest.approx(5.0)


def test_full_batches_leave_at_once_in_order_and_the_rest_waits():
    batcher = Batcher(5.0, 4, clock=FakeClock())
    full = batcher.add(readings(10))
    assert full == [readings(4), readings(4, 4)]
    assert len(batcher) == 2
    assert batcher.take() == readings(2, 8)


def test_the_schedule_is_fixed_and_skips_missed_slots():
    clock = FakeClock()
    batcher = Batcher(5.0, 100, clock=clock)
    batcher.add(readings(4))  # full batches do not move the timed schedule
    clock.now += 17.0  # three slots missed
    assert batcher.due()
    batcher.take()
    assert batcher.seconds_left() == pytest.approx(3.0)


def test_an_empty_take_is_empty():
    assert Batcher(1.0, 1, clock=FakeClock()).take() == []


@pytest.mark.parametrize(("interval", "size"), [(0, 1), (1, 0)])
def test_bad_limits_are_refused(interval, size):
    with pytest.raises(ValueError, match="positive"):
        Batcher(interval, size)
