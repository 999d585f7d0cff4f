"""The delivery window alone: in-flight bound, resend timer, watermark and pacing, no I/O."""

import pytest

from edge.spool import DeliveryWindow


def window(max_in_flight=3, ack_timeout_s=30.0, rate_per_s=20.0, now_s=0.0) -> DeliveryWindow:
    return DeliveryWindow(
        max_in_flight=max_in_flight, ack_timeout_s=ack_timeout_s, rate_per_s=rate_per_s, now_s=now_s
    )


def test_no_more_than_max_in_flight_and_a_watermark_frees_places():
    w = window(max_in_flight=3)
    assert w.room() == 3
    for seq in (1, 2, 3):
        assert w.publishing(seq, 0.0)
    assert (w.room(), w.cursor) == (0, 3)
    w.acknowledged(2)
    assert (w.room(), sorted(w.in_flight), w.watermark) == (2, [3], 2)
    w.acknowledged(1)  # an older watermark changes nothing
    assert (w.room(), w.watermark) == (2, 2)


def test_a_covered_seq_is_not_published_and_the_cursor_jumps_to_the_watermark():
    w = window()
    w.acknowledged(10)
    assert w.cursor == 10  # new batches are those after the watermark
    assert not w.publishing(7, 0.0)
    assert w.in_flight == {}
    assert w.publishing(11, 0.0)


@pytest.mark.parametrize(
    ("published_at", "now", "due"),
    [
        ({1: 0.0, 2: 5.0, 3: 10.0}, 29.9, []),
        ({1: 0.0, 2: 5.0, 3: 10.0}, 30.0, [1]),
        ({3: 0.0, 1: 0.0, 2: 5.0}, 35.0, [1, 2, 3]),  # in seq order
    ],
)
def test_a_batch_in_flight_for_ack_timeout_is_due_again(published_at, now, due):
    w = window(max_in_flight=10)
    for seq, at in published_at.items():
        w.publishing(seq, at)
    assert w.due_again(now) == due


def test_a_republication_restarts_the_timer_and_forget_gives_up_a_dropped_seq():
    w = window()
    w.publishing(1, 0.0)
    w.publishing(1, 30.0)
    assert w.due_again(45.0) == []
    assert w.due_again(60.0) == [1]
    w.forget(1)
    assert (w.due_again(60.0), w.room()) == ([], 3)


@pytest.mark.parametrize(
    ("rate", "after_s", "tokens"),
    [
        (20.0, 0.0, 1),  # a fresh start: one, then the rate
        (20.0, 0.5, 11),  # 1 + 0.5 s x 20 per s
        (20.0, 10.0, 20),  # the bucket holds one second's worth
        (0.5, 1.0, 1),  # slow rates still let a whole batch through
        (0.5, 4.0, 1),
    ],
)
def test_publications_are_paced_by_a_token_bucket(rate, after_s, tokens):
    w = window(rate_per_s=rate)
    w.refill(after_s)
    taken = 0
    while w.take_token():
        taken += 1
    assert taken == tokens
    w.refill(after_s + 1 / rate)
    assert w.take_token()  # one more after 1/rate seconds
    assert not w.take_token()


def test_time_going_backwards_earns_nothing():
    w = window(rate_per_s=10.0, now_s=100.0)
    assert w.take_token()
    w.refill(50.0)
    assert not w.take_token()
