"""Polled devices: one thread per bus, a schedule per device, backoff for the dead ones.

A serial RS-485 bus or a TCP connection is one :class:`PolledBus`: the only owner of its port.
On it stand one or more :class:`PollTarget` objects (a sensor, a Modbus slave, a DL/T 645 meter
address), each with its own interval. The bus thread polls every target when it is due, one
request at a time, with ``request_gap_s`` between requests (slow meters need a pause).

Failures are typed (:class:`PollError` and its subclasses) and change only the failing target's
state and counters. A target that keeps failing is polled less and less often — its interval
doubled per consecutive failure, up to ``max_backoff_s`` — so a dead slave costs the bus one
timeout per backoff period instead of one per interval, and the live slaves keep their rhythm.
The first success brings the target back to its interval. A :class:`PortError` means the
transport itself failed: the bus closes it and reopens it, with the same backoff.
"""

import abc
import heapq
import logging
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import ClassVar, Protocol

from edge.devices.base import (
    Clock,
    CounterBox,
    DeviceCounters,
    DeviceState,
    ReadingSink,
    wall_clock_ms,
)
from telemetry import Reading
from telemetry.payload import MIN_TS_MS

_log = logging.getLogger(__name__)

__all__ = [
    "Backoff",
    "BadFrame",
    "DeviceFault",
    "DeviceState",
    "PollError",
    "PollTarget",
    "PolledBus",
    "PortError",
    "ReadTimeout",
]


class PollError(Exception):
    """A poll that produced no readings; ``state`` is what the device's state becomes."""

    state: ClassVar[DeviceState]

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class ReadTimeout(PollError):  # noqa: N818 - read as outcomes of a poll, under PollError
    """No answer, or no complete answer, within the timeout."""

    state = DeviceState.TIMEOUT


class BadFrame(PollError):  # noqa: N818 - read as outcomes of a poll, under PollError
    """A damaged (checksum), malformed or unexpected answer."""

    state = DeviceState.BAD_FRAME


class DeviceFault(PollError):  # noqa: N818 - read as outcomes of a poll, under PollError
    """The device answered, with an error: a Modbus exception, a DL/T 645 error reply."""

    state = DeviceState.EXCEPTION

    def __init__(self, detail: str, *, code: int | None = None) -> None:
        self.code = code
        super().__init__(detail if code is None else f"{detail} (code {code})")


class PortError(PollError):
    """The transport failed (port gone, connection dropped): close it and open it again."""

    state = DeviceState.DISCONNECTED


class PollTarget(Protocol):
    """One logical device on a bus."""

    @property
    def id(self) -> str:
        """The device id its readings carry."""
        ...

    @property
    def interval_s(self) -> float:
        """Seconds between two polls while the device is healthy."""
        ...

    def poll(self, now_ms: int) -> Sequence[Reading]:
        """Read the device once, on the bus thread while the transport is open.

        Raises:
            PollError: the poll produced no readings, and why.
        """
        ...


class Backoff:
    """Wait before the next attempt after ``failures`` consecutive failures: doubling, capped."""

    def __init__(self, interval_s: float, max_s: float) -> None:
        self.interval_s = interval_s
        self.max_s = max(max_s, interval_s)

    def delay(self, failures: int) -> float:
        """The interval while healthy; ``interval * 2**failures`` (capped) after failures."""
        if failures <= 0:
            return self.interval_s
        return min(self.interval_s * 2.0 ** min(failures, 60), self.max_s)


