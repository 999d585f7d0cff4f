"""DL/T 645-2007 data items: identifiers, their BCD value formats, and the metrics they become.

A read reply carries the 4-byte data identifier (DI), then the value in BCD, lowest byte first
(without the +0x33 of the wire, which :mod:`edge.protocols.dlt645` removes). Where a format has
a sign, it is the top bit of the highest byte. Each identifier maps to a metric id of the
telemetry catalog and says which transformer ratios its value scales with.
"""

from dataclasses import dataclass
from enum import StrEnum

_SIGN = 0x80


class ReplyError(ValueError):
    """A valid frame that is not the answer to the request: wrong control, DI, length or BCD."""


class Scaling(StrEnum):
    """Which transformer ratios a value scales with.

    A meter behind current (CT) or voltage (VT) transformers measures their secondary side: the
    host multiplies the values by the ratios (the meter's "倍率").
    """

    NONE = "none"  # power factor, frequency
    CT = "ct"  # currents
    VT = "vt"  # voltages
    CT_VT = "ct_vt"  # powers and energies

    def factor(self, ct_ratio: float, vt_ratio: float) -> float:
        """What a secondary-side value is multiplied by."""
        ct = ct_ratio if self in {Scaling.CT, Scaling.CT_VT} else 1.0
        vt = vt_ratio if self in {Scaling.VT, Scaling.CT_VT} else 1.0
        return ct * vt


@dataclass(frozen=True, slots=True)
class DataIdentifier:
    """One data item of a meter: its DI and the BCD format of its value."""

    code: int  # the DI, e.g. 0x00010000
    metric: str  # metric id in the telemetry catalog
    size: int  # bytes of BCD
    decimals: int  # digits after the decimal point
    source: str  # where the DI and format come from
    signed: bool = False  # the top bit of the highest byte is a sign
    scaling: Scaling = Scaling.NONE

    def decode(self, raw: bytes) -> float:
        """The value of ``raw`` (BCD, lowest byte first, without the +0x33).

        Raises:
            ReplyError: the wrong length, or a nibble that is not a decimal digit.
        """
        if len(raw) != self.size:
            raise ReplyError(f"{self.metric}: {len(raw)} value bytes, expected {self.size}")
        return decode_bcd(raw, decimals=self.decimals, signed=self.signed)


_REFERENCE = "Lantian protocol reference, DL/T 645-2007 section"
# The DIs and formats below the energies are not in the reference. They follow the open-source
# 600888/dlt645 library, go/config/variable_types.json (DI, format XXX.X etc.) (verify); the
# byte sizes and signs follow chinawrj/esphome-component-dlt645, dlt645.cpp,
# parse_dlt645_data_by_identifier (2 bytes unsigned voltage, 3 bytes signed current and power,
# 2 bytes signed power factor) (verify).
_LIBRARIES = "600888/dlt645 variable_types.json; esphome-component-dlt645 (verify)"
_S = Scaling
IDENTIFIERS = (
    DataIdentifier(0x00010000, "energy_import", 4, 2, _REFERENCE, scaling=_S.CT_VT),
    DataIdentifier(0x00020000, "energy_export", 4, 2, _REFERENCE, scaling=_S.CT_VT),
    # combined active total; the libraries found read it unsigned XXXXXX.XX (verify)
    DataIdentifier(0x00000000, "energy_total", 4, 2, _REFERENCE, scaling=_S.CT_VT),
    DataIdentifier(0x02010100, "voltage", 2, 1, _LIBRARIES, scaling=_S.VT),  # phase A
    DataIdentifier(0x02020100, "current", 3, 3, _LIBRARIES, signed=True, scaling=_S.CT),  # phase A
    DataIdentifier(0x02030000, "active_power", 3, 4, _LIBRARIES, signed=True, scaling=_S.CT_VT),
    DataIdentifier(0x02060000, "power_factor", 2, 3, _LIBRARIES, signed=True),
    DataIdentifier(0x02800002, "frequency", 2, 2, _LIBRARIES),
)
BY_METRIC = {i.metric: i for i in IDENTIFIERS}
BY_CODE = {i.code: i for i in IDENTIFIERS}


def decode_bcd(raw: bytes, *, decimals: int, signed: bool = False) -> float:
    """A BCD number, lowest byte first; with ``signed``, the top bit of the last byte is a sign.

    Raises:
        ReplyError: a nibble is not a decimal digit.
    """
    negative = signed and bool(raw) and bool(raw[-1] & _SIGN)
    digits = raw[:-1] + bytes((raw[-1] & ~_SIGN,)) if negative else raw
    text = digits[::-1].hex()
    if not text.isdecimal():
        raise ReplyError(f"not BCD: {raw.hex(' ')}")
    magnitude = int(text) / 10.0**decimals
    return -magnitude if negative else magnitude


def encode_bcd(value: float, *, size: int, decimals: int, signed: bool = False) -> bytes:
    """``value`` as ``size`` BCD bytes, lowest byte first (the inverse of :func:`decode_bcd`).

    Raises:
        ValueError: it does not fit (or is negative and ``signed`` is false).
    """
    scaled = round(abs(value) * 10**decimals)
    text = f"{scaled:0{2 * size}d}"
    if len(text) > 2 * size or (value < 0 and not signed) or (signed and text[0] > "7"):
        raise ValueError(f"{value} does not fit in {size} BCD bytes with {decimals} decimals")
    raw = bytearray(bytes.fromhex(text)[::-1])
    if value < 0 and scaled:
        raw[-1] |= _SIGN
    return bytes(raw)


def hex_di(code: int) -> str:
    """A DI as it is printed in tables: ``02010100``."""
    return f"{code:08X}"
