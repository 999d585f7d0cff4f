"""What every device owner shares: where its readings go, its counters, and how it is driven.

A device owner is the one object that talks to one port. It runs in its own thread between
:meth:`Device.start` and :meth:`Device.stop`, turns what the device says into
:class:`telemetry.Reading` objects stamped with the gateway's clock, and hands them to a
:data:`ReadingSink`. A port that fails to open or goes away is retried, counted and logged; it
never ends the agent.
"""

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from telemetry import Reading

ReadingSink = Callable[[Sequence[Reading]], None]
"""Receives the readings of one device poll; called from the device's thread."""

Clock = Callable[[], int]
"""UTC epoch milliseconds."""


def wall_clock_ms() -> int:
    """The gateway's UTC clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class DeviceState(StrEnum):
    """What the last attempt to read a device came to."""

    STARTING = "starting"  # not read yet
    OK = "ok"
    TIMEOUT = "timeout"  # no (complete) answer in time
    BAD_FRAME = "bad_frame"  # a damaged or malformed answer
    EXCEPTION = "exception"  # the device answered with an error (e.g. a Modbus exception)
    DISCONNECTED = "disconnected"  # the port or connection is not usable


@dataclass(slots=True)
class DeviceCounters:
    """Health of one device since the agent started.

    Attributes:
        frames: valid frames received.
        checksum_errors: frames that arrived damaged.
        garbage_bytes: bytes discarded while looking for frames.
        read_timeouts: periods in which an expected frame did not arrive.
        open_failures: attempts to open the port that failed.
        disconnects: open ports that failed while in use.
        clock_unset: frames dropped because the gateway clock was not set (before 2000).
        warmup_frames: frames discarded because the sensor was still warming up after a wake.
        connected: whether the port is open now.
        last_error: the most recent error, for the log and status reports.
        state: what the last read came to.
        polls: requests made to a polled device (successful or not).
        bad_frames: answers that were damaged or malformed.
        device_faults: answers in which the device reported an error.
        consecutive_failures: failed polls since the last success.
        backoff_s: the current wait before the next poll of a failing device (0 when healthy).
    """

    frames: int = 0
    checksum_errors: int = 0
    garbage_bytes: int = 0
    read_timeouts: int = 0
    open_failures: int = 0
    disconnects: int = 0
    clock_unset: int = 0
    warmup_frames: int = 0
    connected: bool = False
    last_error: str | None = None
    state: DeviceState = DeviceState.STARTING
    polls: int = 0
    bad_frames: int = 0
    device_faults: int = 0
    consecutive_failures: int = 0
    backoff_s: float = 0.0


class CounterBox:
    """A device's counters behind a lock: the device thread writes, anyone may take a copy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters = DeviceCounters()

    def update(self, change: Callable[[DeviceCounters], None]) -> None:
        """Apply ``change`` to the counters atomically."""
        with self._lock:
            change(self._counters)

    def snapshot(self) -> DeviceCounters:
        """A consistent copy of the counters."""
        with self._lock:
            return dataclasses.replace(self._counters)


class Device(Protocol):
    """The interface the agent drives every device owner through."""

    @property
    def id(self) -> str:
        """The device id from the configuration, used in every reading."""
        ...

    def start(self) -> None:
        """Start the device's thread; returns at once."""
        ...

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to finish, close the port and wait up to ``timeout`` seconds."""
        ...

    def counters(self) -> Mapping[str, DeviceCounters]:
        """A snapshot of the counters of each device this owner reads, keyed by device id."""
        ...
