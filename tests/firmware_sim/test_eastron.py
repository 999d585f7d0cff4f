import itertools

import pytest

from firmware_sim.eastron import (
    MODELS,
    SDM120,
    SDM630,
    Quantity,
    Setting,
    decode_float,
    decode_values,
    encode_float,
    span,
)
from firmware_sim.modbus import ExceptionCode, ModbusError

Q = Quantity

# Every input register the protocol reference lists (Eastron section), as (address, quantity).
REFERENCE_SDM120 = [
    (0x0000, Q.VOLTAGE),
    (0x0006, Q.CURRENT),
    (0x000C, Q.ACTIVE_POWER),
    (0x0012, Q.APPARENT_POWER),
    (0x0018, Q.REACTIVE_POWER),
    (0x001E, Q.POWER_FACTOR),
    (0x0046, Q.FREQUENCY),
    (0x0048, Q.ENERGY_IMPORT),
    (0x004A, Q.ENERGY_EXPORT),
    (0x0156, Q.ENERGY_TOTAL),
]
REFERENCE_SDM630 = [
    (0x0000, Q.VOLTAGE_L1),
    (0x0002, Q.VOLTAGE_L2),
    (0x0004, Q.VOLTAGE_L3),
    (0x0006, Q.CURRENT_L1),
    (0x0008, Q.CURRENT_L2),
    (0x000A, Q.CURRENT_L3),
    (0x000C, Q.ACTIVE_POWER_L1),
    (0x000E, Q.ACTIVE_POWER_L2),
    (0x0010, Q.ACTIVE_POWER_L3),
    (0x0034, Q.ACTIVE_POWER),
    (0x003E, Q.POWER_FACTOR),
    (0x0046, Q.FREQUENCY),
    (0x0048, Q.ENERGY_IMPORT),
    (0x004A, Q.ENERGY_EXPORT),
    (0x00C8, Q.VOLTAGE_L1_L2),
    (0x00CA, Q.VOLTAGE_L2_L3),
    (0x00CC, Q.VOLTAGE_L3_L1),
    (0x0156, Q.ENERGY_TOTAL),
    (0x015A, Q.ENERGY_IMPORT_L1),
    (0x015C, Q.ENERGY_IMPORT_L2),
    (0x015E, Q.ENERGY_IMPORT_L3),
]


@pytest.mark.parametrize(
    ("words", "value"),
    [
        ((0x4366, 0x3333), 230.2),  # the reference's example: 43 66 33 33 -> 230.2 V
        ((0x0000, 0x0000), 0.0),
        ((0x3F80, 0x0000), 1.0),
        ((0xBF80, 0x0000), -1.0),
        ((0x4248, 0x0000), 50.0),
        ((0x4640, 0xE400), 12345.0),
    ],
)
def test_floats_are_ieee754_big_endian_high_word_first(words, value):
    assert decode_float(*words) == pytest.approx(value, rel=1e-7)
    assert encode_float(value) == words


@pytest.mark.parametrize(
    ("register_map", "reference"), [(SDM120, REFERENCE_SDM120), (SDM630, REFERENCE_SDM630)]
)
def test_maps_hold_every_register_of_the_reference(register_map, reference):
    mapped = {(r.address, r.name) for r in register_map.inputs}
    assert set(reference) <= mapped


@pytest.mark.parametrize("register_map", list(MODELS.values()))
def test_values_sit_at_distinct_even_addresses_without_overlap(register_map):
    for table in (register_map.inputs, register_map.holding_floats):
        addresses = sorted(r.address for r in table)
        assert all(a % 2 == 0 for a in addresses)
        assert all(b - a >= 2 for a, b in itertools.pairwise(addresses))
        assert len({r.name for r in table}) == len(table)


def test_sdm120_voltage_request_of_the_reference_reads_the_example_bytes():
    values: dict[str, float] = dict.fromkeys(map(str, Q), 0.0) | {Q.VOLTAGE: 230.2}
    assert SDM120.read_inputs(values, 0x0000, 2) == (0x4366, 0x3333)


