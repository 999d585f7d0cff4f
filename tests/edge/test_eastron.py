import struct

import pytest

from edge.protocols.eastron import PROFILES, SDM120, SDM630
from edge.protocols.registers import ByteOrder, DataType, RegisterKind, plan_reads
from telemetry.catalog import CATALOG


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS: reflected polynomial 0xA001, initial value 0xFFFF, sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def rtu_request(unit, request):
    pdu = struct.pack(">BBHH", unit, request.function_code, request.address, request.count)
    return pdu + crc16_modbus(pdu).to_bytes(2, "little")


def by_metric(profile):
    return {p.metric: p for p in profile.points()}


def test_reference_frame_reads_sdm120_voltage():
    # Lantian protocol reference, Eastron: read SDM120 voltage `01 04 00 00 00 02 71 CB`
    first = plan_reads(SDM120.points())[0]
    assert [p.metric for p in first.points] == ["voltage"]
    assert rtu_request(1, first) == bytes.fromhex("01 04 00 00 00 02 71 CB")


def test_reference_frame_reads_import_energy():
    # Lantian protocol reference, Eastron: read import kWh `01 04 00 48 00 02 F1 DD`
    (request,) = plan_reads([by_metric(SDM120)["energy_import"]])
    assert rtu_request(1, request) == bytes.fromhex("01 04 00 48 00 02 F1 DD")


def test_reference_bytes_decode_to_230_2_volts():
    (request,) = plan_reads([by_metric(SDM120)["voltage"]])
    words = struct.unpack(">HH", bytes.fromhex("43 66 33 33"))
    ((point, value),) = request.decode(words)
    assert (point.metric, value) == ("voltage", 230.2)


@pytest.mark.parametrize("profile", [SDM120, SDM630], ids=lambda p: p.name)
def test_every_value_is_a_float32_input_register_pair_in_abcd(profile):
    for point in profile.points():
        assert (point.kind, point.data_type, point.byte_order) == (
            RegisterKind.INPUT,
            DataType.FLOAT32,
            ByteOrder.ABCD,
        )
        assert point.address % 2 == 0  # Eastron values start on even addresses
        assert point.offset == 0


@pytest.mark.parametrize("profile", [SDM120, SDM630], ids=lambda p: p.name)
def test_metrics_are_in_the_catalog_and_power_is_scaled_to_kilo(profile):
    for point in profile.points():
        unit = CATALOG[point.metric].unit
        # the meters report W, VA and var; the catalog keeps kW, kVA and kvar
        assert point.scale == (0.001 if unit in {"kW", "kVA", "kvar"} else 1.0), point.metric
    metrics = [p.metric for p in profile.points()]
    addresses = [p.address for p in profile.points()]
    assert len(set(metrics)) == len(metrics)
    assert len(set(addresses)) == len(addresses)


SDM120_MAP = {
    "voltage": 0x0000,
    "current": 0x0006,
    "active_power": 0x000C,
    "apparent_power": 0x0012,
    "reactive_power": 0x0018,
    "power_factor": 0x001E,
    "frequency": 0x0046,
    "energy_import": 0x0048,
    "energy_export": 0x004A,
    "energy_total": 0x0156,
}

SDM630_MAP = {
    "voltage_l1": 0x0000,
    "voltage_l2": 0x0002,
    "voltage_l3": 0x0004,
    "current_l1": 0x0006,
    "current_l2": 0x0008,
    "current_l3": 0x000A,
    "active_power_l1": 0x000C,
    "active_power_l2": 0x000E,
    "active_power_l3": 0x0010,
    "active_power": 0x0034,
    "power_factor": 0x003E,
    "frequency": 0x0046,
    "energy_import": 0x0048,
    "energy_export": 0x004A,
    "voltage_l1_l2": 0x00C8,
    "voltage_l2_l3": 0x00CA,
    "voltage_l3_l1": 0x00CC,
    "energy_total": 0x0156,
    "energy_import_l1": 0x015A,
    "energy_import_l2": 0x015C,
    "energy_import_l3": 0x015E,
}


@pytest.mark.parametrize(
    ("profile", "expected"), [(SDM120, SDM120_MAP), (SDM630, SDM630_MAP)], ids=["sdm120", "sdm630"]
)
def test_addresses_follow_the_reference(profile, expected):
    assert {p.metric: p.address for p in profile.points()} == expected


def test_profiles_by_name():
    assert PROFILES == {"sdm120": SDM120, "sdm630": SDM630}


def spans(requests):
    return [(r.function_code, r.address, r.count) for r in requests]


def test_sdm630_needs_seven_reads_without_gaps():
    assert spans(plan_reads(SDM630.points())) == [
        (4, 0x0000, 18),  # L1-L3 voltage, current, power
        (4, 0x0034, 2),  # total power
        (4, 0x003E, 2),  # power factor
        (4, 0x0046, 6),  # frequency, import, export
        (4, 0x00C8, 6),  # line-to-line voltages
        (4, 0x0156, 2),  # total energy
        (4, 0x015A, 6),  # per-phase import
    ]


def test_sdm630_needs_three_reads_when_gaps_may_be_read():
    assert spans(plan_reads(SDM630.points(), max_gap=124)) == [
        (4, 0x0000, 0x4C),
        (4, 0x00C8, 6),
        (4, 0x0156, 10),
    ]


def test_sdm120_needs_eight_reads_without_gaps():
    assert len(plan_reads(SDM120.points())) == 8
