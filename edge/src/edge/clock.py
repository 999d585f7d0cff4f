"""Is the gateway's clock synchronised? Readings stamped by an unsynchronised clock get flagged.

A Raspberry Pi has no battery-backed clock: after a power cut it starts from the last time it
saved, and NTP corrects it only once the network is up. Readings taken in between carry wrong
timestamps, so they are published with ``time_unsynced`` instead of being trusted silently.

The kernel knows: ``adjtimex(2)`` with ``modes = 0`` only reads the NTP state. It returns
``TIME_ERROR`` (5) while ``STA_UNSYNC`` (0x0040) or ``STA_CLOCKERR`` (0x1000) is set, and
``maxerror`` grows by 500 ppm from the last NTP update up to 16 s, where the kernel sets
``STA_UNSYNC`` itself. Sources: Linux ``include/uapi/linux/timex.h`` and adjtimex(2) (RETURN
VALUE). Which of these to trust follows systemd's ``ntp_synced()`` (what ``timedatectl``
shows as "System clock synchronized"): ``maxerror`` below 16 s, because chrony sets
``STA_UNSYNC`` on a synchronised clock when told not to touch the RTC. Where the call does not
exist (not Linux, no libc) or fails, the state is ``unknown``. Independently of the kernel, a
clock before 2000 is never synchronised (the rule the device owners and ``EpochMs`` apply).

Sequence numbers never depend on the clock: the spool numbers batches in its own transaction.
"""

import ctypes
import ctypes.util
import functools
import time
from collections.abc import Callable
from typing import Any

from telemetry import ClockSync
from telemetry.payload import MIN_TS_MS

# include/uapi/linux/timex.h
TIME_ERROR = 5  # clock state returned by adjtimex: "clock not synchronized"
STA_UNSYNC = 0x0040  # status bit: clock unsynchronized
STA_CLOCKERR = 0x1000  # status bit: clock hardware fault
# kernel/time/ntp.c NTP_PHASE_LIMIT: maxerror saturates here (µs); systemd's ntp_synced() limit
MAX_ERROR_UNSYNCED_US = 16_000_000


class _Timex(ctypes.Structure):
    """``struct timex`` up to ``status``; the rest is room the kernel may write into."""

    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_byte * 256),  # larger than the remaining fields on every ABI
    )


def interpret(result: int, status: int, maxerror_us: int) -> ClockSync:
    """The sync state told by ``adjtimex``'s return value, ``status`` and ``maxerror``.

    ``STA_UNSYNC`` and ``TIME_ERROR`` alone do not decide (see the module docstring): a clock
    with a hardware fault or a maximum error of 16 s is unsynchronised.
    """
    if result < 0:
        return ClockSync.UNKNOWN  # the call failed
    if status & STA_CLOCKERR or maxerror_us >= MAX_ERROR_UNSYNCED_US:
        return ClockSync.UNSYNCED
    return ClockSync.SYNCED


@functools.cache
def _adjtimex() -> Any | None:  # noqa: ANN401 - a ctypes foreign function
    # find_library may run ``ldconfig``: look the function up once per process
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name, use_errno=True).adjtimex
    except (OSError, AttributeError):
        return None


def kernel_sync() -> ClockSync:
    """Ask the kernel through ``adjtimex`` (read-only); ``unknown`` where that is impossible."""
    adjtimex = _adjtimex()
    if adjtimex is None:
        return ClockSync.UNKNOWN
    buf = _Timex()  # modes = 0: read only, changes nothing
    result = adjtimex(ctypes.byref(buf))
    return interpret(int(result), int(buf.status), int(buf.maxerror))


def clock_sync(now_ms: int, kernel: Callable[[], ClockSync] = kernel_sync) -> ClockSync:
    """The clock's state at ``now_ms``: unsynchronised before 2000 whatever the kernel says."""
    if now_ms < MIN_TS_MS:
        return ClockSync.UNSYNCED
    return kernel()


class ClockMonitor:
    """Caches the kernel's answer for ``refresh_s`` seconds: the agent asks on every poll."""

    def __init__(
        self, kernel: Callable[[], ClockSync] = kernel_sync, *, refresh_s: float = 10.0
    ) -> None:
        self._kernel = kernel
        self._refresh_s = refresh_s
        self._state = ClockSync.UNKNOWN
        self._checked: float | None = None

    def state(self, now_ms: int) -> ClockSync:
        """The state at ``now_ms``; the kernel is asked at most once per ``refresh_s``."""
        mono = time.monotonic()
        if self._checked is None or mono - self._checked >= self._refresh_s:
            self._state = self._kernel()
            self._checked = mono
        return clock_sync(now_ms, lambda: self._state)

    def unsynced(self, now_ms: int) -> bool:
        """Whether readings stamped now must be flagged."""
        return self.state(now_ms) is ClockSync.UNSYNCED
