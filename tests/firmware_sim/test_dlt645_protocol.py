import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_sim import dlt645
from firmware_sim.dlt645 import ITEM_FORMATS, WILDCARD, Code, ItemFormat, Request, RequestScanner

H = bytes.fromhex
METER = dlt645.address_field("123456789012")
READ_ENERGY_WILDCARD = H("68 AA AA AA AA AA AA 68 11 04 33 33 34 33 AE 16")
READ_ENERGY_METER = H("68 12 90 78 56 34 12 68 11 04 33 33 34 33 68 16")


def test_addresses_go_on_the_wire_lowest_byte_first():
    assert H("12 90 78 56 34 12") == METER
    assert dlt645.address_field("000000004521") == H("21 45 00 00 00 00")
    with pytest.raises(ValueError, match="12 digits"):
        dlt645.address_field("12345678901A")


@pytest.mark.parametrize(
    ("wire", "address"),
    [(READ_ENERGY_WILDCARD, WILDCARD), (READ_ENERGY_METER, METER)],
)
def test_the_verified_read_requests_are_understood(wire, address):
    for preamble in (b"", b"\xfe\xfe\xfe\xfe"):
        (request,) = RequestScanner().feed(preamble + wire)
        assert request == Request(address, Code.READ, H("00 00 01 00"))
        assert request.identifier == 0x00010000
    assert dlt645.frame(address, Code.READ, H("00 00 01 00"), preamble=False) == wire


@pytest.mark.parametrize(
    ("reply", "wire"),
    [
        (
            dlt645.read_reply(METER, 0x00010000, H("67 45 23 01"), preamble=False),
            "68 12 90 78 56 34 12 68 91 08 33 33 34 33 9A 78 56 34 88 16",
        ),
        (
            dlt645.error_reply(METER, dlt645.ERROR_NO_DATA, preamble=False),
            "68 12 90 78 56 34 12 68 D1 01 35 8D 16",
        ),
        (
            dlt645.address_reply(METER, preamble=False),
            "68 12 90 78 56 34 12 68 93 06 45 C3 AB 89 67 45 07 16",
        ),
        (
            dlt645.read_reply(METER, 0x02030000, H("45 23 81")),
            "FE FE FE FE 68 12 90 78 56 34 12 68 91 07 33 33 36 35 78 56 B4 71 16",
        ),
    ],
)
def test_replies_byte_for_byte(reply, wire):
    assert reply == H(wire)


@pytest.mark.parametrize(
    ("value", "fmt", "raw"),
    [
        (12345.67, ITEM_FORMATS[0x00010000], "67 45 23 01"),
        (1_000_000.5, ITEM_FORMATS[0x00010000], "50 00 00 00"),  # the register rolls over
        (220.46, ITEM_FORMATS[0x02010100], "05 22"),
        (-1.2345, ITEM_FORMATS[0x02030000], "45 23 81"),
        (95.0, ITEM_FORMATS[0x02030000], "99 99 79"),  # saturates below the sign bit
        (-0.00001, ITEM_FORMATS[0x02030000], "00 00 00"),  # no minus zero
        (0.987, ITEM_FORMATS[0x02060000], "87 09"),
        (-3.0, ItemFormat(2, 1), "00 00"),  # an unsigned format has no negative values
    ],
)
def test_values_become_bcd_lowest_byte_first(value, fmt, raw):
    assert dlt645.to_bcd(value, fmt) == H(raw)


@given(st.integers(min_value=-799999, max_value=799999))
def test_signed_bcd_round_trips(units):
    fmt = ItemFormat(3, 4, signed=True)
    assert dlt645.from_bcd(dlt645.to_bcd(units / 10_000, fmt), fmt) == units / 10_000


def test_the_scanner_skips_garbage_and_counts_damaged_requests():
    damaged = READ_ENERGY_METER[:-2] + b"\x00\x16"
    scanner = RequestScanner()
    found = scanner.feed(H("00 68 01 16") + damaged + READ_ENERGY_WILDCARD[:5])
    found += scanner.feed(READ_ENERGY_WILDCARD[5:] + READ_ENERGY_METER)
    assert [r.address for r in found] == [WILDCARD, METER]
    assert scanner.rejected == 1


def test_the_read_address_request_has_no_identifier():
    (request,) = RequestScanner().feed(H("68 AA AA AA AA AA AA 68 13 00 DF 16"))
    assert (request.code, request.identifier) == (Code.READ_ADDRESS, None)
