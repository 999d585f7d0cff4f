"""Register maps of the Eastron SDM120 (single phase) and SDM630 (three phase) energy meters.

Pure: no I/O. Every value is an IEEE-754 float32 in two registers, big-endian byte and word order
(ABCD). Addresses are 0-based PDU addresses (register number = 30001 + address for input registers,
40001 + address for holding registers). Sources:

- input registers (FC04): the Lantian protocol reference, Eastron section, unless marked
  "(Eastron table)": those SDM630 entries (per-phase VA, VAr and PF; total VA and VAr) come from
  Eastron's published SDM630 Modbus register table, which lays phase 1 out like the SDM120;
- holding registers (FC03 read, FC16 write): addresses from the reference; the meaning of their
  values (parity and baud codes) from the SDM120 and SDM630 user manuals (verify on a meter).

A read must begin and end with a whole value; registers between two values that belong to none
read as 0, because open-source drivers read Eastron meters in blocks spanning unused addresses
(verify on a meter). A range that begins or ends outside a value, or cuts one in half, is
answered with ILLEGAL_DATA_ADDRESS, as a read of an unmapped address is. A write (FC16) must cover
settings only, without gaps.
"""

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from firmware_sim.modbus import ExceptionCode, ModbusError

_FLOAT = struct.Struct(">f")
_TWO_WORDS = struct.Struct(">HH")


class Quantity(StrEnum):
    """What an input register holds; named like the platform's metric ids, in the meter's units."""

    VOLTAGE = "voltage"  # V, line to neutral
    CURRENT = "current"  # A
    ACTIVE_POWER = "active_power"  # W (the meter's unit; the platform's metric is in kW)
    APPARENT_POWER = "apparent_power"  # VA
    REACTIVE_POWER = "reactive_power"  # VAr
    POWER_FACTOR = "power_factor"
    FREQUENCY = "frequency"  # Hz
    ENERGY_IMPORT = "energy_import"  # kWh
    ENERGY_EXPORT = "energy_export"  # kWh
    ENERGY_TOTAL = "energy_total"  # kWh
    VOLTAGE_L1 = "voltage_l1"
    VOLTAGE_L2 = "voltage_l2"
    VOLTAGE_L3 = "voltage_l3"
    CURRENT_L1 = "current_l1"
    CURRENT_L2 = "current_l2"
    CURRENT_L3 = "current_l3"
    ACTIVE_POWER_L1 = "active_power_l1"
    ACTIVE_POWER_L2 = "active_power_l2"
    ACTIVE_POWER_L3 = "active_power_l3"
    APPARENT_POWER_L1 = "apparent_power_l1"
    APPARENT_POWER_L2 = "apparent_power_l2"
    APPARENT_POWER_L3 = "apparent_power_l3"
    REACTIVE_POWER_L1 = "reactive_power_l1"
    REACTIVE_POWER_L2 = "reactive_power_l2"
    REACTIVE_POWER_L3 = "reactive_power_l3"
    POWER_FACTOR_L1 = "power_factor_l1"
    POWER_FACTOR_L2 = "power_factor_l2"
    POWER_FACTOR_L3 = "power_factor_l3"
    VOLTAGE_L1_L2 = "voltage_l1_l2"
    VOLTAGE_L2_L3 = "voltage_l2_l3"
    VOLTAGE_L3_L1 = "voltage_l3_l1"
    ENERGY_IMPORT_L1 = "energy_import_l1"
    ENERGY_IMPORT_L2 = "energy_import_l2"
    ENERGY_IMPORT_L3 = "energy_import_l3"


class Setting(StrEnum):
    """What a holding register holds."""

    PARITY_STOP = "parity_stop"  # 0: 1 stop bit, no parity; 1: even; 2: odd; 3: 2 stop bits
    SLAVE_ID = "slave_id"  # 1..247
    BAUD_RATE = "baud_rate"  # a code, see _SDM120_BAUD and _SDM630_BAUD


@dataclass(frozen=True, slots=True)
class FloatRegister:
    """A float32 value at ``address`` and ``address + 1``."""

    address: int
    name: str


@dataclass(frozen=True, slots=True)
class SettingRegister:
    """A writable float32 setting: its register, its factory default and the values it takes."""

    address: int
    name: Setting
    default: float
    allowed: frozenset[float]


def encode_float(value: float) -> tuple[int, int]:
    """The two registers of ``value`` as float32, high word first."""
    high, low = _TWO_WORDS.unpack(_FLOAT.pack(value))
    return high, low


