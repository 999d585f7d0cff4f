"""Each device of a scenario as a running simulator, and where a host finds it.

One class per kind of transport: a sensor on its own pseudo-terminal, a Modbus RTU bus or a
DL/T 645 line of meters on one pseudo-terminal, a Modbus TCP server on a free port of 127.0.0.1.
Each starts and stops its simulator, owns its link and its recorder, switches faults on one of
its members (or on itself) and describes itself as an :class:`DeviceEndpoint`, plain data that
a gateway configuration can be written from.
"""

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import NotRequired, Protocol, TypedDict, assert_never

from firmware_sim.devices.dlt645 import Dlt645Simulator, MeterSpec
from firmware_sim.devices.modbus_rtu import ModbusRtuSimulator
from firmware_sim.devices.modbus_slave import ModbusSlave
from firmware_sim.devices.modbus_tcp import ModbusTcpSimulator
from firmware_sim.devices.pms5003 import Pms5003Simulator
from firmware_sim.devices.sds011 import Sds011Simulator
from firmware_sim.eastron import MODELS
from firmware_sim.faults import Fault
from firmware_sim.meters import SimulatedMeter, rated_kw
from firmware_sim.recorder import Recorder
from firmware_sim.scenario import Scenario
from firmware_sim.scenario_devices import (
    DeviceSpec,
    Dlt645Spec,
    ModbusRtuSpec,
    ModbusTcpSpec,
    Pms5003Spec,
    Sds011Spec,
)
from firmware_sim.serial_link import PtyLink


class MemberEndpoint(TypedDict):
    """One meter of a bus: its device id, and unit and model (Modbus) or address (DL/T 645)."""

    id: str
    rated_kw: float
    unit: NotRequired[int]
    model: NotRequired[str]
    address: NotRequired[str]
    ct_ratio: NotRequired[float]


class DeviceEndpoint(TypedDict):
    """One simulated device or bus: a pty ``link``, or ``host`` and ``port``; its members."""

    type: str
    id: str
    link: NotRequired[str]
    host: NotRequired[str]
    port: NotRequired[int]
    period: NotRequired[float]  # a sensor's seconds between frames in active mode
    record: NotRequired[str]  # the JSON Lines file of what it put on the wire
    members: NotRequired[list[MemberEndpoint]]


class RunningDevice(Protocol):
    """The simulator of one scenario device, its link made, started by :meth:`start`."""

    def start(self) -> None:
        """Start the simulator's thread."""
        ...

    def endpoint(self) -> DeviceEndpoint:
        """Where a host finds it, as plain data."""
        ...

    def inject(self, fault: Fault, member: str | None) -> None:
        """Put ``fault`` in force on one member (unit or address), or on the whole device."""
        ...

    def clear(self, fault: Fault, member: str | None) -> None:
        """End ``fault`` on one member, or on the whole device."""
        ...

    def stop(self) -> None:
        """Stop the simulator and close its link and recorder."""
        ...


class _Resources:
    """The link and recorder a device owns, closed in reverse order."""

    def __init__(self, spec: DeviceSpec, record_dir: Path | None) -> None:
        self.stack = contextlib.ExitStack()
        self.recorder: Recorder | None = None
        if record_dir is not None:
            record_dir.mkdir(parents=True, exist_ok=True)
            self.recorder = self.stack.enter_context(Recorder(record_dir / f"{spec.id}.jsonl"))

    def link(self, path: Path) -> PtyLink:
        return self.stack.enter_context(PtyLink(path))

    def describe(self, endpoint: DeviceEndpoint) -> DeviceEndpoint:
        if self.recorder is not None:
            endpoint["record"] = str(self.recorder.path)
        return endpoint


class _Sensor:
    """A PMS5003 or SDS011 on a pty of its own."""

    def __init__(
        self, spec: Pms5003Spec | Sds011Spec, seed: int, workdir: Path, res: _Resources
    ) -> None:
        self._spec, self._res = spec, res
        self._link = res.link(workdir / spec.id)
        kind = Pms5003Simulator if isinstance(spec, Pms5003Spec) else Sds011Simulator
        self.simulator = kind(
            self._link, period=spec.period, seed=seed, recorder=res.recorder, episodes=spec.episodes
        )

    def endpoint(self) -> DeviceEndpoint:
        spec = self._spec
        link = str(self._link.path)
        return self._res.describe(
            {"type": spec.type, "id": spec.id, "link": link, "period": spec.period}
        )

    def inject(self, fault: Fault, member: str | None) -> None:  # noqa: ARG002 - no members
        self.simulator.inject(fault)

    def clear(self, fault: Fault, member: str | None) -> None:  # noqa: ARG002 - no members
        self.simulator.clear(fault)

    def start(self) -> None:
        self.simulator.start()

    def stop(self) -> None:
        self.simulator.stop()
        self._res.stack.close()