class PolledBus(abc.ABC):
    """The owner of one port with polled devices on it; implements :class:`edge.devices.Device`.

    Subclasses open and close the transport and say which targets stand on it; this class runs
    the thread, the schedules, the backoff and the counters.
    """

    def __init__(  # noqa: PLR0913 - bus options, keyword-only
        self,
        bus_id: str,
        sink: ReadingSink,
        *,
        clock: Clock = wall_clock_ms,
        request_gap_s: float = 0.0,
        max_backoff_s: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bus_id = bus_id
        self._sink = sink
        self._clock = clock
        self._request_gap_s = request_gap_s
        self._max_backoff_s = max_backoff_s
        self._monotonic = monotonic
        self._counters: dict[str, CounterBox] = {}
        self._boxes_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._open = False
        self._port_failures = 0

    # --- what a bus provides ------------------------------------------------------------------

    @abc.abstractmethod
    def open(self) -> None:
        """Open the port or connection.

        Raises:
            PortError: it cannot be opened now.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Close the port or connection; must not raise."""

    @abc.abstractmethod
    def targets(self) -> Sequence[PollTarget]:
        """The devices on this bus."""

    # --- the Device interface -----------------------------------------------------------------

    @property
    def id(self) -> str:
        """The bus id from the configuration."""
        return self._bus_id

    def counters(self) -> dict[str, DeviceCounters]:
        """A snapshot of each target's counters, keyed by device id."""
        return {target.id: self._box(target.id).snapshot() for target in self.targets()}

    def update_counters(self, device_id: str, change: Callable[[DeviceCounters], None]) -> None:
        """Apply ``change`` to one target's counters (protocol-level counts a driver keeps)."""
        self._box(device_id).update(change)

    def start(self) -> None:
        """Start polling in a background thread; returns at once."""
        if self._thread is not None:
            raise RuntimeError(f"bus {self.id} already started")
        self._thread = threading.Thread(target=self.run, name=f"bus-{self.id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the poll in progress, close the transport and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # --- the bus thread ---------------------------------------------------------------------

    def run(self) -> None:
        """Poll every target when due until :meth:`stop`."""
        targets = list(self.targets())
        failures = dict.fromkeys((t.id for t in targets), 0)
        now = self._monotonic()
        # (due time, position, target): the position breaks ties in configuration order.
        due = [(now, position, target) for position, target in enumerate(targets)]
        heapq.heapify(due)
        try:
            while due and not self._stop.is_set():
                when, position, target = due[0]
                if self._stop.wait(max(0.0, when - self._monotonic())):
                    break
                if not self._ensure_open(targets):
                    continue
                heapq.heappop(due)
                ok = self._poll_once(target)
                failures[target.id] = 0 if ok else failures[target.id] + 1
                wait = Backoff(target.interval_s, self._max_backoff_s).delay(failures[target.id])
                self._box(target.id).update(partial(_set_backoff, seconds=0.0 if ok else wait))
                # Keep the rhythm while healthy (no drift), but never queue a burst to catch up.
                next_due = when + wait if ok else self._monotonic() + wait
                heapq.heappush(due, (max(next_due, self._monotonic()), position, target))
                if self._request_gap_s:
                    self._stop.wait(self._request_gap_s)
        finally:
            self._close()

    def _ensure_open(self, targets: Sequence[PollTarget]) -> bool:
        if self._open:
            return True
        try:
            self.open()
        except PortError as exc:
            self._port_failures += 1
            for target in targets:
                self._box(target.id).update(partial(_open_failed, error=exc))
            delay = Backoff(1.0, self._max_backoff_s).delay(self._port_failures)
            _log.warning("%s: cannot open (%s); retrying in %.0f s", self.id, exc.detail, delay)
            self._stop.wait(delay)
            return False
        self._open = True
        self._port_failures = 0
        for target in targets:
            self._box(target.id).update(_connected)
        _log.info("%s: open", self.id)
        return True

    def _poll_once(self, target: PollTarget) -> bool:
        now_ms = self._clock()
        box = self._box(target.id)
        if now_ms < MIN_TS_MS:
            # A Pi has no real-time clock: until it is set, nothing read could be dated.
            box.update(_clock_unset)
            return True
        try:
            readings = target.poll(now_ms)
        except PortError as exc:
            box.update(partial(_failed, error=exc))
            _log.warning("%s: %s: connection lost: %s", self.id, target.id, exc.detail)
            self._close()
            return False
        except PollError as exc:
            box.update(partial(_failed, error=exc))
            _log.debug("%s: %s: %s", self.id, target.id, exc.detail)
            return False
        except Exception as exc:  # noqa: BLE001 - a driver bug must not stop the other devices
            _log.exception("%s: %s: unexpected error", self.id, target.id)
            box.update(partial(_failed, error=DeviceFault(f"unexpected error: {exc!r}")))
            return False
        recovered = box.snapshot().consecutive_failures > 0
        box.update(_succeeded)
        if recovered:
            _log.info("%s: %s: reading again", self.id, target.id)
        if readings:
            self._sink(readings)
        return True

    def _close(self) -> None:
        if self._open:
            self._open = False
            self.close()
            for target in self.targets():
                self._box(target.id).update(_disconnected)

    def _box(self, device_id: str) -> CounterBox:
        with self._boxes_lock:  # the bus thread and readers of counters() may both create it
            box = self._counters.get(device_id)
            if box is None:
                box = self._counters[device_id] = CounterBox()
            return box


def _succeeded(c: DeviceCounters) -> None:
    c.polls += 1
    c.frames += 1
    c.state = DeviceState.OK
    c.consecutive_failures = 0


def _failed(c: DeviceCounters, error: PollError) -> None:
    c.polls += 1
    c.consecutive_failures += 1
    c.state = error.state
    c.last_error = error.detail
    match error:
        case ReadTimeout():
            c.read_timeouts += 1
        case BadFrame():
            c.bad_frames += 1
        case DeviceFault():
            c.device_faults += 1
        case PortError():
            c.disconnects += 1
        case _:
            pass


def _open_failed(c: DeviceCounters, error: PortError) -> None:
    c.open_failures += 1
    c.state = DeviceState.DISCONNECTED
    c.last_error = error.detail


def _set_backoff(c: DeviceCounters, seconds: float) -> None:
    c.backoff_s = seconds


def _connected(c: DeviceCounters) -> None:
    c.connected = True


def _disconnected(c: DeviceCounters) -> None:
    c.connected = False


def _clock_unset(c: DeviceCounters) -> None:
    c.clock_unset += 1