def decode_float(high: int, low: int) -> float:
    """The float32 held in two registers, high word first."""
    (value,) = _FLOAT.unpack(_TWO_WORDS.pack(high, low))
    return float(value)


def span(
    table: tuple[FloatRegister, ...], address: int, count: int, *, gaps: bool = False
) -> tuple[FloatRegister, ...]:
    """The values a request for ``count`` registers from ``address`` covers, in order.

    With ``gaps``, registers between two values that belong to no value are allowed (they read
    as 0); the range must still begin and end with a whole value.

    Raises:
        ModbusError: ILLEGAL_DATA_ADDRESS if the range begins or ends outside a whole value,
            cuts a value in half, or (without ``gaps``) covers a register in no value.
    """
    by_address = {r.address: r for r in table}
    covered: list[FloatRegister] = []
    at, end = address, address + count
    while at < end:
        register = by_address.get(at)
        if register is not None and at + 2 <= end:
            covered.append(register)
            at += 2
        elif gaps and covered and at - 1 not in by_address and at not in by_address:
            at += 1
        else:
            break
    if at < end or not covered or covered[-1].address + 2 != end:
        raise ModbusError(
            ExceptionCode.ILLEGAL_DATA_ADDRESS,
            f"registers {address:#06x}+{count} do not begin and end with whole values",
        )
    return tuple(covered)


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """One meter model: its input and holding registers and its electrical ratings."""

    model: str
    phases: int
    max_current_a: float  # per phase; the simulated factory load is sized from it
    inputs: tuple[FloatRegister, ...]
    settings: tuple[SettingRegister, ...]
    # the settings as plain float registers, for reads and for decoding what was read
    holding_floats: tuple[FloatRegister, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        floats = tuple(FloatRegister(s.address, s.name) for s in self.settings)
        object.__setattr__(self, "holding_floats", floats)

    def read_inputs(self, values: Mapping[str, float], address: int, count: int) -> tuple[int, ...]:
        """The input registers ``address .. address + count - 1`` holding ``values``."""
        return _registers(span(self.inputs, address, count, gaps=True), address, count, values)

    def read_settings(
        self, settings: Mapping[str, float], address: int, count: int
    ) -> tuple[int, ...]:
        """The holding registers ``address .. address + count - 1`` holding ``settings``."""
        covered = span(self.holding_floats, address, count, gaps=True)
        return _registers(covered, address, count, settings)

    def write_settings(self, address: int, registers: tuple[int, ...]) -> dict[str, float]:
        """The settings a write of ``registers`` from ``address`` on sets, validated.

        Raises:
            ModbusError: ILLEGAL_DATA_ADDRESS outside the settings, ILLEGAL_DATA_VALUE for a
                value the setting does not take.
        """
        covered = span(self.holding_floats, address, len(registers))
        allowed: dict[str, frozenset[float]] = {s.name: s.allowed for s in self.settings}
        written: dict[str, float] = {}
        for i, register in enumerate(covered):
            value = decode_float(registers[2 * i], registers[2 * i + 1])
            if value not in allowed[register.name]:
                raise ModbusError(
                    ExceptionCode.ILLEGAL_DATA_VALUE, f"{register.name} cannot be {value}"
                )
            written[register.name] = value
        return written

    def default_settings(self, slave_id: int) -> dict[str, float]:
        """The holding registers of a meter set to answer at ``slave_id``."""
        settings: dict[str, float] = {s.name: s.default for s in self.settings}
        settings[Setting.SLAVE_ID] = float(slave_id)
        return settings


def _registers(
    covered: tuple[FloatRegister, ...], address: int, count: int, values: Mapping[str, float]
) -> tuple[int, ...]:
    words = [0] * count
    for register in covered:
        at = register.address - address
        words[at], words[at + 1] = encode_float(values[register.name])
    return tuple(words)


def decode_values(
    table: tuple[FloatRegister, ...], address: int, registers: tuple[int, ...]
) -> list[tuple[FloatRegister, float]]:
    """Each value in ``registers`` read from ``address`` on, as a host decodes it."""
    covered = span(table, address, len(registers), gaps=True)
    return [
        (r, decode_float(registers[r.address - address], registers[r.address - address + 1]))
        for r in covered
    ]


_PARITY_STOP = frozenset({0.0, 1.0, 2.0, 3.0})
_SLAVE_IDS = frozenset(float(i) for i in range(1, 248))
_SDM120_BAUD = frozenset({0.0, 1.0, 2.0, 5.0})  # 2400, 4800, 9600, 1200 (SDM120 manual)
_SDM630_BAUD = frozenset({0.0, 1.0, 2.0, 3.0, 4.0})  # 2400, 4800, 9600, 19200, 38400 (SDM630)

_Q = Quantity
SDM120 = RegisterMap(
    model="sdm120",
    phases=1,
    max_current_a=45.0,  # SDM120 Imax (datasheet)
    inputs=tuple(
        FloatRegister(a, q)
        for a, q in (
            (0x0000, _Q.VOLTAGE),
            (0x0006, _Q.CURRENT),
            (0x000C, _Q.ACTIVE_POWER),
            (0x0012, _Q.APPARENT_POWER),
            (0x0018, _Q.REACTIVE_POWER),
            (0x001E, _Q.POWER_FACTOR),
            (0x0046, _Q.FREQUENCY),
            (0x0048, _Q.ENERGY_IMPORT),
            (0x004A, _Q.ENERGY_EXPORT),
            (0x0156, _Q.ENERGY_TOTAL),
        )
    ),
    settings=(
        SettingRegister(0x0012, Setting.PARITY_STOP, 0.0, _PARITY_STOP),  # 8N1 (reference)
        SettingRegister(0x0014, Setting.SLAVE_ID, 1.0, _SLAVE_IDS),
        SettingRegister(0x001C, Setting.BAUD_RATE, 0.0, _SDM120_BAUD),  # 2400 (reference)
    ),
)

SDM630 = RegisterMap(
    model="sdm630",
    phases=3,
    max_current_a=100.0,  # SDM630-Modbus Imax (datasheet)
    inputs=tuple(
        FloatRegister(a, q)
        for a, q in (
            (0x0000, _Q.VOLTAGE_L1),
            (0x0002, _Q.VOLTAGE_L2),
            (0x0004, _Q.VOLTAGE_L3),
            (0x0006, _Q.CURRENT_L1),
            (0x0008, _Q.CURRENT_L2),
            (0x000A, _Q.CURRENT_L3),
            (0x000C, _Q.ACTIVE_POWER_L1),
            (0x000E, _Q.ACTIVE_POWER_L2),
            (0x0010, _Q.ACTIVE_POWER_L3),
            (0x0012, _Q.APPARENT_POWER_L1),  # (Eastron table)
            (0x0014, _Q.APPARENT_POWER_L2),  # (Eastron table)
            (0x0016, _Q.APPARENT_POWER_L3),  # (Eastron table)
            (0x0018, _Q.REACTIVE_POWER_L1),  # (Eastron table)
            (0x001A, _Q.REACTIVE_POWER_L2),  # (Eastron table)
            (0x001C, _Q.REACTIVE_POWER_L3),  # (Eastron table)
            (0x001E, _Q.POWER_FACTOR_L1),  # (Eastron table)
            (0x0020, _Q.POWER_FACTOR_L2),  # (Eastron table)
            (0x0022, _Q.POWER_FACTOR_L3),  # (Eastron table)
            (0x0034, _Q.ACTIVE_POWER),
            (0x0038, _Q.APPARENT_POWER),  # (Eastron table)
            (0x003C, _Q.REACTIVE_POWER),  # (Eastron table)
            (0x003E, _Q.POWER_FACTOR),
            (0x0046, _Q.FREQUENCY),
            (0x0048, _Q.ENERGY_IMPORT),
            (0x004A, _Q.ENERGY_EXPORT),
            (0x00C8, _Q.VOLTAGE_L1_L2),
            (0x00CA, _Q.VOLTAGE_L2_L3),
            (0x00CC, _Q.VOLTAGE_L3_L1),
            (0x0156, _Q.ENERGY_TOTAL),
            (0x015A, _Q.ENERGY_IMPORT_L1),
            (0x015C, _Q.ENERGY_IMPORT_L2),
            (0x015E, _Q.ENERGY_IMPORT_L3),
        )
    ),
    settings=(
        SettingRegister(0x0012, Setting.PARITY_STOP, 0.0, _PARITY_STOP),  # N or E by model (verify)
        SettingRegister(0x0014, Setting.SLAVE_ID, 1.0, _SLAVE_IDS),
        SettingRegister(0x001C, Setting.BAUD_RATE, 2.0, _SDM630_BAUD),  # 9600 (reference)
    ),
)

MODELS: Mapping[str, RegisterMap] = {m.model: m for m in (SDM120, SDM630)}
