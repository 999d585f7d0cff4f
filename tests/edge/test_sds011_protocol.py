import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edge.protocols import sds011
from edge.protocols.sds011 import (
    CommandReply,
    FrameDecoder,
    FrameError,
    Sds011Frame,
    Setting,
    parse_frame,
)

ZEROS = "00 " * 10

# Data frames: the protocol reference's example first, then frames laid out by hand
# (PM little-endian in tenths of µg/m³, id big-endian, CS = sum of bytes 2..7 mod 256).
DATA_VECTORS = [
    ("AA C0 D4 04 3A 0A A1 60 1D AB", Sds011Frame(1236, 2618, 0xA160)),
    ("AA C0 5E 01 BC 02 12 34 63 AB", Sds011Frame(350, 700, 0x1234)),
    ("AA C0 0F 27 0F 27 00 00 6C AB", Sds011Frame(9999, 9999, 0x0000)),
    ("AA C0 00 00 00 00 FF FF FE AB", Sds011Frame(0, 0, 0xFFFF)),
]

# Replies of sensor A1 60: the examples of Nova Fitness's Laser Dust Sensor Control Protocol V1.3.
REPLY_VECTORS = [
    ("AA C5 02 00 00 00 A1 60 03 AB", CommandReply(0x02, (0, 0, 0), 0xA160)),  # is active
    ("AA C5 02 00 01 00 A1 60 04 AB", CommandReply(0x02, (0, 1, 0), 0xA160)),  # is query mode
    ("AA C5 02 01 01 00 A1 60 05 AB", CommandReply(0x02, (1, 1, 0), 0xA160)),  # set query mode
    ("AA C5 06 01 00 00 A1 60 08 AB", CommandReply(0x06, (1, 0, 0), 0xA160)),  # set sleep
    ("AA C5 06 01 01 00 A1 60 09 AB", CommandReply(0x06, (1, 1, 0), 0xA160)),  # set work
    ("AA C5 06 00 01 00 A1 60 08 AB", CommandReply(0x06, (0, 1, 0), 0xA160)),  # is working
    ("AA C5 08 01 01 00 A1 60 0B AB", CommandReply(0x08, (1, 1, 0), 0xA160)),  # period 1 min
    ("AA C5 07 0F 07 0A A1 60 28 AB", CommandReply(0x07, (15, 7, 10), 0xA160)),  # firmware
]

VECTORS: list[tuple[str, Sds011Frame | CommandReply]] = [*DATA_VECTORS, *REPLY_VECTORS]

# Commands: the protocol reference's vectors (id FF FF), then the datasheet's for id A1 60.
COMMANDS = [
    (sds011.query, 0xFFFF, f"AA B4 04 00 00 {ZEROS} FF FF 02 AB"),
    (sds011.query_mode, 0xFFFF, f"AA B4 02 01 01 {ZEROS} FF FF 02 AB"),
    (sds011.active_mode, 0xFFFF, f"AA B4 02 01 00 {ZEROS} FF FF 01 AB"),
    (sds011.sleep, 0xFFFF, f"AA B4 06 01 00 {ZEROS} FF FF 05 AB"),
    (sds011.wake, 0xFFFF, f"AA B4 06 01 01 {ZEROS} FF FF 06 AB"),
    (sds011.query, 0xA160, f"AA B4 04 00 00 {ZEROS} A1 60 05 AB"),
    (sds011.query_mode, 0xA160, f"AA B4 02 01 01 {ZEROS} A1 60 05 AB"),
    (sds011.sleep, 0xA160, f"AA B4 06 01 00 {ZEROS} A1 60 08 AB"),
    (sds011.wake, 0xA160, f"AA B4 06 01 01 {ZEROS} A1 60 09 AB"),
]


def frame_bytes(frame: Sds011Frame) -> bytes:
    body = (
        frame.pm25_tenths.to_bytes(2, "little")
        + frame.pm10_tenths.to_bytes(2, "little")
        + frame.device_id.to_bytes(2, "big")
    )
    return b"\xaa\xc0" + body + bytes((sum(body) % 256, 0xAB))


def test_reference_example_reads_123_6_and_261_8():
    frame = parse_frame(bytes.fromhex("AA C0 D4 04 3A 0A A1 60 1D AB"))
    assert isinstance(frame, Sds011Frame)
    assert (frame.pm25, frame.pm10) == (123.6, 261.8)


@pytest.mark.parametrize(("wire", "frame"), VECTORS)
def test_vectors_parse(wire, frame):
    assert parse_frame(bytes.fromhex(wire)) == frame


@pytest.mark.parametrize(("wire", "frame"), DATA_VECTORS)
def test_data_vectors_agree_with_the_layout(wire, frame):
    assert frame_bytes(frame) == bytes.fromhex(wire)


@pytest.mark.parametrize(("command", "device_id", "wire"), COMMANDS)
def test_commands_are_the_reference_bytes(command, device_id, wire):
    assert command(device_id) == bytes.fromhex(wire)


@pytest.mark.parametrize(("command", "device_id", "wire"), COMMANDS)
def test_command_checksum_is_the_sum_of_the_15_data_bytes(command, device_id, wire):
    raw = command(device_id)
    assert len(raw) == 19
    assert raw[17] == sum(raw[2:17]) % 256 == bytes.fromhex(wire)[17]