def _slaves(spec: ModbusRtuSpec | ModbusTcpSpec, scenario: Scenario) -> list[ModbusSlave]:
    ids = spec.members()
    return [
        ModbusSlave(
            m.unit,
            SimulatedMeter(
                MODELS[m.model],
                seed=scenario.seed_of(ids[str(m.unit)]),
                rated=m.rated_kw,
                flavour=m.flavour,
                refresh_s=spec.refresh,
            ),
        )
        for m in spec.meters
    ]


class _ModbusBus:
    """Eastron meters on a Modbus RTU bus (a pty) or behind a Modbus TCP server."""

    def __init__(
        self,
        spec: ModbusRtuSpec | ModbusTcpSpec,
        scenario: Scenario,
        workdir: Path,
        res: _Resources,
    ) -> None:
        self._spec, self._res = spec, res
        slaves = _slaves(spec, scenario)
        self.simulator: ModbusRtuSimulator | ModbusTcpSimulator
        self._link: PtyLink | None = None
        self._server: ModbusTcpSimulator | None = None
        if isinstance(spec, ModbusRtuSpec):
            self._link = res.link(workdir / spec.id)
            self.simulator = ModbusRtuSimulator(self._link, slaves, recorder=res.recorder)
        else:
            self.simulator = self._server = ModbusTcpSimulator(slaves, recorder=res.recorder)

    def endpoint(self) -> DeviceEndpoint:
        spec, ids = self._spec, self._spec.members()
        members: list[MemberEndpoint] = [
            {
                "id": ids[str(m.unit)],
                "unit": m.unit,
                "model": m.model,
                "rated_kw": m.rated_kw or rated_kw(MODELS[m.model]),
            }
            for m in spec.meters
        ]
        endpoint: DeviceEndpoint = {"type": spec.type, "id": spec.id, "members": members}
        if self._link is not None:
            endpoint["link"] = str(self._link.path)
        if self._server is not None:
            endpoint["host"], endpoint["port"] = self._server.address
        return self._res.describe(endpoint)

    def inject(self, fault: Fault, member: str | None) -> None:
        self.simulator.inject(fault, None if member is None else int(member))

    def clear(self, fault: Fault, member: str | None) -> None:
        self.simulator.clear(fault, None if member is None else int(member))

    def start(self) -> None:
        self.simulator.start()

    def stop(self) -> None:
        self.simulator.stop()
        self._res.stack.close()


class _Dlt645Line:
    """DL/T 645-2007 meters sharing one RS-485 line (a pty)."""

    def __init__(
        self, spec: Dlt645Spec, scenario: Scenario, workdir: Path, res: _Resources
    ) -> None:
        self._spec, self._res = spec, res
        self._link = res.link(workdir / spec.id)
        meters = [
            MeterSpec(m.address, m.rated_kw, m.flavour, ct_ratio=m.transformer_ratio)
            for m in spec.meters
        ]
        self.simulator = Dlt645Simulator(
            self._link,
            meters,
            seed=scenario.seed_of(spec.id),
            recorder=res.recorder,
            preamble=spec.preamble,
        )

    def endpoint(self) -> DeviceEndpoint:
        spec, ids = self._spec, self._spec.members()
        members: list[MemberEndpoint] = [
            {
                "id": ids[m.address],
                "address": m.address,
                "rated_kw": m.rated_kw,
                "ct_ratio": m.transformer_ratio,
            }
            for m in spec.meters
        ]
        link = str(self._link.path)
        return self._res.describe(
            {"type": spec.type, "id": spec.id, "link": link, "members": members}
        )

    def inject(self, fault: Fault, member: str | None) -> None:
        self.simulator.inject(fault, member)

    def clear(self, fault: Fault, member: str | None) -> None:
        self.simulator.clear(fault, member)

    def start(self) -> None:
        self.simulator.start()

    def stop(self) -> None:
        self.simulator.stop()
        self._res.stack.close()


def start_device(
    spec: DeviceSpec, scenario: Scenario, workdir: Path, record_dir: Path | None
) -> RunningDevice:
    """Start the simulator of ``spec``; its pty link (if it has one) is ``workdir/<id>``."""
    res = _Resources(spec, record_dir)
    device: RunningDevice
    try:
        match spec:
            case Pms5003Spec() | Sds011Spec():
                device = _Sensor(spec, scenario.seed_of(spec.id), workdir, res)
            case ModbusRtuSpec() | ModbusTcpSpec():
                device = _ModbusBus(spec, scenario, workdir, res)
            case Dlt645Spec():
                device = _Dlt645Line(spec, scenario, workdir, res)
            case _:
                assert_never(spec)
        device.start()
    except BaseException:
        res.stack.close()
        raise
    return device


def member_keys(spec: DeviceSpec, member: str | None) -> Sequence[str | None]:
    """The members a fault on ``member`` reaches: that one, every one of a bus, or the device."""
    if member is not None:
        return [member]
    return list(spec.members()) or [None]