def test_registers_between_values_read_as_zero_inside_a_block():
    values: dict[str, float] = dict.fromkeys(map(str, Q), 1.0) | {Q.VOLTAGE: 230.2, Q.CURRENT: 50.0}
    assert SDM120.read_inputs(values, 0x0000, 8) == (0x4366, 0x3333, 0, 0, 0, 0, 0x4248, 0)
    decoded = decode_values(SDM120.inputs, 0x0000, (0x4366, 0x3333, 0, 0, 0, 0, 0x4248, 0))
    assert [(r.name, round(v, 4)) for r, v in decoded] == [(Q.VOLTAGE, 230.2), (Q.CURRENT, 50.0)]


@pytest.mark.parametrize(
    ("address", "count"),
    [
        (0x0002, 2),  # SDM120 has nothing at 0x0002: an unmapped address
        (0x0000, 1),  # half a value
        (0x0001, 2),  # straddles two registers of different meanings
        (0x0000, 4),  # ends in a gap
        (0x0156, 4),  # runs past the last value
        (0x0100, 2),
        (0xFFFE, 2),
    ],
)
def test_reads_that_do_not_begin_and_end_with_whole_values_are_illegal_addresses(address, count):
    with pytest.raises(ModbusError) as raised:
        SDM120.read_inputs(dict.fromkeys(Q, 0.0), address, count)
    assert raised.value.code is ExceptionCode.ILLEGAL_DATA_ADDRESS


def test_span_without_gaps_refuses_a_block_with_a_hole():
    assert [r.name for r in span(SDM630.inputs, 0x0000, 6)] == [
        Q.VOLTAGE_L1,
        Q.VOLTAGE_L2,
        Q.VOLTAGE_L3,
    ]
    assert len(span(SDM630.inputs, 0x0034, 12, gaps=True)) == 4  # W, VA, VAr, PF
    with pytest.raises(ModbusError):
        span(SDM630.inputs, 0x0034, 12)


@pytest.mark.parametrize(
    ("register_map", "baud_code"),
    [(SDM120, 0.0), (SDM630, 2.0)],  # 2400 and 9600 baud, the reference's factory defaults
)
def test_settings_default_to_the_factory_values_and_the_given_slave_id(register_map, baud_code):
    settings = register_map.default_settings(7)
    assert settings == {
        Setting.PARITY_STOP: 0.0,
        Setting.SLAVE_ID: 7.0,
        Setting.BAUD_RATE: baud_code,
    }
    words = register_map.read_settings(settings, 0x0012, 12)
    assert words[:4] == (0, 0, 0x40E0, 0)  # parity/stop 0.0, slave id 7.0
    assert words[4:10] == (0,) * 6  # 0x0016..0x001B hold nothing
    assert decode_float(*words[10:]) == baud_code


def test_settings_writes_are_validated():
    assert SDM630.write_settings(0x0014, encode_float(12.0)) == {Setting.SLAVE_ID: 12.0}
    assert SDM630.write_settings(0x0012, (*encode_float(1.0), *encode_float(3.0))) == {
        Setting.PARITY_STOP: 1.0,
        Setting.SLAVE_ID: 3.0,
    }
    for address, words, code in [
        (0x0014, encode_float(248.0), ExceptionCode.ILLEGAL_DATA_VALUE),
        (0x0014, encode_float(1.5), ExceptionCode.ILLEGAL_DATA_VALUE),
        (0x001C, encode_float(5.0), ExceptionCode.ILLEGAL_DATA_VALUE),  # 1200 baud: SDM120 only
        (0x0016, encode_float(1.0), ExceptionCode.ILLEGAL_DATA_ADDRESS),
        (
            0x0014,
            (*encode_float(1.0), 0, 0, 0, 0, *encode_float(2.0)),
            ExceptionCode.ILLEGAL_DATA_ADDRESS,
        ),
    ]:
        with pytest.raises(ModbusError) as raised:
            SDM630.write_settings(address, words)
        assert raised.value.code is code
    assert SDM120.write_settings(0x001C, encode_float(5.0)) == {Setting.BAUD_RATE: 5.0}
