import pytest

from firmware_sim.modbus import (
    ExceptionCode,
    FunctionCode,
    MbapDecoder,
    MbapError,
    ModbusError,
    ReadRegisters,
    RtuFrame,
    RtuRequestDecoder,
    TcpFrame,
    WriteRegisters,
    crc16,
    encode_exception,
    encode_read_response,
    encode_rtu,
    encode_tcp,
    encode_write_response,
    parse_read_response,
    parse_request,
    read_request,
    write_request,
)

H = bytes.fromhex

# (slave, PDU, the whole RTU frame). The first two are the example frames of the protocol
# reference (Eastron section); "01 03 00 00 00 0A C5 CD" and "01 83 02 C0 F1" are the textbook
# examples of Modbus over Serial Line; the others were laid out by hand.
RTU_REQUESTS = [
    (1, "04 0000 0002", "01 04 00 00 00 02 71 CB"),  # SDM120 voltage
    (1, "04 0048 0002", "01 04 00 48 00 02 F1 DD"),  # SDM120 import kWh
    (1, "03 0000 000A", "01 03 00 00 00 0A C5 CD"),
    (2, "04 0000 0002", "02 04 00 00 00 02 71 F8"),
    (1, "10 0014 0002 04 3F80 0000", "01 10 00 14 00 02 04 3F 80 00 00 FE AC"),
]
RTU_REPLIES = [
    (1, "83 02", "01 83 02 C0 F1"),
    (1, "84 02", "01 84 02 C2 C1"),
    (1, "03 04 3F80 0000", "01 03 04 3F 80 00 00 F7 CF"),
]


@pytest.mark.parametrize(("slave", "pdu", "frame"), RTU_REQUESTS + RTU_REPLIES)
def test_rtu_frames_carry_the_modbus_crc_low_byte_first(slave, pdu, frame):
    assert encode_rtu(slave, H(pdu)) == H(frame)
    assert crc16(H(frame)[:-2]) == int.from_bytes(H(frame)[-2:], "little")


@pytest.mark.parametrize(("slave", "pdu", "frame"), RTU_REQUESTS)
def test_rtu_decoder_returns_each_reference_request(slave, pdu, frame):
    assert RtuRequestDecoder().feed(H(frame)) == [RtuFrame(slave, H(pdu))]


def test_crc_of_a_frame_including_its_crc_is_zero():
    assert crc16(H("01 04 00 00 00 02 71 CB")) == 0


@pytest.mark.parametrize(
    ("pdu", "parsed"),
    [
        ("04 0000 0002", ReadRegisters(FunctionCode.READ_INPUT_REGISTERS, 0, 2)),
        ("03 0014 0002", ReadRegisters(FunctionCode.READ_HOLDING_REGISTERS, 0x14, 2)),
        ("04 0156 007D", ReadRegisters(FunctionCode.READ_INPUT_REGISTERS, 0x156, 125)),
        ("06 001C 0002", WriteRegisters(FunctionCode.WRITE_SINGLE_REGISTER, 0x1C, (2,))),
        (
            "10 0012 0002 04 3F80 0000",
            WriteRegisters(FunctionCode.WRITE_MULTIPLE_REGISTERS, 0x12, (0x3F80, 0)),
        ),
    ],
)
def test_requests_parse(pdu, parsed):
    assert parse_request(H(pdu)) == parsed


@pytest.mark.parametrize(
    ("pdu", "code"),
    [
        ("", ExceptionCode.ILLEGAL_FUNCTION),
        ("05 0001 FF00", ExceptionCode.ILLEGAL_FUNCTION),  # write single coil
        ("01 0000 0008", ExceptionCode.ILLEGAL_FUNCTION),  # read coils
        ("2B 0E 01 00", ExceptionCode.ILLEGAL_FUNCTION),  # read device identification
        ("04 0000 0000", ExceptionCode.ILLEGAL_DATA_VALUE),  # count 0
        ("04 0000 007E", ExceptionCode.ILLEGAL_DATA_VALUE),  # count 126 > 125
        ("03 0000", ExceptionCode.ILLEGAL_DATA_VALUE),  # truncated
        ("04 0000 0002 00", ExceptionCode.ILLEGAL_DATA_VALUE),  # one byte too many
        ("10 0012 0002 02 3F80", ExceptionCode.ILLEGAL_DATA_VALUE),  # byte count != 2 * count
        ("10 0012 0002 04 3F80", ExceptionCode.ILLEGAL_DATA_VALUE),  # data shorter than said
        ("10 0012 007C F8" + " 0000" * 124, ExceptionCode.ILLEGAL_DATA_VALUE),  # 124 > 123
        ("10 0012", ExceptionCode.ILLEGAL_DATA_VALUE),
    ],
)
def test_bad_requests_raise_the_exception_code_to_answer(pdu, code):
    with pytest.raises(ModbusError) as raised:
        parse_request(H(pdu))
    assert raised.value.code is code


