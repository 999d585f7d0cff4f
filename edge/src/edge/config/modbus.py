"""Configuration of Modbus buses: RTU on a serial (RS-485) port and TCP, each with its slaves.

One entry owns one port or one TCP endpoint and lists the slaves on it; each slave is a device
with its own id, interval and register map (a built-in ``profile`` or a ``registers`` list)::

    - type: modbus_rtu
      id: rs485-1
      port: /dev/ttyUSB0
      baudrate: 9600
      slaves:
        - {id: meter-main, unit: 1, profile: sdm630, interval: 10}
        - id: boiler
          unit: 5
          registers:
            - {metric: temperature, type: holding, address: 0, data_type: int16, scale: 0.1}

Addresses are 0-based PDU addresses (input register 30001 is address 0). A register's ``unit``
is optional and only checked: values are published in the catalog's unit, and ``scale`` and
``offset`` convert to it (``value * scale + offset``).
"""

from typing import Annotated, Literal, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from edge.config.base import (
    DeviceSection,
    FilePath,
    Sampling,
    Seconds,
    Section,
    relative_to_file,
)
from edge.protocols.eastron import PROFILES
from edge.protocols.registers import (
    ADDRESS_SPACE,
    ByteOrder,
    DataType,
    RegisterKind,
    RegisterPoint,
)
from telemetry.catalog import CATALOG

# Enum fields take their YAML string values; strict mode would demand enum instances.
Kind = Annotated[RegisterKind, Field(strict=False)]
Encoding = Annotated[DataType, Field(strict=False)]
Order = Annotated[ByteOrder, Field(strict=False)]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class RegisterEntry(Section):
    """One value of a slave: where it is read and what it means.

    ``data_type`` may be left out for coils and discrete inputs (they are ``bool``, read as 0/1).
    """

    metric: str
    type: Kind  # the register type: which of the four Modbus tables
    address: Annotated[int, Field(ge=0, lt=ADDRESS_SPACE)]
    data_type: Encoding | None = None
    byte_order: Order = ByteOrder.ABCD
    scale: Finite = 1.0
    offset: Finite = 0.0
    unit: str | None = None

    @field_validator("metric")
    @classmethod
    def _metric_in_catalog(cls, metric: str) -> str:
        if metric not in CATALOG:
            raise ValueError(f"unknown metric {metric!r}: not in the telemetry catalog")
        return metric

    @field_validator("unit")
    @classmethod
    def _unit_is_the_catalogs(cls, unit: str | None, info: ValidationInfo) -> str | None:
        metric = info.data.get("metric")
        if unit is None or metric is None:
            return unit
        expected = CATALOG[metric].unit
        if unit != expected:
            raise ValueError(
                f"the catalog keeps {metric} in {expected!r}: convert with scale and offset"
            )
        return unit

    @model_validator(mode="after")
    def _type_fits_register(self) -> Self:
        if self.type.is_bit:
            if self.data_type not in {None, DataType.BOOL}:
                raise ValueError(f"a {self.type} is a single bit: data_type must be bool")
        elif self.data_type is None:
            raise ValueError(f"data_type is required for {self.type} registers")
        elif self.data_type is DataType.BOOL:
            raise ValueError(f"bool is for coils and discrete inputs, not {self.type} registers")
        if self.address + self.encoding.width > ADDRESS_SPACE:
            raise ValueError(f"{self.encoding} at {self.address} runs past address 65535")
        return self

    @property
    def encoding(self) -> DataType:
        """The data type, ``bool`` for coils and discrete inputs when none was given."""
        return self.data_type or DataType.BOOL

    def point(self) -> RegisterPoint:
        """This entry as a register map point."""
        return RegisterPoint(
            self.metric,
            self.type,
            self.address,
            self.encoding,
            self.byte_order,
            scale=self.scale,
            offset=self.offset,
        )