def test_commands_address_every_sensor_by_default():
    assert sds011.query() == sds011.query(0xFFFF)
    assert sds011.command(Setting.QUERY_DATA) == sds011.query()


@pytest.mark.parametrize(
    ("data", "device_id", "match"),
    [(b"\x00" * 13, 0xFFFF, "12 data bytes"), (b"", 0x10000, "0..0xFFFF"), (b"", -1, "0..0xFFFF")],
)
def test_command_refuses_what_does_not_fit(data, device_id, match):
    with pytest.raises(ValueError, match=match):
        sds011.command(Setting.QUERY_DATA, data, device_id)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("AA C0 D4 04 3A 0A A1 60 1E AB", "checksum"),
        ("AA C0 D4 04 3A 0B A1 60 1D AB", "checksum"),
        ("AA C0 D4 04 3A 0A A1 60 1D AC", "tail"),
        ("AB C0 D4 04 3A 0A A1 60 1D AB", "header"),
        ("AA B4 D4 04 3A 0A A1 60 1D AB", "header"),
        ("AA C0 D4 04 3A 0A A1 60 1D", "length"),
        ("AA C0 D4 04 3A 0A A1 60 1D AB 00", "length"),
    ],
)
def test_parse_frame_names_what_is_wrong(raw, reason):
    with pytest.raises(FrameError) as info:
        parse_frame(bytes.fromhex(raw))
    assert info.value.reason == reason


def test_decoder_takes_frames_and_replies_split_at_every_byte():
    stream = b"".join(bytes.fromhex(w) for w, _ in VECTORS)
    decoder = FrameDecoder()
    found = []
    for byte in stream:
        found += decoder.feed(bytes([byte]))
    assert found == [f for _, f in VECTORS]
    assert (decoder.frames, decoder.replies) == (len(DATA_VECTORS), len(REPLY_VECTORS))
    assert (decoder.checksum_errors, decoder.garbage_bytes, decoder.pending) == (0, 0, 0)


def test_decoder_counts_checksum_errors_and_discarded_bytes():
    good = bytes.fromhex(DATA_VECTORS[0][0])
    bad = bytearray(good)
    bad[4] ^= 0x10
    decoder = FrameDecoder()
    found = decoder.feed(b"\x01\x02\x03" + bytes(bad) + good + bytes(bad) + good)
    assert found == [DATA_VECTORS[0][1]] * 2
    assert decoder.checksum_errors == 2
    assert decoder.garbage_bytes == 3 + 2 * 10


def test_a_chance_head_with_a_wrong_tail_is_garbage_not_a_checksum_error():
    decoder = FrameDecoder()
    noise = bytes.fromhex("AA C0 01 02 03 04 05 06 07 08")
    assert decoder.feed(noise + bytes.fromhex(DATA_VECTORS[1][0])) == [DATA_VECTORS[1][1]]
    assert (decoder.checksum_errors, decoder.garbage_bytes) == (0, 10)


def test_decoder_keeps_only_what_may_start_a_frame():
    decoder = FrameDecoder()
    assert decoder.feed(b"\x00" * 100 + b"\xab\xaa") == []
    assert (decoder.pending, decoder.garbage_bytes) == (1, 101)
    assert decoder.feed(b"\xc5") == []
    assert decoder.pending == 2


def test_a_frame_starting_inside_a_damaged_one_is_found():
    good = bytes.fromhex(REPLY_VECTORS[3][0])
    decoder = FrameDecoder()
    # a torn frame whose 10-byte window swallows the start of the next, good, one
    assert decoder.feed(bytes.fromhex(DATA_VECTORS[0][0])[:5] + good) == [REPLY_VECTORS[3][1]]
    assert decoder.garbage_bytes == 5


frames_st = st.builds(
    Sds011Frame, st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)
)


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.tuples(st.binary(max_size=30), frames_st), max_size=12),
    tail=st.binary(max_size=20),
    cuts=st.lists(st.integers(1, 25), min_size=1, max_size=20),
)
def test_every_valid_frame_is_recovered_in_order_from_any_garbage(pieces, tail, cuts):
    stream = bytearray()
    frame_starts = set()
    for garbage, frame in pieces:
        stream += garbage
        frame_starts.add(len(stream))
        stream += frame_bytes(frame)
    stream += tail
    # Garbage that itself spells a valid frame would rightly be decoded: leave that case out.
    for i in range(len(stream) - 9):
        if i not in frame_starts:
            try:
                parse_frame(bytes(stream[i : i + 10]))
            except FrameError:
                continue
            assume(False)
    decoder = FrameDecoder()
    decoded, position, k = [], 0, 0
    while position < len(stream):
        size = cuts[k % len(cuts)]
        decoded += decoder.feed(bytes(stream[position : position + size]))
        position, k = position + size, k + 1
    assert decoded == [frame for _, frame in pieces]
    assert decoder.frames == len(pieces)
    assert decoder.garbage_bytes + decoder.pending + 10 * len(pieces) == len(stream)
