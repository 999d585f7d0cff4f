"""One channel's worker: claim due deliveries from the outbox, send each, record the outcome.

::

    claim(channel, lease)  ──▶  sender.send(delivery)  ──▶  delivered(id)
                                        │ SendFailedError   failed(id, retry_at=now + backoff)
                                        │                   or dead after the last attempt
                                        └ SendRefusedError  failed(id, retry_at=None): dead

A delivery is marked only after its sender returned, and a sender returns only once the
receiver has the notice (the broker's PUBACK, a 2xx answer, the SMTP server's acceptance). A
worker that dies in between leaves the delivery leased; when the lease ends it is claimed and
sent again, with the same idempotency key, so the receiver can drop the copy. A delivery
whose lease ran out while earlier ones of its batch were being sent is not sent at all: by
then another worker may have claimed it.

:meth:`ChannelWorker.run_once` is one round, driven by the injected clock, which is how the
tests step through retries; :meth:`ChannelWorker.start` runs rounds on a thread of its own,
waiting ``poll_interval_s`` between rounds that found little, or until :meth:`ChannelWorker.wake`.
"""

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from rules.delivery.errors import SendFailedError, SendRefusedError
from rules.delivery.settings import RetryPolicy
from store.sql import Channel, Delivery, Outbox

log = logging.getLogger(__name__)

_STORE_RETRY_MAX_S = 30.0  # the longest wait between rounds while the SQL store is down


class Sender(Protocol):
    """One channel's way of sending a notice; raises a ``SendError`` when it did not arrive."""

    @property
    def channel(self) -> Channel:
        """The channel whose deliveries this sender takes."""
        ...

    def send(self, delivery: Delivery) -> None:
        """Return once the receiver has ``delivery``'s notice.

        Raises:
            SendFailedError: not now; worth trying again.
            SendRefusedError: refused for good.
        """
        ...

    def close(self) -> None:
        """Let go of connections; the sender is not used afterwards."""
        ...


@dataclass(frozen=True, slots=True)
class Round:
    """What one round did: deliveries claimed, and what became of them."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    expired: int = 0  # lease ran out before their turn: left for the next claim
    released: int = 0  # the worker was stopping: handed back, due at once


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ChannelWorker:
    """Delivers one channel's notices from the outbox, with the channel's retry policy."""

    def __init__(  # noqa: PLR0913 - collaborators and knobs, keyword-only
        self,
        outbox: Outbox,
        sender: Sender,
        retry: RetryPolicy,
        *,
        lease_s: float,
        batch: int,
        poll_interval_s: float,
        clock: Callable[[], datetime] = _utc_now,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._outbox = outbox
        self._sender = sender
        self._retry = retry
        self._lease_s = lease_s
        self._batch = batch
        self._poll_interval_s = poll_interval_s
        self._clock = clock
        self._draw = draw
        self._stopping = threading.Event()
        self._woken = threading.Event()  # notices were written: look now, not at the next poll
        self._thread: threading.Thread | None = None

    @property
    def channel(self) -> Channel:
        """The channel this worker delivers."""
        return self._sender.channel

    def run_once(self) -> Round:
        """Claim the due deliveries (one batch) and try each once."""
        claimed_at = self._clock()
        deliveries = self._outbox.claim(
            self.channel, now=claimed_at, lease_s=self._lease_s, limit=self._batch
        )
        lease_end = claimed_at + timedelta(seconds=self._lease_s)
        outcomes = {"delivered": 0, "retried": 0, "dead": 0, "expired": 0, "released": 0}
        for delivery in deliveries:
            if self._clock() >= lease_end:
                outcomes["expired"] += 1
            elif self._stopping.is_set():
                # Still ours: hand it back now rather than make the next worker wait a lease.
                why = "not attempted: the worker stopped"
                self._outbox.failed(delivery.id, why, now=self._clock(), retry_at=self._clock())
                outcomes["released"] += 1
            else:
                outcomes[self._attempt(delivery)] += 1
        return Round(claimed=len(deliveries), **outcomes)

    def _attempt(self, delivery: Delivery) -> str:
        try:
            self._sender.send(delivery)
        except SendRefusedError as error:
            log.warning("delivery %d dead, refused: %s", delivery.id, error)
            self._outbox.failed(delivery.id, str(error), now=self._clock(), retry_at=None)
            return "dead"
        except SendFailedError as error:
            return self._failed(delivery, str(error), error.retry_after_s)
        except Exception as error:  # a bug in a sender must not stop the channel
            log.exception(
                "delivery %d: unexpected error from the %s sender", delivery.id, self.channel
            )
            return self._failed(delivery, f"{type(error).__name__}: {error}", 0.0)
        self._outbox.delivered(delivery.id, now=self._clock())
        log.debug("delivery %d delivered (attempt %d)", delivery.id, delivery.attempts)
        return "delivered"

    def _failed(self, delivery: Delivery, error: str, at_least_s: float) -> str:
        now = self._clock()
        retry_at = self._retry.next_attempt(
            delivery.attempts, now=now, draw=self._draw(), at_least_s=at_least_s
        )
        self._outbox.failed(delivery.id, error, now=now, retry_at=retry_at)
        if retry_at is None:
            log.warning(
                "delivery %d dead after %d attempts: %s", delivery.id, delivery.attempts, error
            )
            return "dead"
        log.info(
            "delivery %d failed (attempt %d), again at %s: %s",
            delivery.id,
            delivery.attempts,
            retry_at.isoformat(),
            error,
        )
        return "retried"

    def start(self) -> None:
        """Run rounds on a thread of its own until :meth:`stop`."""
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"delivery-{self.channel}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the delivery being sent, hand the rest of the batch back, and close.

        What is handed back is due at once for the next worker to claim (its claim counted as
        an attempt); a worker that is killed instead leaves its batch until the lease ends.
        """
        self._stopping.set()
        self._woken.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._sender.close()

    def _run(self) -> None:
        store_wait_s = self._poll_interval_s
        while not self._stopping.is_set():
            try:
                done = self.run_once()
            except SQLAlchemyError:
                log.exception(
                    "%s delivery: the SQL store failed; again in %.1f s", self.channel, store_wait_s
                )
                self._stopping.wait(store_wait_s)
                store_wait_s = min(store_wait_s * 2, _STORE_RETRY_MAX_S)
                continue
            store_wait_s = self._poll_interval_s
            if done.claimed < self._batch:  # a full batch suggests more are due at once
                self._woken.wait(self._poll_interval_s)
                self._woken.clear()

    def wake(self) -> None:
        """Look for due deliveries now: the caller has just written some to the outbox.

        A notice written in this process then waits for no poll (``poll_interval_s`` stays
        the pace for retries and for notices written by other processes).
        """
        self._woken.set()
