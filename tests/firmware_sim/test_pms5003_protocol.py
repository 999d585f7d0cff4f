import pytest

from firmware_sim.pms5003 import (
    Command,
    CommandError,
    CommandScanner,
    Measurement,
    encode_command,
    encode_frame,
    parse_command,
)

SAMPLE = Measurement(
    pm1_cf1=12,
    pm25_cf1=20,
    pm10_cf1=25,
    pm1_atm=12,
    pm25_atm=20,
    pm10_atm=25,
    counts=(2000, 600, 100, 10, 2, 1),
)
# Laid out by hand from the reference: start, length 28, 6 PM words, 6 counts, reserved, sum.
SAMPLE_FRAME = bytes.fromhex(
    "424d 001c 000c 0014 0019 000c 0014 0019 07d0 0258 0064 000a 0002 0001 0000 02bf"
)

# The command vectors of the protocol reference, PMS5003 section.
COMMANDS = [
    (Command.PASSIVE_MODE, "42 4D E1 00 00 01 70"),
    (Command.ACTIVE_MODE, "42 4D E1 00 01 01 71"),
    (Command.READ, "42 4D E2 00 00 01 71"),
    (Command.SLEEP, "42 4D E4 00 00 01 73"),
    (Command.WAKE, "42 4D E4 00 01 01 74"),
]


def test_frame_matches_the_reference_layout():
    assert encode_frame(SAMPLE) == SAMPLE_FRAME


def test_frame_checksum_is_the_16_bit_sum_of_bytes_0_to_29():
    frame = encode_frame(
        Measurement(999, 999, 999, 999, 999, 999, (65535, 65535, 65535, 65535, 65535, 65535))
    )
    assert len(frame) == 32
    assert frame[30:] == sum(frame[:30]).to_bytes(2, "big")  # 30 bytes can never exceed 16 bits
    assert frame[30] > 0  # both checksum bytes carry information


def test_frame_refuses_words_wider_than_16_bits():
    with pytest.raises(ValueError, match=r"0\.\.65535"):
        encode_frame(Measurement(70000, 0, 0, 0, 0, 0, (0, 0, 0, 0, 0, 0)))


@pytest.mark.parametrize(("command", "wire"), COMMANDS)
def test_commands_parse_from_the_reference_vectors(command, wire):
    assert parse_command(bytes.fromhex(wire)) is command


@pytest.mark.parametrize(("command", "wire"), COMMANDS)
def test_commands_encode_to_the_reference_vectors(command, wire):
    assert encode_command(command) == bytes.fromhex(wire)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("42 4D E1 00 00 01 71", "checksum"),
        ("42 4D E1 00 00 01", "7 bytes"),
        ("42 4E E1 00 00 01 70", "start"),
        ("42 4D E3 00 00 01 72", "unknown"),
    ],
)
def test_bad_commands_are_rejected_with_a_reason(raw, why):
    with pytest.raises(CommandError, match=why):
        parse_command(bytes.fromhex(raw))


def test_scanner_finds_commands_between_garbage_and_across_chunks():
    stream = (
        b"\x00\x42"
        + encode_command(Command.PASSIVE_MODE)
        + bytes.fromhex("42 4D E2 00 00 01 00")  # bad checksum
        + b"\xff"
        + encode_command(Command.READ)
        + encode_command(Command.SLEEP)
    )
    scanner = CommandScanner()
    found = []
    for i in range(0, len(stream), 3):
        found += scanner.feed(stream[i : i + 3])
    assert found == [Command.PASSIVE_MODE, Command.READ, Command.SLEEP]
    assert scanner.rejected == 1
