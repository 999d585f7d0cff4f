import math
import struct

import pytest

from edge.protocols.registers import (
    ByteOrder,
    DataType,
    ReadRequest,
    RegisterError,
    RegisterKind,
    RegisterPoint,
    decode_value,
    plan_reads,
)

# --- decoding -----------------------------------------------------------------------------------

# Hand-written vectors: the value's bytes are 0x41 0x42 0x43 0x44 (A B C D) or, for 64 bits,
# 0x41..0x48 (A..H), as the registers of each byte order carry them.
LITERAL = [
    (DataType.UINT16, ByteOrder.ABCD, [0x4142], 0x4142),
    (DataType.UINT16, ByteOrder.CDAB, [0x4142], 0x4142),
    (DataType.UINT16, ByteOrder.DCBA, [0x4241], 0x4142),
    (DataType.UINT16, ByteOrder.BADC, [0x4241], 0x4142),
    (DataType.UINT32, ByteOrder.ABCD, [0x4142, 0x4344], 0x41424344),
    (DataType.UINT32, ByteOrder.DCBA, [0x4443, 0x4241], 0x41424344),
    (DataType.UINT32, ByteOrder.BADC, [0x4241, 0x4443], 0x41424344),
    (DataType.UINT32, ByteOrder.CDAB, [0x4344, 0x4142], 0x41424344),
    (DataType.UINT64, ByteOrder.ABCD, [0x4142, 0x4344, 0x4546, 0x4748], 0x4142434445464748),
    (DataType.UINT64, ByteOrder.DCBA, [0x4847, 0x4645, 0x4443, 0x4241], 0x4142434445464748),
    (DataType.UINT64, ByteOrder.BADC, [0x4241, 0x4443, 0x4645, 0x4847], 0x4142434445464748),
    (DataType.UINT64, ByteOrder.CDAB, [0x4748, 0x4546, 0x4344, 0x4142], 0x4142434445464748),
    # Lantian protocol reference, Eastron: register bytes 43 66 33 33 decode to 230.2 (V)
    (DataType.FLOAT32, ByteOrder.ABCD, [0x4366, 0x3333], 230.2),
    (DataType.FLOAT32, ByteOrder.CDAB, [0x3333, 0x4366], 230.2),
    (DataType.FLOAT32, ByteOrder.DCBA, [0x3333, 0x6643], 230.2),
    (DataType.FLOAT32, ByteOrder.BADC, [0x6643, 0x3333], 230.2),
    (DataType.INT16, ByteOrder.ABCD, [0xFFFF], -1),
    (DataType.INT16, ByteOrder.ABCD, [0x8000], -32768),
    (DataType.INT32, ByteOrder.ABCD, [0xFFFF, 0xFFFE], -2),
    (DataType.INT32, ByteOrder.CDAB, [0xFFFE, 0xFFFF], -2),
    (DataType.INT64, ByteOrder.ABCD, [0x8000, 0, 0, 0], -(2**63)),
    (DataType.INT64, ByteOrder.DCBA, [0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF], -2),
    (DataType.FLOAT64, ByteOrder.ABCD, [0x406C, 0xC666, 0x6666, 0x6666], 230.2),
    (DataType.FLOAT64, ByteOrder.CDAB, [0x6666, 0x6666, 0xC666, 0x406C], 230.2),
]


@pytest.mark.parametrize(("data_type", "order", "words", "expected"), LITERAL)
def test_literal_vectors(data_type, order, words, expected):
    assert decode_value(words, data_type, order) == expected


# Where each byte of the big-endian value goes, register after register, per byte order.
# 64-bit names follow Telegraf's (ABCDEFGH, HGFEDCBA, BADCFEHG, GHEFCDAB).
LAYOUT = {
    (1, ByteOrder.ABCD): "AB",
    (1, ByteOrder.CDAB): "AB",
    (1, ByteOrder.DCBA): "BA",
    (1, ByteOrder.BADC): "BA",
    (2, ByteOrder.ABCD): "ABCD",
    (2, ByteOrder.DCBA): "DCBA",
    (2, ByteOrder.BADC): "BADC",
    (2, ByteOrder.CDAB): "CDAB",
    (4, ByteOrder.ABCD): "ABCDEFGH",
    (4, ByteOrder.DCBA): "HGFEDCBA",
    (4, ByteOrder.BADC): "BADCFEHG",
    (4, ByteOrder.CDAB): "GHEFCDAB",
}

SAMPLES: dict[DataType, tuple[str, list[float]]] = {
    DataType.INT16: (">h", [-12345, 0, 1, 32767]),
    DataType.UINT16: (">H", [0, 0xBEEF, 65535]),
    DataType.INT32: (">i", [-123456789, 2**31 - 1, -(2**31)]),
    DataType.UINT32: (">I", [0, 0xDEADBEEF, 2**32 - 1]),
    DataType.INT64: (">q", [-1234567890123456789, 2**63 - 1]),
    DataType.UINT64: (">Q", [0x0123456789ABCDEF, 2**64 - 1]),
    DataType.FLOAT32: (">f", [0.5, -1.25, 1.0e-3, 49.98]),
    DataType.FLOAT64: (">d", [math.pi, -6.02214076e23, 0.1]),
}