@pytest.mark.parametrize(
    ("encoded", "pdu"),
    [
        (
            encode_read_response(FunctionCode.READ_INPUT_REGISTERS, (0x4366, 0x3333)),
            "04 04 4366 3333",
        ),
        (encode_read_response(FunctionCode.READ_HOLDING_REGISTERS, ()), "03 00"),
        (encode_exception(0x04, ExceptionCode.ILLEGAL_DATA_ADDRESS), "84 02"),
        (encode_exception(0x05, ExceptionCode.ILLEGAL_FUNCTION), "85 01"),
        (encode_exception(0x03, ExceptionCode.SLAVE_DEVICE_BUSY), "83 06"),
        (encode_exception(0x10, ExceptionCode.ILLEGAL_DATA_VALUE), "90 03"),
        (encode_exception(0x03, ExceptionCode.GATEWAY_TARGET_FAILED), "83 0B"),
        (
            encode_write_response(WriteRegisters(FunctionCode.WRITE_SINGLE_REGISTER, 0x1C, (2,))),
            "06 001C 0002",
        ),
        (
            encode_write_response(
                WriteRegisters(FunctionCode.WRITE_MULTIPLE_REGISTERS, 0x12, (1, 2, 3, 4))
            ),
            "10 0012 0004",
        ),
        (read_request(FunctionCode.READ_INPUT_REGISTERS, 0x48, 2), "04 0048 0002"),
        (write_request(0x14, (0x4000, 0)), "10 0014 0002 04 4000 0000"),
    ],
)
def test_pdus_encode_byte_for_byte(encoded, pdu):
    assert encoded == H(pdu)


def test_read_responses_parse_and_exception_replies_raise_their_code():
    assert parse_read_response(H("04 04 4366 3333")) == (0x4366, 0x3333)
    with pytest.raises(ModbusError) as raised:
        parse_read_response(H("84 06"))
    assert raised.value.code is ExceptionCode.SLAVE_DEVICE_BUSY
    with pytest.raises(ModbusError, match="malformed"):
        parse_read_response(H("04 04 4366"))


def test_rtu_decoder_resynchronises_after_garbage_and_bad_crc_across_chunks():
    good = H("01 04 00 00 00 02 71 CB")
    other = H("02 04 00 00 00 02 71 F8")
    stream = (
        H("FF 00 13")
        + H("01 04 00 48 00 02 F1 DE")  # one bit off in the CRC
        + good
        + H("01 10 00 14 00 02 04 3F 80 00 00 FE AC")
        + other
    )
    decoder = RtuRequestDecoder()
    frames = []
    for i in range(0, len(stream), 3):
        frames += decoder.feed(stream[i : i + 3])
    assert [f.address for f in frames] == [1, 1, 2]
    assert frames[0].pdu == good[1:-2]
    assert frames[1].pdu == H("10 00 14 00 02 04 3F 80 00 00")
    assert decoder.rejected == 3 + 8
    assert decoder.pending == 0


def test_rtu_decoder_waits_for_the_rest_of_a_frame_and_discard_drops_it():
    decoder = RtuRequestDecoder()
    assert decoder.feed(H("01 04 00 00")) == []
    assert decoder.pending == 4
    assert decoder.discard() == 4
    assert decoder.feed(H("01 04 00 00 00 02 71 CB")) == [RtuFrame(1, H("04 00 00 00 02"))]
    assert decoder.rejected == 4


def test_rtu_decoder_skips_bytes_that_start_no_public_function_request():
    user_defined = encode_rtu(1, H("41 00 00"))  # function 0x41: user-defined, length unknown
    good = H("01 04 00 00 00 02 71 CB")
    decoder = RtuRequestDecoder()
    assert decoder.feed(user_defined + good) == [RtuFrame(1, H("04 00 00 00 02"))]
    assert decoder.rejected == len(user_defined)


def test_rtu_decoder_knows_the_length_of_other_public_functions():
    requests = [
        encode_rtu(1, H("2B 0E 01 00")),  # read device identification
        encode_rtu(1, H("08 0000 A537")),  # diagnostics: return query data
        encode_rtu(1, H("11")),  # report server id
        encode_rtu(1, H("17 0000 0001 0010 0001 02 00FF")),  # read/write multiple registers
    ]
    decoder = RtuRequestDecoder()
    frames = [f for r in requests for f in decoder.feed(r)]
    assert [f.pdu[0] for f in frames] == [0x2B, 0x08, 0x11, 0x17]
    assert decoder.rejected == 0


def test_tcp_frames_carry_the_mbap_header():
    assert encode_tcp(0x1234, 1, H("04 0000 0002")) == H("1234 0000 0006 01 04 0000 0002")
    assert encode_tcp(7, 0xFF, H("84 02")) == H("0007 0000 0003 FF 84 02")


def test_mbap_decoder_splits_a_stream_in_chunks():
    stream = H("0001 0000 0006 01 04 0000 0002") + H("0002 0000 0006 02 03 0014 0002")
    decoder = MbapDecoder()
    frames = []
    for i in range(0, len(stream), 5):
        frames += decoder.feed(stream[i : i + 5])
    assert frames == [
        TcpFrame(1, 1, H("04 0000 0002")),
        TcpFrame(2, 2, H("03 0014 0002")),
    ]


@pytest.mark.parametrize(
    ("header", "why"),
    [
        ("0001 0001 0006 01", "protocol id 1"),
        ("0001 0000 0001 01", "length 1"),
        ("0001 0000 00FF 01", "length 255"),
    ],
)
def test_mbap_decoder_refuses_headers_no_modbus_peer_sends(header, why):
    with pytest.raises(MbapError, match=why):
        MbapDecoder().feed(H(header))
