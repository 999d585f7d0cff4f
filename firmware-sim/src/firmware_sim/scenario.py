"""Scenario files: one site's simulated devices, their signals, and a timeline of faults.

A scenario is YAML, validated strictly (unknown keys, wrong types and impossible combinations are
errors, each reported with its field path)::

    site: site-beiyuan-north          # informational
    seed: 3                           # every signal derives from it and the device's id
    repeat: 600                       # optional: the timeline starts over every 600 s
    devices:
      - {type: pms5003, id: pm-1, period: 1.0, episodes: true}
      - {type: sds011, id: pm-2}
      - type: modbus_rtu
        id: rs485-1
        slaves:
          - {unit: 1, model: sdm630, rated_kw: 400, flavour: three_shifts}
          - {unit: 2, model: sdm120, id: meter-office}
      - {type: modbus_tcp, id: tcp-1, units: [{unit: 1, model: sdm630, rated_kw: 1200}]}
      - {type: dlt645, id: meters-1, meters: [{address: "123456789012", rated_kw: 800}]}
    timeline:
      - {at: 30, device: pm-1, fault: garbage, for: 10}
      - {at: 60, device: rs485-1/2, fault: silence, for: 30}
      - {at: 90, device: rs485-1/1, fault: counter_reset}

A bus's members (Modbus slaves and units, DL/T 645 meters) are devices of their own: their ``id``
defaults to ``<bus id>-<unit or address>``. A timeline entry names a device, or one member of a
bus as ``<bus id>/<unit or address>`` (the bus id alone: every member), seconds after the fleet
started, a fault of :mod:`firmware_sim.faults` that the device's simulator supports, and how long
it lasts (``for``; without it a lasting fault never ends; ``counter_reset`` has no duration).
``rated_kw`` is the factory load a meter sees at full production (default: 80 % of the model's
maximum current for Modbus, 30 kW for DL/T 645); the device models are in
:mod:`firmware_sim.scenario_devices`.
"""

import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import Field, ValidationError

from firmware_sim.faults import ONE_SHOT, Fault
from firmware_sim.scenario_devices import (
    DEVICE_TYPES,
    DIRECT_MAX_A,
    PHASE_VOLTS,
    DeviceSpec,
    Dlt645Spec,
    ModbusRtuSpec,
    ModbusTcpSpec,
    Seconds,
    Strict,
)


class FaultEvent(Strict):
    """One entry of the timeline."""

    at: Annotated[float, Field(ge=0, le=86_400 * 365, allow_inf_nan=False)]
    device: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(/[0-9]{1,12})?$")]
    fault: Annotated[Fault, Field(strict=False)]
    duration: Annotated[Seconds | None, Field(alias="for")] = None

    @property
    def target(self) -> tuple[str, str | None]:
        """The device id, and the member's unit or address if one is named."""
        device, _, member = self.device.partition("/")
        return device, member or None

    @property
    def end(self) -> float:
        """When the fault ends; infinite for a lasting fault without ``for``."""
        if self.fault in ONE_SHOT:
            return self.at
        return self.at + self.duration if self.duration is not None else math.inf


class Scenario(Strict):
    """A whole scenario file."""

    site: str | None = None
    seed: int = 0
    repeat: Seconds | None = None
    devices: Annotated[list[DeviceSpec], Field(min_length=1)]
    timeline: Annotated[tuple[FaultEvent, ...], Field(strict=False)] = ()

    def device(self, device_id: str) -> DeviceSpec:
        """The device with this id.

        Raises:
            KeyError: no device has it.
        """
        for device in self.devices:
            if device.id == device_id:
                return device
        raise KeyError(device_id)

    def seed_of(self, device_id: str) -> int:
        """The seed of one device's signal: stable across runs, independent of device order."""
        return zlib.crc32(f"{self.seed}/{device_id}".encode())


@dataclass(frozen=True, slots=True)
class ScenarioProblem:
    """One problem in a scenario: where (a field path such as ``timeline[2].fault``) and what."""

    field: str
    message: str


