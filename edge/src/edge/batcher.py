"""Collects readings into batches: a batch leaves when it is full or when its interval is up.

Time-based flushing keeps latency bounded when few readings arrive; the size limit keeps each
MQTT message small when many do. The schedule is fixed (every ``interval`` seconds from the
start), so a burst of full batches does not postpone the next timed one. Pure: the clock is
injected, and nothing here publishes.
"""

import math
import time
from collections.abc import Callable, Sequence

from telemetry import Reading


class Batcher:
    """Readings waiting to be published."""

    def __init__(
        self,
        interval: float,
        max_readings: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval <= 0 or max_readings < 1:
            raise ValueError("interval must be positive and max_readings at least 1")
        self.interval = interval
        self.max_readings = max_readings
        self._clock = clock
        self._pending: list[Reading] = []
        self._deadline = clock() + interval

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, readings: Sequence[Reading]) -> list[list[Reading]]:
        """Queue ``readings``; return the batches they filled up to ``max_readings``, in order."""
        self._pending.extend(readings)
        full: list[list[Reading]] = []
        while len(self._pending) >= self.max_readings:
            full.append(self._pending[: self.max_readings])
            del self._pending[: self.max_readings]
        return full

    def seconds_left(self) -> float:
        """Seconds until the next timed batch is due; zero or less when it is."""
        return self._deadline - self._clock()

    def due(self) -> bool:
        """Whether the timed batch is due."""
        return self.seconds_left() <= 0

    def take(self) -> list[Reading]:
        """Everything waiting (possibly nothing); moves the schedule past the present."""
        taken, self._pending = self._pending, []
        overdue = self._clock() - self._deadline
        if overdue >= 0:
            self._deadline += (math.floor(overdue / self.interval) + 1) * self.interval
        return taken
