"""The devices of a scenario file: one strict model per simulated device type.

Each model says which faults its simulator supports (``FAULTS``, from the simulator itself) and
names its members (the meters of a bus) the way a timeline entry does: Modbus meters by unit id,
DL/T 645 meters by address. A member's device id defaults to ``<bus id>-<unit or address>``.

A DL/T 645 meter's registers cannot hold a large factory's power (XX.XXXX kW), so a meter on a
larger load sits behind current transformers: ``ct_ratio`` defaults to the ratio of the smallest
standard transformer that carries ``rated_kw`` (:func:`ct_ratio_for`).
"""

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from firmware_sim.devices.dlt645 import Dlt645Simulator
from firmware_sim.devices.modbus_rtu import ModbusRtuSimulator
from firmware_sim.devices.modbus_tcp import ModbusTcpSimulator
from firmware_sim.devices.pms5003 import Pms5003Simulator
from firmware_sim.devices.sds011 import Sds011Simulator
from firmware_sim.faults import Fault
from firmware_sim.load_profile import Flavour

# The gateway's identifier rule (letters, digits, _ . -), so that every id can be a device id.
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Seconds = Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)]
Kilowatts = Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]
FlavourName = Annotated[Flavour, Field(strict=False)]

# Current transformers: standard rated primary currents (IEC 61869-2 / GB/T 20840.2: 10, 12.5,
# 15, 20, 25, 30, 40, 50, 60, 75 A and their decimal multiples) over a 5 A secondary.
_CT_PRIMARIES: tuple[float, ...] = tuple(
    p * 10.0**k for k in range(4) for p in (10, 12.5, 15, 20, 25, 30, 40, 50, 60, 75)
)
CT_SECONDARY_A = 5.0
DIRECT_MAX_A = 60.0  # a directly connected three-phase meter carries up to 60 A per phase
PHASE_VOLTS = 220.0  # GB/T 156: 220/380 V
RATED_PF = 0.9  # a factory's power factor at full load, for sizing its transformers


def ct_ratio_for(rated_kw: float) -> float:
    """The ratio of the smallest standard current transformer that carries ``rated_kw``.

    1.0 (no transformer) when the load's phase current fits a directly connected meter.
    """
    amps = rated_kw * 1000 / (3 * PHASE_VOLTS * RATED_PF)
    if amps <= DIRECT_MAX_A:
        return 1.0
    primary = next((p for p in _CT_PRIMARIES if p >= amps), _CT_PRIMARIES[-1])
    return primary / CT_SECONDARY_A


class Strict(BaseModel):
    """A strict, immutable part of a scenario: unknown keys and coercions are errors."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _Sensor(Strict):
    id: Identifier
    period: Seconds = 1.0  # seconds between two frames in active mode
    episodes: bool = True  # pollution episodes (haze) on top of the everyday signal

    def members(self) -> dict[str, str]:
        """A sensor is a single device: no members."""
        return {}


class Pms5003Spec(_Sensor):
    """A Plantower PMS5003 on a pseudo-terminal."""

    FAULTS: ClassVar[frozenset[Fault]] = Pms5003Simulator.FAULTS
    type: Literal["pms5003"]


class Sds011Spec(_Sensor):
    """A Nova Fitness SDS011 on a pseudo-terminal."""

    FAULTS: ClassVar[frozenset[Fault]] = Sds011Simulator.FAULTS
    type: Literal["sds011"]


class ModbusMeterSpec(Strict):
    """One Eastron meter at one Modbus unit id."""

    unit: Annotated[int, Field(ge=1, le=247)]
    model: Literal["sdm120", "sdm630"]
    rated_kw: Kilowatts | None = None
    flavour: FlavourName = Flavour.TWO_SHIFTS
    id: Identifier | None = None


class _ModbusBus(Strict):
    id: Identifier
    refresh: Seconds = 1.0  # seconds between two updates of a meter's registers

    @property
    def meters(self) -> tuple[ModbusMeterSpec, ...]:
        """The meters on the bus or behind the server."""
        raise NotImplementedError

    def members(self) -> dict[str, str]:
        """Each meter's device id by its unit id, as the timeline names it."""
        return {str(m.unit): m.id or f"{self.id}-{m.unit}" for m in self.meters}


class ModbusRtuSpec(_ModbusBus):
    """Eastron meters on one Modbus RTU bus (a pseudo-terminal)."""

    FAULTS: ClassVar[frozenset[Fault]] = ModbusRtuSimulator.FAULTS
    type: Literal["modbus_rtu"]
    slaves: Annotated[tuple[ModbusMeterSpec, ...], Field(strict=False, min_length=1)]

    @property
    def meters(self) -> tuple[ModbusMeterSpec, ...]:
        """The slaves."""
        return self.slaves


class ModbusTcpSpec(_ModbusBus):
    """Eastron meters behind one Modbus TCP server on 127.0.0.1."""

    FAULTS: ClassVar[frozenset[Fault]] = ModbusTcpSimulator.FAULTS
    type: Literal["modbus_tcp"]
    units: Annotated[tuple[ModbusMeterSpec, ...], Field(strict=False, min_length=1)]

    @property
    def meters(self) -> tuple[ModbusMeterSpec, ...]:
        """The units."""
        return self.units


class Dlt645MeterSpec(Strict):
    """One DL/T 645-2007 meter; ``ct_ratio`` None: sized from ``rated_kw``."""

    address: Annotated[str, Field(pattern=r"^[0-9]{12}$")]
    rated_kw: Kilowatts = 30.0
    flavour: FlavourName = Flavour.TWO_SHIFTS
    ct_ratio: Annotated[float, Field(ge=1, le=100_000)] | None = None
    id: Identifier | None = None

    @property
    def transformer_ratio(self) -> float:
        """The current transformers' ratio: the given one, or the smallest that fits."""
        return self.ct_ratio if self.ct_ratio is not None else ct_ratio_for(self.rated_kw)


class Dlt645Spec(Strict):
    """DL/T 645-2007 meters on one RS-485 line (a pseudo-terminal)."""

    FAULTS: ClassVar[frozenset[Fault]] = Dlt645Simulator.FAULTS
    type: Literal["dlt645"]
    id: Identifier
    preamble: bool = True  # replies start with FE FE FE FE
    meters: Annotated[tuple[Dlt645MeterSpec, ...], Field(strict=False, min_length=1)]

    def members(self) -> dict[str, str]:
        """Each meter's device id by its address, as the timeline names it."""
        return {m.address: m.id or f"{self.id}-{m.address}" for m in self.meters}


DeviceSpec = Annotated[
    Pms5003Spec | Sds011Spec | ModbusRtuSpec | ModbusTcpSpec | Dlt645Spec,
    Field(discriminator="type"),
]
DEVICE_TYPES = ("pms5003", "sds011", "modbus_rtu", "modbus_tcp", "dlt645")