class ScenarioError(Exception):
    """A scenario that cannot be run; ``problems`` lists every reason."""

    def __init__(self, source: str, problems: list[ScenarioProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {p.field}: {p.message}" for p in self.problems))


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file.

    Raises:
        ScenarioError: the file is unreadable, not YAML, or not a valid scenario.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(str(path), [ScenarioProblem("<document>", str(exc))]) from None
    return parse_scenario(data, source=str(path))


def parse_scenario(data: object, *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario already parsed from YAML (or built in code).

    Raises:
        ScenarioError: every problem found, each with its field path.
    """
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [
            ScenarioProblem(_path(err["loc"]), err["msg"]) for err in exc.errors(include_url=False)
        ]
        raise ScenarioError(source, problems) from None
    problems = list(_cross_checks(scenario))
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def _path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item not in DEVICE_TYPES or not parts or not parts[-1].startswith("["):
            parts.append(f".{item}" if parts else item)  # the union's tag says nothing new
    return "".join(parts) or "<document>"


def _cross_checks(scenario: Scenario) -> Iterator[ScenarioProblem]:
    """What no single field can check: unique ids and units, and a timeline that fits."""
    seen: dict[str, str] = {}
    for n, device in enumerate(scenario.devices):
        for where, device_id in [("id", device.id), *_member_ids(device)]:
            if device_id in seen:
                yield ScenarioProblem(
                    f"devices[{n}].{where}",
                    f"id {device_id!r} is already used by {seen[device_id]}",
                )
            seen.setdefault(device_id, f"devices[{n}]")
        if isinstance(device, ModbusRtuSpec | ModbusTcpSpec):
            field = "slaves" if isinstance(device, ModbusRtuSpec) else "units"
            yield from _twice(f"devices[{n}].{field}", "unit", [m.unit for m in device.meters])
        if isinstance(device, Dlt645Spec):
            yield from _twice(f"devices[{n}].meters", "address", [m.address for m in device.meters])
            for k, meter in enumerate(device.meters):
                secondary_kw = meter.rated_kw / meter.transformer_ratio
                if secondary_kw > 3 * PHASE_VOLTS * DIRECT_MAX_A / 1000:
                    yield ScenarioProblem(
                        f"devices[{n}].meters[{k}].ct_ratio",
                        f"{meter.rated_kw:g} kW through ratio {meter.transformer_ratio:g} is"
                        f" {secondary_kw:.1f} kW at the meter, more than a meter carries; omit"
                        f" ct_ratio to size the transformers from rated_kw",
                    )
    for n, event in enumerate(scenario.timeline):
        yield from _event_problems(scenario, n, event)


def _member_ids(device: DeviceSpec) -> list[tuple[str, str]]:
    if isinstance(device, ModbusRtuSpec | ModbusTcpSpec):
        field = "slaves" if isinstance(device, ModbusRtuSpec) else "units"
        ids = [device.members()[str(m.unit)] for m in device.meters]
    elif isinstance(device, Dlt645Spec):
        field, ids = "meters", [device.members()[m.address] for m in device.meters]
    else:
        return []
    return [(f"{field}[{k}].id", i) for k, i in enumerate(ids)]


def _twice(where: str, what: str, values: list[int] | list[str]) -> Iterator[ScenarioProblem]:
    for k, value in enumerate(values):
        if value in values[:k]:
            yield ScenarioProblem(f"{where}[{k}].{what}", f"{what} {value} is used twice")


def _event_problems(scenario: Scenario, n: int, event: FaultEvent) -> Iterator[ScenarioProblem]:
    where = f"timeline[{n}]"
    device_id, member = event.target
    try:
        device = scenario.device(device_id)
    except KeyError:
        known = ", ".join(d.id for d in scenario.devices)
        yield ScenarioProblem(f"{where}.device", f"no device {device_id!r}; the devices: {known}")
        return
    members = device.members()
    if member is not None and member not in members:
        expected = f"one of {', '.join(members)}" if members else "no member: it is not a bus"
        yield ScenarioProblem(f"{where}.device", f"{device_id} has no member {member}: {expected}")
    if event.fault not in device.FAULTS:
        supported = ", ".join(sorted(device.FAULTS))
        yield ScenarioProblem(
            f"{where}.fault", f"a {device.type} cannot have {event.fault}; it supports {supported}"
        )
    if event.fault in ONE_SHOT and event.duration is not None:
        yield ScenarioProblem(f"{where}.for", f"{event.fault} happens at once: it has no duration")
    if scenario.repeat is not None and event.end > scenario.repeat:
        yield ScenarioProblem(
            f"{where}.at",
            f"the fault ends at {event.end:g} s, after the timeline starts over"
            f" (repeat: {scenario.repeat:g})",
        )
