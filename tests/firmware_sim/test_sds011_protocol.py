import pytest

from firmware_sim.sds011 import (
    CommandError,
    CommandScanner,
    HostCommand,
    Kind,
    encode_command,
    encode_data_frame,
    encode_reply,
    parse_command,
)

ZEROS = "00 " * 10

# (pm25 tenths, pm10 tenths, device id) -> frame: the protocol reference's example first, then
# frames laid out by hand (PM low byte first, CS = sum of bytes 2..7 mod 256).
DATA_FRAMES = [
    ((1236, 2618, 0xA160), "AA C0 D4 04 3A 0A A1 60 1D AB"),
    ((350, 700, 0x1234), "AA C0 5E 01 BC 02 12 34 63 AB"),
    ((9999, 9999, 0x0000), "AA C0 0F 27 0F 27 00 00 6C AB"),
]

# (kind, data bytes 2.., device id) -> 19 bytes: the protocol reference's commands (id FF FF),
# then the datasheet's examples for sensor A1 60 (Laser Dust Sensor Control Protocol V1.3).
COMMANDS = [
    ((Kind.QUERY_DATA, b"", 0xFFFF), f"AA B4 04 00 00 {ZEROS} FF FF 02 AB"),
    ((Kind.REPORTING_MODE, b"\x01\x01", 0xFFFF), f"AA B4 02 01 01 {ZEROS} FF FF 02 AB"),
    ((Kind.REPORTING_MODE, b"\x01\x00", 0xFFFF), f"AA B4 02 01 00 {ZEROS} FF FF 01 AB"),
    ((Kind.SLEEP_WORK, b"\x01\x00", 0xFFFF), f"AA B4 06 01 00 {ZEROS} FF FF 05 AB"),
    ((Kind.SLEEP_WORK, b"\x01\x01", 0xFFFF), f"AA B4 06 01 01 {ZEROS} FF FF 06 AB"),
    ((Kind.QUERY_DATA, b"", 0xA160), f"AA B4 04 00 00 {ZEROS} A1 60 05 AB"),
    ((Kind.REPORTING_MODE, b"", 0xFFFF), f"AA B4 02 00 00 {ZEROS} FF FF 00 AB"),
    ((Kind.SLEEP_WORK, b"", 0xA160), f"AA B4 06 00 00 {ZEROS} A1 60 07 AB"),
    ((Kind.WORKING_PERIOD, b"\x01\x01", 0xA160), f"AA B4 08 01 01 {ZEROS} A1 60 0B AB"),
    ((Kind.FIRMWARE_VERSION, b"", 0xA160), f"AA B4 07 00 00 {ZEROS} A1 60 08 AB"),
    (
        (Kind.SET_DEVICE_ID, bytes(10) + b"\xa0\x01", 0xA160),
        "AA B4 05 00 00 00 00 00 00 00 00 00 00 A0 01 A1 60 A7 AB",
    ),
]

# The datasheet's replies of sensor A1 60.
REPLIES = [
    ((Kind.REPORTING_MODE, (0, 0, 0), 0xA160), "AA C5 02 00 00 00 A1 60 03 AB"),
    ((Kind.REPORTING_MODE, (1, 1, 0), 0xA160), "AA C5 02 01 01 00 A1 60 05 AB"),
    ((Kind.SLEEP_WORK, (1, 0, 0), 0xA160), "AA C5 06 01 00 00 A1 60 08 AB"),
    ((Kind.SLEEP_WORK, (1, 1, 0), 0xA160), "AA C5 06 01 01 00 A1 60 09 AB"),
    ((Kind.SLEEP_WORK, (0, 1, 0), 0xA160), "AA C5 06 00 01 00 A1 60 08 AB"),
    ((Kind.WORKING_PERIOD, (0, 2, 0), 0xA160), "AA C5 08 00 02 00 A1 60 0B AB"),
    ((Kind.FIRMWARE_VERSION, (15, 7, 10), 0xA160), "AA C5 07 0F 07 0A A1 60 28 AB"),
    ((Kind.SET_DEVICE_ID, (0, 0, 0), 0xA001), "AA C5 05 00 00 00 A0 01 A6 AB"),
]


@pytest.mark.parametrize(("values", "wire"), DATA_FRAMES)
def test_data_frames_match_the_reference(values, wire):
    assert encode_data_frame(*values) == bytes.fromhex(wire)


def test_data_frame_refuses_values_wider_than_16_bits():
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        encode_data_frame(65536, 0, 0xA160)


@pytest.mark.parametrize(("fields", "wire"), REPLIES)
def test_replies_match_the_datasheet(fields, wire):
    assert encode_reply(*fields) == bytes.fromhex(wire)


@pytest.mark.parametrize(("fields", "wire"), COMMANDS)
def test_commands_encode_to_the_vectors(fields, wire):
    assert encode_command(*fields) == bytes.fromhex(wire)


@pytest.mark.parametrize(("fields", "wire"), COMMANDS)
def test_commands_parse_from_the_vectors(fields, wire):
    kind, data, device_id = fields
    assert parse_command(bytes.fromhex(wire)) == HostCommand(kind, data.ljust(12, b"\0"), device_id)


def test_command_fields_read_as_the_datasheet_names_them():
    set_query_mode = parse_command(bytes.fromhex(COMMANDS[1][1]))
    assert (set_query_mode.sets, set_query_mode.value) == (True, 1)
    asks_mode = parse_command(bytes.fromhex(COMMANDS[6][1]))
    assert asks_mode.sets is False
    assert parse_command(bytes.fromhex(COMMANDS[-1][1])).new_device_id == 0xA001


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (f"AA B4 04 00 00 {ZEROS} FF FF 03 AB", "checksum"),
        (f"AA B4 04 00 00 {ZEROS} FF FF 02 AC", "end with AB"),
        (f"AA B5 04 00 00 {ZEROS} FF FF 02 AB", "start with AA B4"),
        (f"AA B4 04 00 00 {ZEROS} FF FF 02", "19 bytes"),
        (f"AA B4 03 00 00 {ZEROS} FF FF 01 AB", "unknown"),
    ],
)
def test_bad_commands_are_rejected_with_a_reason(raw, why):
    with pytest.raises(CommandError, match=why):
        parse_command(bytes.fromhex(raw))


def test_scanner_finds_commands_between_garbage_and_across_chunks():
    query, sleep, wake = (bytes.fromhex(COMMANDS[i][1]) for i in (0, 3, 4))
    broken = bytearray(sleep)
    broken[17] ^= 0xFF
    stream = b"\x00\xaa" + query + bytes(broken) + b"\xab\xaa\xb4" + wake + sleep
    scanner = CommandScanner()
    found = []
    for i in range(0, len(stream), 4):
        found += scanner.feed(stream[i : i + 4])
    assert [(c.kind, c.data[:2]) for c in found] == [
        (Kind.QUERY_DATA, b"\0\0"),
        (Kind.SLEEP_WORK, b"\x01\x01"),
        (Kind.SLEEP_WORK, b"\x01\x00"),
    ]
    assert scanner.rejected == 2  # the broken sleep, and the stray AA B4 just before the wake