class ModbusSlaveConfig(DeviceSection):
    """One slave (unit) on a bus: a device of its own, read every ``interval`` seconds.

    ``max_gap``: unmapped registers a read may span to save a request (0: only adjacent ones;
    some devices answer reads of unmapped addresses with an exception).
    """

    unit: Annotated[int, Field(ge=1, le=247)]  # 0 is broadcast, 248-255 reserved (Modbus RTU)
    profile: Literal["sdm120", "sdm630"] | None = None
    registers: Annotated[tuple[RegisterEntry, ...], Field(strict=False)] | None = None
    interval: Seconds = 10.0
    max_gap: Annotated[int, Field(ge=0, le=124)] = 0

    @model_validator(mode="after")
    def _one_register_map(self) -> Self:
        if (self.profile is None) == (self.registers is None):
            raise ValueError("give either a profile or a registers list, not both or neither")
        if self.registers == ():
            raise ValueError("the registers list is empty")
        metrics = [p.metric for p in self.points()]
        if twice := next((m for m in metrics if metrics.count(m) > 1), None):
            raise ValueError(f"metric {twice!r} is read twice")
        return self

    def points(self) -> tuple[RegisterPoint, ...]:
        """The slave's register map: its profile's, or its own list."""
        if self.registers is not None:
            return tuple(r.point() for r in self.registers)
        return PROFILES[self.profile].points() if self.profile else ()


class _ModbusBus(DeviceSection):
    """What RTU and TCP buses share. ``raw`` on the bus applies to each of its slaves."""

    timeout: Seconds = 1.0  # per request: how long to wait for an answer
    retries: Annotated[int, Field(ge=0, le=10)] = 1  # resends after a timeout, per request
    request_gap: Annotated[float, Field(ge=0, le=10)] = 0.0  # seconds between two requests
    # no min_length: pydantic would also call the list empty whenever one of its slaves is invalid
    slaves: Annotated[tuple[ModbusSlaveConfig, ...], Field(strict=False)]

    @field_validator("slaves")
    @classmethod
    def _units_and_ids_unique(
        cls, slaves: tuple[ModbusSlaveConfig, ...]
    ) -> tuple[ModbusSlaveConfig, ...]:
        if not slaves:
            raise ValueError("a bus needs at least one slave")
        units = [s.unit for s in slaves]
        if (unit := next((u for u in units if units.count(u) > 1), None)) is not None:
            users = ", ".join(s.id for s in slaves if s.unit == unit)
            raise ValueError(f"unit {unit} is used by more than one slave ({users})")
        ids = [s.id for s in slaves]
        if twice := next((i for i in ids if ids.count(i) > 1), None):
            raise ValueError(f"slave id {twice!r} is used twice")
        return slaves

    @property
    def device_ids(self) -> tuple[str, ...]:
        """The device ids its readings carry: one per slave."""
        return tuple(s.id for s in self.slaves)

    @property
    def raw_device_ids(self) -> tuple[str, ...]:
        """The slaves whose raw samples are published: all if the bus says so, else their own."""
        return tuple(s.id for s in self.slaves if self.raw or s.raw)

    @property
    def sampling(self) -> dict[str, Sampling]:
        """Each enabled slave is sampled once per its ``interval``.

        No ``counter_modulus``: Eastron energy registers are floats, which do not wrap; where an
        integer counter of a ``registers`` map wraps (2**32 * scale) is not described yet.
        """
        return {s.id: Sampling(s.interval) for s in self.slaves if s.enabled}


class ModbusRtuConfig(_ModbusBus):
    """Modbus RTU slaves on one serial (RS-485) port."""

    type: Literal["modbus_rtu"]
    port: FilePath
    baudrate: Annotated[int, Field(gt=0)] = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8

    _relative = field_validator("port")(relative_to_file)

    @property
    def endpoint(self) -> str:
        """The serial port this bus owns."""
        return str(self.port)


class ModbusTcpConfig(_ModbusBus):
    """Modbus TCP units behind one host and port (a meter, or a gateway to an RS-485 line)."""

    type: Literal["modbus_tcp"]
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65_535)] = 502

    @property
    def endpoint(self) -> str:
        """The TCP endpoint this bus owns, as ``tcp://host:port``."""
        return f"tcp://{self.host}:{self.port}"
