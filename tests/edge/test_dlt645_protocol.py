import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.protocols import dlt645
from edge.protocols.dlt645 import (
    WILDCARD,
    Control,
    ErrorReply,
    Frame,
    FrameDecoder,
    FrameError,
)
from edge.protocols.dlt645_items import (
    BY_CODE,
    BY_METRIC,
    IDENTIFIERS,
    ReplyError,
    Scaling,
    decode_bcd,
    encode_bcd,
)
from telemetry import CATALOG

H = bytes.fromhex
METER = "123456789012"
ENERGY_READING = H("68 12 90 78 56 34 12 68 91 08 33 33 34 33 9A 78 56 34 88 16")  # 12345.67 kWh
ERROR_NO_DATA = H("68 12 90 78 56 34 12 68 D1 01 35 8D 16")
POWER_NEGATIVE = H("68 12 90 78 56 34 12 68 91 07 33 33 36 35 78 56 B4 71 16")  # -1.2345 kW


@pytest.mark.parametrize(
    ("address", "di", "wire"),
    [
        # the verified frames of the protocol reference
        (WILDCARD, 0x00010000, "68 AA AA AA AA AA AA 68 11 04 33 33 34 33 AE 16"),
        (METER, 0x00010000, "68 12 90 78 56 34 12 68 11 04 33 33 34 33 68 16"),
    ],
)
def test_read_requests_are_the_verified_frames(address, di, wire):
    assert dlt645.read_request(address, di) == H(wire)
    assert dlt645.read_request(address, di, preamble=True) == H("FE FE FE FE " + wire)
    assert dlt645.parse_frame(H(wire)) == Frame(address, Control.READ, H("00 00 01 00"))


@pytest.mark.parametrize(
    ("frame", "wire"),
    [
        (Frame(METER, 0x91, H("00 00 01 00 67 45 23 01")), ENERGY_READING),
        (Frame(METER, 0xD1, H("02")), ERROR_NO_DATA),
        (Frame(METER, 0x91, H("00 00 03 02 45 23 81")), POWER_NEGATIVE),
        (
            Frame(METER, 0x93, H("12 90 78 56 34 12")),
            H("68 12 90 78 56 34 12 68 93 06 45 C3 AB 89 67 45 07 16"),
        ),
        (Frame(WILDCARD, 0x13), H("68 AA AA AA AA AA AA 68 13 00 DF 16")),
        (Frame("000000000000", 0x91, H("CD FF")), H("68 00 00 00 00 00 00 68 91 02 00 32 95 16")),
    ],
)
def test_frames_encode_and_decode_byte_for_byte(frame, wire):
    assert dlt645.encode_frame(frame) == wire
    assert dlt645.parse_frame(wire) == frame
    assert dlt645.parse_frame(b"\xfe\xfe\xfe\xfe" + wire) == frame
    assert dlt645.parse_frame(b"\xfe" + wire) == frame  # meters send 1 to 4 preamble bytes


def test_the_read_address_request_uses_the_wildcard():
    assert dlt645.read_address_request() == H("68 AA AA AA AA AA AA 68 13 00 DF 16")
    reply = dlt645.parse_frame(H("68 12 90 78 56 34 12 68 93 06 45 C3 AB 89 67 45 07 16"))
    assert dlt645.parse_address_reply(reply) == METER


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (ENERGY_READING[:-1], "length"),
        (ENERGY_READING + b"\x16", "length"),
        (ENERGY_READING[:7] + b"\x69" + ENERGY_READING[8:], "start"),
        (ENERGY_READING[:-1] + b"\x17", "end"),
        (ENERGY_READING[:-2] + b"\x89\x16", "checksum"),
        (ENERGY_READING[:12] + b"\x9b" + ENERGY_READING[13:], "checksum"),
        (H("68 1A 90 78 56 34 12 68 11 00 9F 16"), "address"),
    ],
)
def test_damaged_frames_are_refused_with_the_reason(wire, reason):
    with pytest.raises(FrameError) as caught:
        dlt645.parse_frame(wire)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("raw", "decimals", "signed", "value"),
    [
        ("67 45 23 01", 2, False, 12345.67),
        ("00 00 00 00", 2, False, 0.0),
        ("99 99 99 99", 2, False, 999999.99),  # the largest energy before the counter rolls over
        ("01 00 00 00", 2, False, 0.01),
        ("45 23 81", 4, True, -1.2345),
        ("45 23 01", 4, True, 1.2345),
        ("99 99 79", 4, True, 79.9999),  # the largest power the format holds
        ("00 00 80", 4, True, 0.0),  # minus zero
        ("87 09", 3, True, 0.987),
        ("87 89", 3, True, -0.987),  # a leading power factor
        ("05 22", 1, False, 220.5),
        ("99 99 80", 3, False, 809.999),  # unsigned: the top bit is a digit
    ],
)
def test_bcd_decoding_lowest_byte_first_with_the_sign_in_the_top_bit(raw, decimals, signed, value):
    assert decode_bcd(H(raw), decimals=decimals, signed=signed) == value
    size = len(H(raw))
    encoded = encode_bcd(value, size=size, decimals=decimals, signed=signed)
    assert encoded == H(raw) or (value == 0.0 and encoded == bytes(size))


@pytest.mark.parametrize("raw", ["6A 45 23 01", "67 45 23 F1", "A0"])
def test_nibbles_that_are_not_digits_are_refused(raw):
    with pytest.raises(ReplyError, match="not BCD"):
        decode_bcd(H(raw), decimals=2)