def registers(value_bytes, layout):
    ordered = bytes(value_bytes[ord(letter) - ord("A")] for letter in layout)
    return [int.from_bytes(ordered[i : i + 2], "big") for i in range(0, len(ordered), 2)]


CASES = [
    (data_type, order, value)
    for data_type, (_, values) in SAMPLES.items()
    for order in ByteOrder
    for value in values
]


@pytest.mark.parametrize(("data_type", "order", "value"), CASES)
def test_every_type_in_every_byte_order(data_type, order, value):
    code, _ = SAMPLES[data_type]
    raw = struct.pack(code, value)
    words = registers(raw, LAYOUT[len(raw) // 2, order])
    decoded = decode_value(words, data_type, order)
    if data_type is DataType.FLOAT32:
        # a float32 is given back as the shortest decimal that is the same float32
        assert struct.pack(code, decoded) == raw
        assert decoded == float(f"{value:.7g}")
    else:
        assert decoded == value


def test_float32_gives_the_shortest_decimal_not_the_widened_double():
    words = registers(struct.pack(">f", 230.2), "ABCD")
    assert struct.unpack(">f", struct.pack(">f", 230.2))[0] != 230.2
    assert decode_value(words, DataType.FLOAT32, ByteOrder.ABCD) == 230.2


def test_float32_nan_and_infinity_pass_through():
    assert math.isnan(decode_value([0x7FC0, 0x0000], DataType.FLOAT32, ByteOrder.ABCD))
    assert decode_value([0xFF80, 0x0000], DataType.FLOAT32, ByteOrder.ABCD) == -math.inf


@pytest.mark.parametrize(("bit", "expected"), [(0, 0), (1, 1), (True, 1), (False, 0)])
def test_bits_decode_to_zero_or_one(bit, expected):
    assert decode_value([bit], DataType.BOOL, ByteOrder.ABCD) == expected


@pytest.mark.parametrize(
    ("words", "data_type", "message"),
    [
        ([0x4366], DataType.FLOAT32, "float32 needs 2 words, got 1"),
        ([1, 2, 3], DataType.UINT32, "uint32 needs 2 words, got 3"),
        ([0x10000], DataType.UINT16, "not 16-bit registers: [65536]"),
        ([-1, 0], DataType.INT32, "not 16-bit registers: [-1, 0]"),
    ],
)
def test_wrong_words_are_refused(words, data_type, message):
    with pytest.raises(RegisterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        decode_value(words, data_type, ByteOrder.ABCD)


@pytest.mark.parametrize(
    ("data_type", "words", "scale", "offset", "expected"),
    [
        (DataType.INT16, [0x00EB], 0.1, 0.0, 23.5),  # tenths of a degree
        (DataType.INT16, [0xFF9C], 0.1, 0.0, -10.0),
        (DataType.UINT16, [1000], 1.0, -40.0, 960.0),
        (DataType.UINT16, [500], 0.1, -40.0, 10.0),
        (DataType.UINT32, [0x0001, 0xE240], 0.01, 0.0, 1234.56),  # 123456 x 0.01 kWh
        (DataType.FLOAT32, [0x449A, 0x5000], 0.001, 0.0, 1.2345),  # 1234.5 W -> kW
        (DataType.INT32, [0xFFFF, 0xFB2E], 0.001, 0.0, -1.234),
        (DataType.UINT16, [7], 1.0, 0.0, 7.0),
    ],
)
def test_value_is_scaled_then_offset(data_type, words, scale, offset, expected):
    point = RegisterPoint(
        "x", RegisterKind.HOLDING, 0, data_type, ByteOrder.ABCD, scale=scale, offset=offset
    )
    assert point.value(words) == expected


@pytest.mark.parametrize(
    ("kind", "data_type", "address", "message"),
    [
        (RegisterKind.COIL, DataType.UINT16, 0, "coil cannot hold a uint16"),
        (RegisterKind.INPUT, DataType.BOOL, 0, "input cannot hold a bool"),
        (RegisterKind.HOLDING, DataType.FLOAT32, 65535, "float32 at 65535 is outside"),
        (RegisterKind.HOLDING, DataType.UINT16, -1, "uint16 at -1 is outside"),
    ],
)
def test_impossible_points_are_refused(kind, data_type, address, message):
    with pytest.raises(ValueError, match=message):
        RegisterPoint("x", kind, address, data_type)


def test_function_codes_and_limits():
    table = [(k.function_code, k.is_bit, k.max_count) for k in RegisterKind]
    assert table == [(1, True, 2000), (2, True, 2000), (3, False, 125), (4, False, 125)]


# --- planning -----------------------------------------------------------------------------------


def point(address, data_type=DataType.FLOAT32, kind=RegisterKind.INPUT, metric=None):
    return RegisterPoint(metric or f"m{address}", kind, address, data_type)


def spans(requests):
    return [(r.function_code, r.address, r.count, len(r.points)) for r in requests]


PLANS = [
    ("one point", [point(0)], 0, [(4, 0, 2, 1)]),
    ("adjacent merge", [point(0), point(2), point(4)], 0, [(4, 0, 6, 3)]),
    ("order does not matter", [point(4), point(0), point(2)], 0, [(4, 0, 6, 3)]),
    ("a gap splits by default", [point(0), point(4)], 0, [(4, 0, 2, 1), (4, 4, 2, 1)]),
    ("an allowed gap merges", [point(0), point(4)], 2, [(4, 0, 6, 2)]),
    ("a gap one too wide", [point(0), point(5)], 2, [(4, 0, 2, 1), (4, 5, 2, 1)]),
    (
        "overlapping points are read once",
        [point(0, DataType.UINT32), point(1, DataType.UINT16), point(0, DataType.FLOAT64)],
        0,
        [(4, 0, 4, 3)],
    ),
    (
        "the same address twice",
        [point(10, metric="a"), point(10, metric="b")],
        0,
        [(4, 10, 2, 2)],
    ),
    (
        "125 registers fit one read",
        [point(a, DataType.UINT16) for a in range(125)],
        0,
        [(4, 0, 125, 125)],
    ),
    (
        "126 registers need two",
        [point(a, DataType.UINT16) for a in range(126)],
        0,
        [(4, 0, 125, 125), (4, 125, 1, 1)],
    ),
    (
        "a value is never split across reads",
        [point(a) for a in range(0, 126, 2)],
        0,
        [(4, 0, 124, 62), (4, 124, 2, 1)],
    ),
    (
        "different functions are never merged",
        [
            point(0, kind=RegisterKind.HOLDING),
            point(2),
            point(0, DataType.BOOL, RegisterKind.COIL),
            point(1, DataType.BOOL, RegisterKind.DISCRETE),
        ],
        0,
        [(1, 0, 1, 1), (2, 1, 1, 1), (3, 0, 2, 1), (4, 2, 2, 1)],
    ),
    (
        "2000 bits fit one read",
        [point(a, DataType.BOOL, RegisterKind.COIL) for a in (0, 1999)],
        2000,
        [(1, 0, 2000, 2)],
    ),
    (
        "2001 bits need two",
        [point(a, DataType.BOOL, RegisterKind.COIL) for a in (0, 2000)],
        2000,
        [(1, 0, 1, 1), (1, 2000, 1, 1)],
    ),
    (
        "gaps read to save requests",
        [point(0), point(10), point(20)],
        8,
        [(4, 0, 22, 3)],
    ),
    (
        "a gap is read only when that saves a read",
        # two reads either way: [0, 92) + [124, 126) would read 94 registers, this plan 38
        [point(0), point(90), point(124)],
        100,
        [(4, 0, 2, 1), (4, 90, 36, 2)],
    ),
    ("nothing to read", [], 0, []),
]


@pytest.mark.parametrize(
    ("points", "max_gap", "expected"), [p[1:] for p in PLANS], ids=[p[0] for p in PLANS]
)
def test_plan(points, max_gap, expected):
    requests = plan_reads(points, max_gap=max_gap)
    assert spans(requests) == expected
    assert {p for r in requests for p in r.points} == set(points)
    for r in requests:
        assert all(r.address <= p.address and p.end <= r.address + r.count for p in r.points)


# --- decoding an answer -------------------------------------------------------------------------


def test_request_decodes_each_point_from_its_slice():
    voltage = RegisterPoint("voltage", RegisterKind.INPUT, 0, DataType.FLOAT32)
    power = RegisterPoint("active_power", RegisterKind.INPUT, 2, DataType.INT16, scale=0.001)
    (request,) = plan_reads([power, voltage])
    assert request.decode([0x4366, 0x3333, 0x04D2]) == ((voltage, 230.2), (power, 1.234))


def test_bit_answers_may_carry_padding_up_to_a_byte():
    coil = RegisterPoint("x", RegisterKind.COIL, 3, DataType.BOOL)
    request = ReadRequest(RegisterKind.COIL, 0, 4, (coil,))
    assert request.decode([False, False, False, True, False, False, False, False]) == ((coil, 1.0),)
    with pytest.raises(RegisterError, match="asked for 4 coil values, got 12"):
        request.decode([False] * 12)


@pytest.mark.parametrize("count", [1, 3])
def test_register_answers_must_have_the_size_asked_for(count):
    (request,) = plan_reads([point(0)])
    with pytest.raises(RegisterError, match=f"asked for 2 input values, got {count}"):
        request.decode([0] * count)
