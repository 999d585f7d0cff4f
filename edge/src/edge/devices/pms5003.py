"""The I/O owner of one Plantower PMS5003 on one serial port.

On every (re)connection it flushes stale input, wakes the sensor and sets its mode. In active
mode it reads the stream; in passive mode it sends a read command every ``read_interval``.
Frames in the first ``warmup`` seconds after a wake are counted and discarded (the fan needs
about 30 s before readings settle). With a ``duty_cycle`` the sensor is put to sleep after
``awake`` seconds of each ``period`` and woken at the next period, warm-up included. Each
valid frame becomes one reading per configured metric, from the atmospheric values, stamped with
the gateway clock at reception. Frames that do not arrive within ``timeout`` count as read
timeouts. A port that cannot be opened, or fails while open, is closed and retried after
``retry_delay`` seconds.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import serial

from edge.config import Pms5003Config
from edge.config.pms5003 import DutyCycle
from edge.devices.base import (
    Clock,
    CounterBox,
    DeviceCounters,
    DeviceState,
    ReadingSink,
    wall_clock_ms,
)
from edge.protocols import pms5003
from edge.protocols.pms5003 import FrameDecoder, Pms5003Frame
from telemetry import Quality, Reading
from telemetry.payload import MIN_TS_MS

_log = logging.getLogger(__name__)
POLL_SECONDS = 0.1  # longest blocking read: how late stop() or a passive read may be


@dataclass(frozen=True, slots=True)
class FrameMetric:
    """How one metric id is read from a data frame."""

    metric: str
    value: Callable[[Pms5003Frame], int]


FRAME_METRICS = {
    m.metric: m
    for m in (
        FrameMetric("pm1", lambda f: f.pm1_atm),
        FrameMetric("pm25", lambda f: f.pm25_atm),
        FrameMetric("pm10", lambda f: f.pm10_atm),
        FrameMetric("pc_0_3", lambda f: f.pc_0_3),
        FrameMetric("pc_0_5", lambda f: f.pc_0_5),
        FrameMetric("pc_1_0", lambda f: f.pc_1_0),
        FrameMetric("pc_2_5", lambda f: f.pc_2_5),
        FrameMetric("pc_5_0", lambda f: f.pc_5_0),
        FrameMetric("pc_10", lambda f: f.pc_10),
    )
}


@dataclass(slots=True)
class _Cycle:
    """Where a duty-cycled sensor is in its cycle; ``turn`` says when to sleep or wake it."""

    duty: DutyCycle | None
    start: float
    asleep: bool = False

    def turn(self, now: float) -> Literal["sleep", "wake"] | None:
        if self.duty is None:
            return None
        if not self.asleep and now >= self.start + self.duty.awake:
            self.asleep = True
            return "sleep"
        if self.asleep and now >= self.start + self.duty.period:
            self.asleep, self.start = False, now
            return "wake"
        return None


@dataclass(slots=True)
class _FrameWatch:
    """When the next passive read is due, and whether an expected frame is overdue."""

    config: Pms5003Config
    now: float
    awaiting: bool = False
    waiting_since: float = 0.0  # when the frame we wait for was due
    next_read: float = 0.0
    timed_out: bool = False  # set when a frame is overdue; the owner counts and clears it

    def __post_init__(self) -> None:
        self.restart(self.now)

    @property
    def passive(self) -> bool:
        return self.config.mode == "passive"

    def restart(self, now: float) -> None:
        self.awaiting, self.waiting_since, self.next_read = not self.passive, now, now

    def read_due(self, now: float) -> bool:
        if not self.passive or now < self.next_read:
            return False
        if self.awaiting:
            self.timed_out = True  # the previous read was never answered
        self.awaiting, self.waiting_since = True, now
        self.next_read += self.config.read_interval
        if self.next_read <= now:  # late (a slow port): do not fire a burst to catch up
            self.next_read = now + self.config.read_interval
        return True

    def after_read(self, now: float, *, got_frames: bool) -> None:
        if got_frames:
            self.awaiting, self.waiting_since = not self.passive, now
        elif self.awaiting and now - self.waiting_since >= self.config.timeout:
            self.timed_out = True
            self.awaiting, self.waiting_since = not self.passive, now


class Pms5003Device:
    """Reads one PMS5003 in a thread of its own and hands its readings to ``sink``."""

    def __init__(
        self,
        config: Pms5003Config,
        sink: ReadingSink,
        *,
        clock: Clock = wall_clock_ms,
        retry_delay: float = 5.0,
    ) -> None:
        self.config = config
        self._sink = sink
        self._clock = clock
        self._retry_delay = retry_delay
        self._metrics = tuple(FRAME_METRICS[m] for m in config.metrics)
        self._decoder = FrameDecoder()
        self._counters = CounterBox()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_logged_error: str | None = None
        self._settled_at = 0.0  # monotonic time from which frames count (after a warm-up)

    @property
    def id(self) -> str:
        """The configured device id."""
        return self.config.id

    def counters(self) -> dict[str, DeviceCounters]:
        """A snapshot of this device's counters."""
        return {self.id: self._counters.snapshot()}

    def start(self) -> None:
        """Start reading in a background thread."""
        if self._thread is not None:
            raise RuntimeError(f"device {self.id} already started")
        self._thread = threading.Thread(target=self.run, name=f"pms5003-{self.id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading, close the port and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Open, read, and reopen after failures until :meth:`stop`."""
        while not self._stop.is_set():
            try:
                port = serial.Serial(
                    str(self.config.port),
                    self.config.baudrate,
                    timeout=POLL_SECONDS,
                    exclusive=True,  # one owner per port, even across processes
                )
            except (OSError, ValueError) as exc:
                self._failed(f"cannot open {self.config.port}: {exc}", was_open=False)
                self._stop.wait(self._retry_delay)
                continue
            try:
                with port:
                    self._counters.update(_mark_connected)
                    _log.info("%s: reading %s in %s mode", self.id, port.port, self.config.mode)
                    self._last_logged_error = None
                    self._session(port)
            except OSError as exc:
                self._failed(f"{self.config.port} failed: {exc}", was_open=True)
                self._stop.wait(self._retry_delay)
            except Exception:  # noqa: BLE001 - a bug must not silence this device for good
                _log.exception(
                    "%s: unexpected error; reopening in %s s", self.id, self._retry_delay
                )
                self._failed(f"{self.config.port}: unexpected error", was_open=True)
                self._stop.wait(self._retry_delay)
            finally:
                self._counters.update(_mark_disconnected)

    def _session(self, port: serial.Serial) -> None:
        port.reset_input_buffer()  # bytes from before we listened would get the wrong time
        self._wake(port)
        cycle = _Cycle(self.config.duty_cycle, start=time.monotonic())
        watch = _FrameWatch(self.config, now=cycle.start)
        while not self._stop.is_set():
            now = time.monotonic()
            turn = cycle.turn(now)
            if turn == "sleep":
                port.write(pms5003.sleep())
            elif turn == "wake":
                self._wake(port)
                watch.restart(now)
            if not cycle.asleep and watch.read_due(now):
                port.write(pms5003.read_passive())
            data = port.read(port.in_waiting or 1)
            frames = self._decoder.feed(data)
            if data:
                self._counters.update(self._copy_decoder_counts)
            for frame in frames:
                self._emit(frame)
            if not cycle.asleep:
                watch.after_read(time.monotonic(), got_frames=bool(frames))
            if watch.timed_out:
                watch.timed_out = False
                self._count_timeout()

    def _wake(self, port: serial.Serial) -> None:
        """Wake the sensor, set its mode, and start its warm-up."""
        mode = pms5003.passive_mode() if self.config.mode == "passive" else pms5003.active_mode()
        port.write(pms5003.wake() + mode)
        self._settled_at = time.monotonic() + self.config.warmup

    def _emit(self, frame: Pms5003Frame) -> None:
        if time.monotonic() < self._settled_at:
            self._counters.update(_count_warmup)
            return  # the fan has not run long enough for the reading to mean anything
        ts = self._clock()
        if ts < MIN_TS_MS:
            self._counters.update(_count_clock_unset)
            return  # no trustworthy time to give these values
        readings = [
            Reading(
                device=self.id,
                metric=m.metric,
                value=float(m.value(frame)),
                ts=ts,
                quality=Quality.NORMAL,
            )
            for m in self._metrics
        ]
        self._sink(readings)

    def _copy_decoder_counts(self, c: DeviceCounters) -> None:
        if self._decoder.frames > c.frames:
            c.state = DeviceState.OK
        elif self._decoder.checksum_errors > c.checksum_errors:
            c.state = DeviceState.BAD_FRAME
        c.frames = self._decoder.frames
        c.checksum_errors = self._decoder.checksum_errors
        c.garbage_bytes = self._decoder.garbage_bytes

    def _count_timeout(self) -> None:
        self._counters.update(_count_timeout)
        _log.debug("%s: no frame within %s s", self.id, self.config.timeout)

    def _failed(self, message: str, *, was_open: bool) -> None:
        def count(c: DeviceCounters) -> None:
            if was_open:
                c.disconnects += 1
            else:
                c.open_failures += 1
            c.last_error = message
            c.state = DeviceState.DISCONNECTED

        self._counters.update(count)
        # the first failure of a kind is a warning; its repetitions every few seconds are not
        level = logging.WARNING if message != self._last_logged_error else logging.DEBUG
        _log.log(level, "%s: %s; retrying in %s s", self.id, message, self._retry_delay)
        self._last_logged_error = message


def _mark_connected(c: DeviceCounters) -> None:
    c.connected = True


def _mark_disconnected(c: DeviceCounters) -> None:
    c.connected = False
    c.state = DeviceState.DISCONNECTED


def _count_timeout(c: DeviceCounters) -> None:
    c.read_timeouts += 1
    c.state = DeviceState.TIMEOUT


def _count_warmup(c: DeviceCounters) -> None:
    c.warmup_frames += 1


def _count_clock_unset(c: DeviceCounters) -> None:
    c.clock_unset += 1
