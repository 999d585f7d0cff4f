"""A fleet: every simulated device of one scenario, running in this process, and its timeline.

:meth:`Fleet.start` starts the simulators (pseudo-terminals with their links under ``workdir``,
TCP servers on free ports of 127.0.0.1) and a scheduler thread that walks the scenario's
timeline, injecting each fault when it begins and clearing it when it ends. Faults are counted
per device member and kind, so two overlapping faults of one kind on one meter (say a silence of
the whole bus and a silence of that meter) keep it faulty until the last of them ends.
:meth:`Fleet.endpoints` says where every device is, as plain data (JSON-ready), and
:meth:`Fleet.applied` what the scheduler did and when, for logs and tests.
"""

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self, TypedDict

from firmware_sim.faults import ONE_SHOT, Fault
from firmware_sim.fleet_devices import (
    DeviceEndpoint,
    MemberEndpoint,
    RunningDevice,
    member_keys,
    start_device,
)
from firmware_sim.scenario import Scenario
from firmware_sim.timeline import Action, schedule

__all__ = ["AppliedFault", "DeviceEndpoint", "Fleet", "FleetEndpoints", "MemberEndpoint"]

_log = logging.getLogger(__name__)


class FleetEndpoints(TypedDict):
    """Everything a gateway configuration needs to reach a fleet's devices."""

    site: str | None
    devices: list[DeviceEndpoint]


@dataclass(frozen=True, slots=True)
class AppliedFault:
    """One step of the timeline as the scheduler carried it out.

    ``planned_s`` and ``applied_s`` are seconds since the fleet started (the second is never
    earlier than the first); ``wall_ms`` is the UTC clock when it was applied, to compare with
    the times in a recorder's or a host's records.
    """

    device: str  # as the timeline names it: ``pm-1``, ``rs485-1/2``
    fault: Fault
    begins: bool
    planned_s: float
    applied_s: float
    wall_ms: int


class Fleet:
    """The simulators of one scenario. The constructor starts nothing: :meth:`start` does."""

    def __init__(
        self, scenario: Scenario, workdir: Path, *, record_dir: Path | None = None
    ) -> None:
        self.scenario = scenario
        self.workdir = workdir
        self.record_dir = record_dir
        self._devices: dict[str, RunningDevice] = {}
        self._in_force: Counter[tuple[str, str | None, Fault]] = Counter()
        self._applied: list[AppliedFault] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None
        self._t0 = 0.0

    def start(self) -> Self:
        """Start every simulator, then the timeline's clock; returns the fleet."""
        if self._scheduler is not None:
            raise RuntimeError("fleet already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            for spec in self.scenario.devices:
                self._devices[spec.id] = start_device(
                    spec, self.scenario, self.workdir, self.record_dir
                )
        except BaseException:
            self._stop_devices()
            raise
        self._t0 = time.monotonic()
        self._scheduler = threading.Thread(target=self._run_timeline, name="fleet-timeline")
        self._scheduler.daemon = True
        self._scheduler.start()
        _log.info(
            "fleet %s: %d devices, %d faults in the timeline",
            self.scenario.site or "(no site)",
            len(self._devices),
            len(self.scenario.timeline),
        )
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the timeline and every simulator; remove the links. Idempotent."""
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.join(timeout)
        self._stop_devices()

    def endpoints(self) -> FleetEndpoints:
        """Where each device is: type, id, link or host and port, members; see DeviceEndpoint."""
        return {
            "site": self.scenario.site,
            "devices": [device.endpoint() for device in self._devices.values()],
        }

    def device(self, device_id: str) -> RunningDevice:
        """The running simulator of a device of the scenario (a bus for its members)."""
        return self._devices[device_id]

    def applied(self) -> list[AppliedFault]:
        """What the timeline did so far, in order."""
        with self._lock:
            return list(self._applied)

    def elapsed(self) -> float:
        """Seconds since the fleet started: the timeline's clock."""
        return time.monotonic() - self._t0

    def _run_timeline(self) -> None:
        for action in schedule(self.scenario.timeline, self.scenario.repeat):
            if self._stop.wait(max(0.0, self._t0 + action.at - time.monotonic())):
                return
            try:
                self._apply(action)
            except Exception:  # noqa: BLE001 - a bad step must not end the timeline or the fleet
                _log.exception("could not apply %s", action)

    def _apply(self, action: Action) -> None:
        event = action.event
        device_id, member = event.target
        device = self._devices[device_id]
        for key in member_keys(self.scenario.device(device_id), member):
            slot = (device_id, key, event.fault)
            if event.fault in ONE_SHOT:
                device.inject(event.fault, key)
            elif action.begins:
                self._in_force[slot] += 1
                if self._in_force[slot] == 1:
                    device.inject(event.fault, key)
            else:
                self._in_force[slot] -= 1
                if self._in_force[slot] == 0:
                    device.clear(event.fault, key)
        applied = AppliedFault(
            event.device,
            event.fault,
            action.begins,
            action.at,
            self.elapsed(),
            time.time_ns() // 1_000_000,
        )
        with self._lock:
            self._applied.append(applied)
        what = "begins" if action.begins else "ends"
        _log.info("t+%.1fs %s %s %s", applied.applied_s, event.device, event.fault, what)

    def _stop_devices(self) -> None:
        while self._devices:
            _, device = self._devices.popitem()
            device.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
