"""What a channel's sender raises when a notice did not get through.

The worker decides from the class alone what becomes of the delivery::

    SendError
    ├── SendFailedError    transient: the receiver or the way to it is down, busy or slow;
    │                      tried again after the channel's backoff, dead after its last attempt
    └── SendRefusedError   the receiver refused this notice (an HTTP 4xx, a mailbox that does
                           not exist, a target the channel cannot use); trying again would get
                           the same answer, so the delivery is dead at once

Both carry the delivery, the channel's target and the reason; ``str()`` of either is what the
outbox keeps as the delivery's ``last_error``.
"""

from store.sql import Channel


class SendError(Exception):
    """A notice did not reach ``target`` over ``channel``, for ``reason``."""

    def __init__(self, delivery_id: int, channel: Channel, target: str, reason: str) -> None:
        self.delivery_id = delivery_id
        self.channel = channel
        self.target = target
        self.reason = reason
        super().__init__(f"{channel} to {target}: {reason}")


class SendFailedError(SendError):
    """Worth trying again; ``retry_after_s`` is a wait the receiver asked for, if any."""

    def __init__(
        self,
        delivery_id: int,
        channel: Channel,
        target: str,
        reason: str,
        *,
        retry_after_s: float = 0.0,
    ) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(delivery_id, channel, target, reason)


class SendRefusedError(SendError):
    """Refused for good: the delivery is dead without further attempts."""
