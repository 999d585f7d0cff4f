"""The metric catalog: every metric id Lantian knows, with its unit and physically valid range.

A reading names its metric by id (``pm25``); the unit is fixed here, so two gateways can never
disagree about what a number means (a reading may repeat the unit on the wire, and is refused
when it names another). The valid range is the physical one
(what a working instrument can report), not a regulatory limit: a value outside it is a fault.
"""

from dataclasses import dataclass
from enum import StrEnum

from telemetry.errors import UnknownMetricError


class MetricKind(StrEnum):
    """How a metric's values relate over time."""

    GAUGE = "gauge"  # a level at an instant: concentration, power, voltage
    COUNTER = "counter"  # a cumulative register that only rises until reset: energy
    DELTA = "delta"  # an amount accumulated over the interval that starts at the reading's time


@dataclass(frozen=True, slots=True)
class Metric:
    """One entry of the catalog."""

    id: str
    unit: str
    low: float
    high: float
    kind: MetricKind
    description: str
    hj212_code: str | None = None  # pollutant code in HJ 212-2017 packets, where one exists

    def in_range(self, value: float) -> bool:
        """Whether ``value`` lies within the physically valid range (inclusive)."""
        return self.low <= value <= self.high


_UG = "µg/m³"
_PC = "count/0.1L"
_G = MetricKind.GAUGE
_C = MetricKind.COUNTER

# Particulate upper bounds: ambient PM monitors and low-cost sensors report up to about
# 1000 µg/m³; dust storms and stack-side TSP go beyond, so PM10 and TSP keep headroom. Particle
# counts are unsigned 16-bit words in the PMS5003 frame.
_METRICS = (
    Metric("pm1", _UG, 0, 1000, _G, "PM1.0 mass concentration, ambient conditions", "a34005"),
    Metric("pm25", _UG, 0, 1000, _G, "PM2.5 mass concentration, ambient conditions", "a34004"),
    Metric("pm10", _UG, 0, 2000, _G, "PM10 mass concentration, ambient conditions", "a34002"),
    Metric("tsp", _UG, 0, 10000, _G, "total suspended particulates", "a34001"),
    Metric("pc_0_3", _PC, 0, 65535, _G, "particles > 0.3 µm per 0.1 L of air"),
    Metric("pc_0_5", _PC, 0, 65535, _G, "particles > 0.5 µm per 0.1 L of air"),
    Metric("pc_1_0", _PC, 0, 65535, _G, "particles > 1.0 µm per 0.1 L of air"),
    Metric("pc_2_5", _PC, 0, 65535, _G, "particles > 2.5 µm per 0.1 L of air"),
    Metric("pc_5_0", _PC, 0, 65535, _G, "particles > 5 µm per 0.1 L of air"),
    Metric("pc_10", _PC, 0, 65535, _G, "particles > 10 µm per 0.1 L of air"),
    Metric("temperature", "°C", -50, 100, _G, "air temperature", "a01001"),
    Metric("humidity", "%RH", 0, 100, _G, "relative humidity", "a01002"),
    Metric("energy_import", "kWh", 0, 1e10, _C, "forward (imported) active energy, cumulative"),
    Metric("energy_export", "kWh", 0, 1e10, _C, "reverse (exported) active energy, cumulative"),
    Metric("energy_total", "kWh", 0, 1e10, _C, "total active energy, cumulative"),
    Metric(
        "energy_import_delta",
        "kWh",
        0,
        1e7,
        MetricKind.DELTA,
        "active energy imported during the interval starting at ts (from the counter)",
    ),
    Metric(
        "energy_export_delta",
        "kWh",
        0,
        1e7,
        MetricKind.DELTA,
        "active energy exported during the interval starting at ts (from the counter)",
    ),
    Metric(
        "energy_total_delta",
        "kWh",
        0,
        1e7,
        MetricKind.DELTA,
        "total active energy during the interval starting at ts (from the counter)",
    ),
    Metric("active_power", "kW", -1e6, 1e6, _G, "total active power, negative when exporting"),
    Metric("reactive_power", "kvar", -1e6, 1e6, _G, "total reactive power"),
    Metric("apparent_power", "kVA", 0, 1e6, _G, "total apparent power"),
    Metric("voltage", "V", 0, 1000, _G, "phase (line-to-neutral) voltage, RMS"),
    Metric("current", "A", 0, 10000, _G, "phase current, RMS"),
    Metric("power_factor", "1", -1, 1, _G, "total power factor"),
    Metric("frequency", "Hz", 40, 70, _G, "grid frequency"),
)


def _per_phase() -> tuple[Metric, ...]:
    """Per-phase and line-to-line quantities of three-phase meters (e.g. Eastron SDM630)."""
    phases = ("l1", "l2", "l3")
    return (
        *(
            Metric(f"voltage_{p}", "V", 0, 1000, _G, f"phase {p.upper()} voltage, RMS")
            for p in phases
        ),
        *(
            Metric(f"current_{p}", "A", 0, 10000, _G, f"phase {p.upper()} current, RMS")
            for p in phases
        ),
        *(
            Metric(f"active_power_{p}", "kW", -1e6, 1e6, _G, f"phase {p.upper()} active power")
            for p in phases
        ),
        *(
            Metric(f"energy_import_{p}", "kWh", 0, 1e10, _C, f"phase {p.upper()} imported energy")
            for p in phases
        ),
        *(
            Metric(
                f"voltage_{a}_{b}",
                "V",
                0,
                1500,
                _G,
                f"line-to-line voltage {a.upper()}-{b.upper()}",
            )
            for a, b in (("l1", "l2"), ("l2", "l3"), ("l3", "l1"))
        ),
    )


CATALOG: dict[str, Metric] = {m.id: m for m in (*_METRICS, *_per_phase())}


def metric(metric_id: str) -> Metric:
    """Look up a metric by id.

    Raises:
        UnknownMetricError: the id is not in the catalog.
    """
    try:
        return CATALOG[metric_id]
    except KeyError:
        raise UnknownMetricError(metric_id) from None
