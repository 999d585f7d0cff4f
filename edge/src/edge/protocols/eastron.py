"""Built-in register maps of the Eastron SDM120 (single phase) and SDM630 (three phase) meters.

Source: Lantian protocol reference, "Eastron SDM120 / SDM630 energy meters". Every measurement is
an input register pair (FC04) holding an IEEE-754 float32, big-endian byte and word order
(``ABCD``), at the 0-based PDU address listed (register number = 30001 + address). The meters
report power in W, VA and var; the telemetry catalog keeps power in kW, kVA and kvar, hence the
scale of 0.001. Energy is reported in kWh, as the catalog keeps it.

The SDM630 also has total VA and var and per-phase values beyond these; only what the reference
lists is mapped here. A site that needs more adds a ``registers`` list of its own.
"""

from dataclasses import dataclass

from edge.protocols.registers import ByteOrder, DataType, RegisterKind, RegisterPoint

KILO = 0.001  # W -> kW, VA -> kVA, var -> kvar


@dataclass(frozen=True, slots=True)
class MeterValue:
    """One float32 input register pair of a meter and the catalog metric it feeds."""

    metric: str
    address: int
    scale: float = 1.0

    def point(self) -> RegisterPoint:
        """The register map entry for this value."""
        return RegisterPoint(
            self.metric,
            RegisterKind.INPUT,
            self.address,
            DataType.FLOAT32,
            ByteOrder.ABCD,
            scale=self.scale,
        )


@dataclass(frozen=True, slots=True)
class MeterProfile:
    """A meter model's register map."""

    name: str
    values: tuple[MeterValue, ...]

    def points(self) -> tuple[RegisterPoint, ...]:
        """Every value of the profile as a register point, in table order."""
        return tuple(v.point() for v in self.values)


SDM120 = MeterProfile(
    "sdm120",
    (
        MeterValue("voltage", 0x0000),
        MeterValue("current", 0x0006),
        MeterValue("active_power", 0x000C, KILO),
        MeterValue("apparent_power", 0x0012, KILO),
        MeterValue("reactive_power", 0x0018, KILO),
        MeterValue("power_factor", 0x001E),
        MeterValue("frequency", 0x0046),
        MeterValue("energy_import", 0x0048),
        MeterValue("energy_export", 0x004A),
        MeterValue("energy_total", 0x0156),
    ),
)

SDM630 = MeterProfile(
    "sdm630",
    (
        MeterValue("voltage_l1", 0x0000),
        MeterValue("voltage_l2", 0x0002),
        MeterValue("voltage_l3", 0x0004),
        MeterValue("current_l1", 0x0006),
        MeterValue("current_l2", 0x0008),
        MeterValue("current_l3", 0x000A),
        MeterValue("active_power_l1", 0x000C, KILO),
        MeterValue("active_power_l2", 0x000E, KILO),
        MeterValue("active_power_l3", 0x0010, KILO),
        MeterValue("active_power", 0x0034, KILO),
        MeterValue("power_factor", 0x003E),
        MeterValue("frequency", 0x0046),
        MeterValue("energy_import", 0x0048),
        MeterValue("energy_export", 0x004A),
        MeterValue("voltage_l1_l2", 0x00C8),
        MeterValue("voltage_l2_l3", 0x00CA),
        MeterValue("voltage_l3_l1", 0x00CC),
        MeterValue("energy_total", 0x0156),
        MeterValue("energy_import_l1", 0x015A),
        MeterValue("energy_import_l2", 0x015C),
        MeterValue("energy_import_l3", 0x015E),
    ),
)

PROFILES = {p.name: p for p in (SDM120, SDM630)}
"""The built-in profiles by the name a configuration uses."""