@pytest.mark.parametrize(
    ("value", "size", "decimals", "signed"),
    [(1_000_000.0, 4, 2, False), (-1.0, 4, 2, False), (80.0, 3, 4, True)],
)
def test_values_that_do_not_fit_cannot_be_encoded(value, size, decimals, signed):
    with pytest.raises(ValueError, match="does not fit"):
        encode_bcd(value, size=size, decimals=decimals, signed=signed)


@given(st.integers(min_value=-799999, max_value=799999))
def test_signed_bcd_round_trips(units):
    value = units / 10_000
    raw = encode_bcd(value, size=3, decimals=4, signed=True)
    assert decode_bcd(raw, decimals=4, signed=True) == value


def test_read_replies_give_values_and_error_replies_the_error_byte():
    energy = BY_METRIC["energy_import"]
    assert dlt645.parse_read_reply(dlt645.parse_frame(ENERGY_READING), METER, energy) == 12345.67
    power = BY_METRIC["active_power"]
    assert dlt645.parse_read_reply(dlt645.parse_frame(POWER_NEGATIVE), METER, power) == -1.2345
    with pytest.raises(ErrorReply) as caught:
        dlt645.parse_read_reply(dlt645.parse_frame(ERROR_NO_DATA), METER, energy)
    assert caught.value.code == 0x02
    assert "NO_DATA" in str(caught.value)


@pytest.mark.parametrize(
    ("frame", "address", "metric", "why"),
    [
        (Frame(METER, 0x91, H("00 00 01 00 67 45 23 01")), "000000000001", "energy_import", "from"),
        (Frame(METER, 0x91, H("00 00 01 00 67 45 23 01")), METER, "energy_export", "DI 00010000"),
        (Frame(METER, 0x93, H("12 90 78 56 34 12")), METER, "energy_import", "control 0x93"),
        (Frame(METER, 0x91, H("00 00 01 00 67 45 23")), METER, "energy_import", "3 value bytes"),
        (Frame(METER, 0x91, H("00 00")), METER, "energy_import", "DI"),
        (Frame(METER, 0x91, H("00 00 01 00 6A 45 23 01")), METER, "energy_import", "not BCD"),
    ],
)
def test_replies_that_do_not_answer_the_request_are_refused(frame, address, metric, why):
    with pytest.raises(ReplyError, match=why):
        dlt645.parse_read_reply(frame, address, BY_METRIC[metric])


def test_a_wildcard_read_accepts_the_reply_of_any_meter():
    frame = dlt645.parse_frame(ENERGY_READING)
    assert dlt645.parse_read_reply(frame, WILDCARD, BY_METRIC["energy_import"]) == 12345.67


@pytest.mark.parametrize(
    "address", ["12345678901", "1234567890123", "12345678901A", "aaaaaaaaaaaa"]
)
def test_addresses_are_twelve_digits_or_the_wildcard(address):
    with pytest.raises(ValueError, match="12 decimal digits"):
        dlt645.encode_address(address)


def test_the_decoder_finds_frames_split_anywhere_and_skips_preambles():
    stream = b"\xfe\xfe\xfe\xfe" + ENERGY_READING + b"\xfe\xfe" + POWER_NEGATIVE
    for cut in range(len(stream) + 1):
        decoder = FrameDecoder()
        frames = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert [f.data[:4] for f in frames] == [H("00 00 01 00"), H("00 00 03 02")]
        assert (decoder.frames, decoder.garbage_bytes, decoder.checksum_errors) == (2, 0, 0)


def test_the_decoder_resynchronises_after_garbage_and_damaged_frames():
    damaged = ENERGY_READING[:-2] + b"\x00\x16"
    garbage = H("68 00 68 16 33 68 68")  # start bytes that lead nowhere
    decoder = FrameDecoder()
    frames = decoder.feed(garbage + damaged + ERROR_NO_DATA + b"\x01\x02" + ENERGY_READING)
    assert [f.control for f in frames] == [0xD1, 0x91]
    assert decoder.checksum_errors == 1
    assert decoder.garbage_bytes == len(garbage) + len(damaged) + 2


def test_a_good_frame_inside_a_damaged_one_is_found():
    decoder = FrameDecoder()
    frames = decoder.feed(ENERGY_READING[:9] + ERROR_NO_DATA)
    assert [f.control for f in frames] == [0xD1]
    assert decoder.garbage_bytes == 9


@given(st.binary(max_size=300))
def test_the_decoder_never_raises_and_still_finds_the_next_frame(data):
    decoder = FrameDecoder()
    frames = decoder.feed(data) + decoder.feed(ENERGY_READING)
    assert frames[-1] == dlt645.parse_frame(ENERGY_READING)


def test_the_identifier_table_maps_to_catalog_metrics_in_their_units():
    assert len(BY_CODE) == len(BY_METRIC) == len(IDENTIFIERS)
    units = {"energy_import": "kWh", "active_power": "kW", "voltage": "V", "current": "A"}
    for item in IDENTIFIERS:
        assert item.metric in CATALOG
        if item.metric in units:
            assert CATALOG[item.metric].unit == units[item.metric]
    assert BY_METRIC["energy_import"].code == 0x00010000
    assert BY_METRIC["energy_export"].code == 0x00020000
    assert BY_METRIC["energy_total"].code == 0x00000000


@pytest.mark.parametrize(
    ("scaling", "factor"),
    [(Scaling.NONE, 1.0), (Scaling.CT, 40.0), (Scaling.VT, 100.0), (Scaling.CT_VT, 4000.0)],
)
def test_transformer_ratios_scale_only_the_values_they_affect(scaling, factor):
    assert scaling.factor(40.0, 100.0) == factor
