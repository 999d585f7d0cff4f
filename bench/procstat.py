"""CPU time and memory of a running process, read from /proc (Linux).

Benchmarks sample a child process before and after a measurement window: the CPU share is the
process's user+system time over the window's wall time (1.0 = one core fully busy), and the
memory figure is its peak resident set (VmHWM) and its resident set at the end (VmRSS).
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuSample:
    """Cumulative CPU seconds of a process (children excluded) at a monotonic instant."""

    at: float
    cpu_s: float


def cpu_sample(pid: int) -> CpuSample:
    """Read ``utime + stime`` of ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    ticks = int(fields[11]) + int(fields[12])
    return CpuSample(at=time.monotonic(), cpu_s=ticks / _CLOCK_TICKS)


def cpu_share(before: CpuSample, after: CpuSample) -> float:
    """CPU seconds per wall second between two samples (1.0 = one core)."""
    return (after.cpu_s - before.cpu_s) / (after.at - before.at)


def memory_mb(pid: int) -> tuple[float, float]:
    """(current resident set, peak resident set) of ``pid`` in MiB."""
    status = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        status[key] = value.strip()
    return _kib(status["VmRSS"]) / 1024, _kib(status["VmHWM"]) / 1024


def _kib(value: str) -> float:
    number, _, unit = value.partition(" ")
    if unit != "kB":
        raise ValueError(f"unexpected unit in /proc status: {value!r}")
    return float(number)
