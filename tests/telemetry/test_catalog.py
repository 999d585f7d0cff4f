import pytest

from telemetry import CATALOG, MetricKind, UnknownMetricError, metric

REQUIRED = [
    "pm1",
    "pm25",
    "pm10",
    "tsp",
    "energy_import",
    "energy_export",
    "active_power",
    "voltage",
    "current",
    "power_factor",
    "frequency",
]


@pytest.mark.parametrize("metric_id", REQUIRED)
def test_catalog_covers_the_required_metrics(metric_id):
    entry = metric(metric_id)
    assert entry.id == metric_id
    assert entry.low < entry.high
    assert entry.description


def test_units_are_fixed_by_the_catalog():
    assert metric("pm25").unit == "µg/m³"
    assert metric("energy_import").unit == "kWh"
    assert metric("active_power").unit == "kW"
    assert metric("power_factor").unit == "1"


def test_energy_registers_are_counters_and_particulates_gauges():
    assert metric("energy_import").kind is MetricKind.COUNTER
    assert metric("pm25").kind is MetricKind.GAUGE


def test_hj212_codes_of_particulates():
    # HJ 212-2017 pollutant codes (shared/reference/protocols.md).
    assert metric("pm25").hj212_code == "a34004"
    assert metric("pm10").hj212_code == "a34002"
    assert metric("tsp").hj212_code == "a34001"
    assert metric("pm1").hj212_code == "a34005"


def test_range_is_inclusive():
    pm25 = metric("pm25")
    assert pm25.in_range(pm25.low)
    assert pm25.in_range(pm25.high)
    assert not pm25.in_range(-0.1)
    assert not metric("power_factor").in_range(1.01)


def test_unknown_metric_is_a_typed_error():
    with pytest.raises(UnknownMetricError) as caught:
        metric("pm2.5")
    assert caught.value.metric_id == "pm2.5"
    assert "pm2.5" in str(caught.value)


def test_ids_are_unique_and_match_the_wire_pattern():
    assert len(CATALOG) == len({m.id for m in CATALOG.values()})
