"""Which spooled batches to publish, and when: the delivery protocol's bookkeeping, sans-IO.

The window knows the batches published and not yet covered by the platform's watermark (the
in-flight ones, each with the time of its last publication), the highest seq published so far
(the cursor: new batches are those after it) and a token bucket that paces publication.

- At most ``max_in_flight`` batches are in flight; a watermark frees their places.
- A batch in flight for ``ack_timeout_s`` is due again (same seq).
- Every publication, first or repeated, takes a token; the bucket holds ``max(1, rate)`` tokens
  and refills at ``rate`` per second, so a backlog goes out at ``rate`` batches per second
  after a burst of at most one second's worth.

The caller supplies the time (monotonic seconds) and holds whatever lock it needs.
"""


class DeliveryWindow:
    """The in-flight set, the cursor, the watermark and the rate of one gateway's delivery."""

    def __init__(
        self, *, max_in_flight: int, ack_timeout_s: float, rate_per_s: float, now_s: float
    ) -> None:
        self.max_in_flight = max_in_flight
        self.ack_timeout_s = ack_timeout_s
        self.rate_per_s = rate_per_s
        self._burst = max(1.0, rate_per_s)
        self._tokens = 1.0  # a fresh start publishes one batch, then keeps to the rate
        self._refilled_s = now_s
        self.in_flight: dict[int, float] = {}  # seq -> time of its last publication
        self.cursor = 0  # the highest seq published at least once
        self.watermark: int | None = None  # the platform's last watermark

    def refill(self, now_s: float) -> None:
        """Add the tokens earned since the last refill."""
        elapsed = max(0.0, now_s - self._refilled_s)
        self._tokens = min(self._burst, self._tokens + elapsed * self.rate_per_s)
        self._refilled_s = now_s

    def take_token(self) -> bool:
        """Spend a token on one publication; False when the rate allows none now."""
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def due_again(self, now_s: float) -> list[int]:
        """The seqs in flight for ``ack_timeout_s`` or longer, in seq order."""
        return sorted(s for s, at in self.in_flight.items() if now_s - at >= self.ack_timeout_s)

    def room(self) -> int:
        """How many new batches may be published now without exceeding ``max_in_flight``."""
        return max(0, self.max_in_flight - len(self.in_flight))

    def publishing(self, seq: int, now_s: float) -> bool:
        """Record a publication of ``seq``; False (record nothing) if the watermark covers it."""
        if self.watermark is not None and seq <= self.watermark:
            return False
        self.in_flight[seq] = now_s
        self.cursor = max(self.cursor, seq)
        return True

    def forget(self, seq: int) -> None:
        """``seq`` left the spool without a watermark (a quota drop): stop waiting for it."""
        self.in_flight.pop(seq, None)

    def acknowledged(self, watermark: int) -> None:
        """The platform stored every seq up to ``watermark``; a lower one changes nothing."""
        self.watermark = max(watermark, self.watermark or 0)
        for seq in [s for s in self.in_flight if s <= watermark]:
            del self.in_flight[seq]
        self.cursor = max(self.cursor, watermark)
