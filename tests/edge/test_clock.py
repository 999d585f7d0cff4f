"""Clock-sync detection (edge.clock) and the flag it puts on readings and aggregates."""

import sys

import pytest

from edge.aggregation import Aggregator
from edge.clock import (
    MAX_ERROR_UNSYNCED_US,
    STA_CLOCKERR,
    STA_UNSYNC,
    TIME_ERROR,
    ClockMonitor,
    clock_sync,
    interpret,
    kernel_sync,
)
from edge.config.base import Sampling
from telemetry import ClockSync, Reading
from telemetry.payload import MIN_TS_MS

T = 1_764_140_040_000  # 2025-11-26T06:54:00Z, on a minute boundary
TIME_OK = 0


@pytest.mark.parametrize(
    ("result", "status", "maxerror_us", "expected"),
    [
        (TIME_OK, 0, 1_000, ClockSync.SYNCED),
        (TIME_OK, 0, MAX_ERROR_UNSYNCED_US - 1, ClockSync.SYNCED),
        (TIME_ERROR, STA_UNSYNC, MAX_ERROR_UNSYNCED_US, ClockSync.UNSYNCED),  # never synced
        (TIME_OK, 0, MAX_ERROR_UNSYNCED_US, ClockSync.UNSYNCED),  # NTP lost for too long
        # chrony without rtcsync: STA_UNSYNC on a clock it keeps synchronised (systemd's rule)
        (TIME_ERROR, STA_UNSYNC, 250, ClockSync.SYNCED),
        (TIME_ERROR, STA_CLOCKERR, 250, ClockSync.UNSYNCED),
        (-1, 0, 0, ClockSync.UNKNOWN),  # the call failed
    ],
    ids=["ok", "just-under-limit", "never-synced", "maxerror", "chrony", "clockerr", "failed"],
)
def test_the_kernel_answer_is_interpreted(result, status, maxerror_us, expected):
    assert interpret(result, status, maxerror_us) is expected


def test_the_timex_constants_are_the_kernels():
    # include/uapi/linux/timex.h
    assert (TIME_ERROR, STA_UNSYNC, STA_CLOCKERR) == (5, 0x0040, 0x1000)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="adjtimex is Linux's")
def test_the_kernel_is_asked_on_linux():
    assert kernel_sync() in {ClockSync.SYNCED, ClockSync.UNSYNCED}


@pytest.mark.parametrize("kernel", list(ClockSync))
def test_a_clock_before_2000_is_unsynced_whatever_the_kernel_says(kernel):
    assert clock_sync(MIN_TS_MS - 1, lambda: kernel) is ClockSync.UNSYNCED
    assert clock_sync(MIN_TS_MS, lambda: kernel) is kernel


def test_the_monitor_caches_the_kernels_answer():
    answers = iter([ClockSync.UNSYNCED, ClockSync.SYNCED])
    calls = []

    def kernel():
        calls.append(1)
        return next(answers)

    monitor = ClockMonitor(kernel, refresh_s=3600)
    assert monitor.unsynced(T)
    assert monitor.unsynced(T + 1000)
    assert len(calls) == 1
    fresh = ClockMonitor(kernel, refresh_s=0)
    assert not fresh.unsynced(T)  # the second answer


def _aggregator():
    return Aggregator(60.0, sampling={"pm-1": Sampling(10.0)}, raw_devices={"pm-1"})


def pm25(value, ts, *, unsynced=False):
    return Reading(
        device="pm-1", metric="pm25", value=value, ts=ts, time_unsynced=True if unsynced else None
    )


def test_an_aggregate_with_one_flagged_sample_is_flagged_and_raw_samples_keep_theirs():
    aggregator = _aggregator()
    samples = [pm25(10.0, T), pm25(12.0, T + 10_000, unsynced=True), pm25(14.0, T + 20_000)]
    raw = aggregator.add(samples)
    assert [r.time_unsynced for r in raw] == [None, True, None]
    (aggregate,) = aggregator.flush(T + 60_000)
    assert aggregate.count == 3
    assert aggregate.time_unsynced is True


def test_an_aggregate_of_synchronised_samples_is_not_flagged():
    aggregator = _aggregator()
    aggregator.add([pm25(10.0, T), pm25(12.0, T + 10_000)])
    (aggregate,) = aggregator.flush(T + 60_000)
    assert aggregate.time_unsynced is None
