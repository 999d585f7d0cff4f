"""The polling framework: schedules, typed failures, backoff, recovery, port reopening.

A bus here is an in-process one whose targets follow a script; the real transports (pty, TCP)
are exercised by each driver's integration tests.
"""

import threading
from collections.abc import Callable

import pytest

from devstack.processes import wait_until
from edge.devices.base import DeviceState
from edge.devices.polling import (
    Backoff,
    BadFrame,
    DeviceFault,
    PolledBus,
    PortError,
    ReadTimeout,
)
from telemetry import Reading

TS = 1_764_140_000_000


class ScriptedTarget:
    """A target whose n-th poll does what ``script(n)`` says: raise, or return a value."""

    def __init__(self, device_id: str, interval_s: float, script: Callable[[int], float]) -> None:
        self.id = device_id
        self.interval_s = interval_s
        self.script = script
        self.polls = 0

    def poll(self, now_ms: int) -> list[Reading]:
        n = self.polls
        self.polls += 1
        value = self.script(n)
        return [Reading(device=self.id, metric="pm25", value=value, ts=now_ms)]


class ScriptedBus(PolledBus):
    def __init__(self, targets, *, open_failures=0, **options):
        self.received: list[Reading] = []
        self._lock = threading.Lock()
        super().__init__("bus-1", self._receive, clock=lambda: TS, **options)
        self._targets = targets
        self.open_failures_left = open_failures
        self.opens = 0
        self.closes = 0

    def _receive(self, readings):
        with self._lock:
            self.received.extend(readings)

    def open(self):
        if self.open_failures_left:
            self.open_failures_left -= 1
            raise PortError("no such port")
        self.opens += 1

    def close(self):
        self.closes += 1

    def targets(self):
        return self._targets


def _raise(error):
    raise error


@pytest.fixture
def run_bus():
    buses = []

    def start(bus):
        buses.append(bus)
        bus.start()
        return bus

    yield start
    for bus in buses:
        bus.stop()


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (1000, 60.0)],
)
def test_backoff_doubles_from_the_interval_and_is_capped(failures, expected):
    assert Backoff(1.0, 60.0).delay(failures) == expected


def test_backoff_cap_never_shortens_the_interval():
    assert Backoff(120.0, 60.0).delay(3) == 120.0


@pytest.mark.parametrize(
    ("error", "state", "counter"),
    [
        (ReadTimeout("no answer"), DeviceState.TIMEOUT, "read_timeouts"),
        (BadFrame("crc"), DeviceState.BAD_FRAME, "bad_frames"),
        (DeviceFault("busy", code=6), DeviceState.EXCEPTION, "device_faults"),
    ],
)
def test_each_failure_kind_sets_its_state_and_counter(run_bus, error, state, counter):
    target = ScriptedTarget("dev-1", 0.01, lambda _n: _raise(error))
    bus = run_bus(ScriptedBus([target], max_backoff_s=0.02))
    assert wait_until(lambda: getattr(bus.counters()["dev-1"], counter) >= 3, timeout_s=5)
    counters = bus.counters()["dev-1"]
    assert counters.state is state
    assert counters.consecutive_failures >= 3
    assert counters.last_error == str(error)
    assert bus.received == []


def test_device_fault_keeps_its_code():
    assert DeviceFault("slave busy", code=6).code == 6
    assert "code 6" in str(DeviceFault("slave busy", code=6))


def test_a_failing_device_backs_off_and_recovers_at_the_first_success(run_bus):
    target = ScriptedTarget(
        "dev-1", 0.01, lambda n: _raise(ReadTimeout("silent")) if n < 4 else 42.0
    )
    bus = run_bus(ScriptedBus([target], max_backoff_s=10.0))
    assert wait_until(lambda: bus.counters()["dev-1"].consecutive_failures >= 3, timeout_s=5)
    assert bus.counters()["dev-1"].backoff_s == pytest.approx(0.01 * 2**3)
    assert wait_until(lambda: bus.counters()["dev-1"].state is DeviceState.OK, timeout_s=5)
    counters = bus.counters()["dev-1"]
    assert counters.consecutive_failures == 0
    assert counters.backoff_s == 0.0
    assert counters.read_timeouts == 4
    assert bus.received[0].value == 42.0


def test_a_dead_device_does_not_starve_the_live_ones(run_bus):
    dead = ScriptedTarget("dead", 0.01, lambda _n: _raise(ReadTimeout("silent")))
    live = ScriptedTarget("live", 0.01, float)
    bus = run_bus(ScriptedBus([dead, live], max_backoff_s=0.16))
    assert wait_until(lambda: live.polls >= 60, timeout_s=10)
    # Backed off to 0.16 s, the dead device is polled a few times while the live one keeps
    # its 0.01 s rhythm.
    assert dead.polls * 4 <= live.polls
    assert bus.counters()["live"].state is DeviceState.OK
    assert bus.counters()["dead"].state is DeviceState.TIMEOUT
    values = [r.value for r in bus.received if r.device == "live"]
    assert values == [float(n) for n in range(len(values))]


def test_a_port_that_will_not_open_is_retried_and_counted(run_bus):
    target = ScriptedTarget("dev-1", 0.01, float)
    bus = ScriptedBus([target], open_failures=2, max_backoff_s=2.0)
    bus.start()
    try:
        assert wait_until(lambda: target.polls >= 1, timeout_s=15)
        counters = bus.counters()["dev-1"]
        assert counters.open_failures == 2
        assert counters.connected
        assert counters.state is DeviceState.OK
    finally:
        bus.stop()
    assert bus.counters()["dev-1"].connected is False
    assert bus.closes == 1


def test_a_lost_connection_closes_and_reopens_the_transport(run_bus):
    target = ScriptedTarget(
        "dev-1", 0.01, lambda n: _raise(PortError("connection reset")) if n == 2 else float(n)
    )
    bus = run_bus(ScriptedBus([target], max_backoff_s=0.05))
    assert wait_until(lambda: target.polls >= 6, timeout_s=10)
    counters = bus.counters()["dev-1"]
    assert counters.disconnects == 1
    assert bus.opens == 2
    assert bus.closes == 1
    assert counters.state is DeviceState.OK


def test_a_driver_bug_is_contained_and_counted(run_bus):
    target = ScriptedTarget("dev-1", 0.01, lambda n: _raise(KeyError("bug")) if n == 0 else 1.0)
    bus = run_bus(ScriptedBus([target], max_backoff_s=0.05))
    assert wait_until(lambda: bus.counters()["dev-1"].state is DeviceState.OK, timeout_s=5)
    counters = bus.counters()["dev-1"]
    assert counters.device_faults == 1
    assert "unexpected error" in (counters.last_error or "")


def test_readings_without_a_trustworthy_clock_are_dropped_and_counted():
    target = ScriptedTarget("dev-1", 0.01, float)
    bus = ScriptedBus([target])
    bus._clock = lambda: 0  # a Pi without a real-time clock, before NTP: 1970
    bus.start()
    try:
        assert wait_until(lambda: bus.counters()["dev-1"].clock_unset >= 2, timeout_s=5)
    finally:
        bus.stop()
    assert bus.received == []
    assert target.polls == 0
