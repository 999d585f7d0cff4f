"""The compact series notation of rule tests, after ``promtool test rules``. Pure.

A series is written as whitespace-separated items; each item stands for one or more
consecutive slots, one interval apart:

==========  ==========================================================  ===================
item        values                                                      slots
==========  ==========================================================  ===================
``35``      35                                                          1
``35x4``    35 35 35 35 35 (``a`` repeated ``n + 1`` times)              n + 1
``35+2x4``  35 37 39 41 43 (start at ``a``, then ``n`` more, ``+b`` each) n + 1
``35-2x4``  35 33 31 29 27                                              n + 1
``_``       a gap: no reading in that slot                              1
``_x4``     four gaps                                                   n
``M:35x4``  the item's values flagged ``M`` (any HJ 212 data flag)      as the item
==========  ==========================================================  ===================

The counts follow promtool's grammar exactly (``promql/parser/generated_parser.y``): a value
item with ``xn`` gives ``n + 1`` values, because promtool counts the first one apart; a gap
item ``_xn`` gives ``n`` gaps. So ``40x1439`` is a whole day of minutes, and ``_x60`` an hour
without data. Values are computed as ``a + i·b`` in decimal arithmetic, so ``1+0.1x3`` gives
1, 1.1, 1.2, 1.3 and not 1.3000000000000003. A data flag prefix applies to its own item only;
values without one are ``N``. A syntax error names the column where the offending item starts.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from telemetry import Quality

MAX_SLOTS = 1_000_000  # a series longer than this is a mistake, not a test (a year of minutes fits)

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_STEP = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_VALUE = re.compile(
    rf"(?P<start>{_NUMBER})(?:(?P<sign>[+-])(?P<step>{_STEP}))?(?:x(?P<count>\d+))?"
)
_GAP = re.compile(r"_(?:x(?P<count>\d+))?")
_FLAG = re.compile(r"(?P<flag>[^:\s]+):")
_FLAGS = ", ".join(q.value for q in Quality)


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of a series: its slot (0 for the first), value and data flag."""

    slot: int
    value: float
    quality: Quality = Quality.NORMAL


class SeriesSyntaxError(ValueError):
    """A series that does not follow the notation; ``column`` is 1-based."""

    def __init__(self, column: int, item: str, message: str) -> None:
        self.column = column
        self.item = item
        self.message = message
        super().__init__(f"column {column}: {message} (at {item!r})")


def parse_series(text: str) -> list[Sample]:
    """The samples ``text`` stands for, in slot order; gaps take slots without samples.

    Raises:
        SeriesSyntaxError: an item that is not one of the forms above, a flag that is not an
            HJ 212 data flag, or more than :data:`MAX_SLOTS` slots.
    """
    samples: list[Sample] = []
    slot = 0
    for match in re.finditer(r"\S+", text):
        item, column = match.group(), match.start() + 1
        quality, body = _flag(item, column)
        gap = _GAP.fullmatch(body)
        if gap is not None:
            if quality is not None:
                raise SeriesSyntaxError(column, item, "a gap has no value to flag")
            values: list[float] = []
            width = 1 if gap["count"] is None else int(gap["count"])
        else:
            values = _values(item, body, column)
            width = len(values)
        if slot + width > MAX_SLOTS:
            raise SeriesSyntaxError(column, item, f"the series would pass {MAX_SLOTS} slots")
        flag = quality or Quality.NORMAL
        samples.extend(Sample(slot + n, value, flag) for n, value in enumerate(values))
        slot += width
    return samples


def _flag(item: str, column: int) -> tuple[Quality | None, str]:
    match = _FLAG.match(item)
    if match is None:
        return None, item
    letter = match["flag"]
    if letter not in {q.value for q in Quality}:
        raise SeriesSyntaxError(
            column, item, f"{letter!r} is not an HJ 212 data flag (one of {_FLAGS})"
        )
    body = item[match.end() :]
    if not body:
        raise SeriesSyntaxError(column, item, f"a flag prefixes a value, as in {letter}:35x4")
    return Quality(letter), body


def _values(item: str, body: str, column: int) -> list[float]:
    match = _VALUE.fullmatch(body)
    if match is None:
        raise SeriesSyntaxError(column, item, _why(body))
    count = 0 if match["count"] is None else int(match["count"])
    if count >= MAX_SLOTS:
        raise SeriesSyntaxError(column, item, f"the series would pass {MAX_SLOTS} slots")
    if match["step"] is not None and match["count"] is None:
        raise SeriesSyntaxError(column, item, "a step needs a count, as in 35+2x4")
    start = Decimal(match["start"])
    step = Decimal(match["step"] or 0) * (-1 if match["sign"] == "-" else 1)
    if step == 0:
        return [float(start)] * (count + 1)
    return [float(start + n * step) for n in range(count + 1)]


def _why(body: str) -> str:
    if re.fullmatch(rf"{_NUMBER}(?:[+-]{_STEP})?x.*", body):
        return "the count after x must be a whole number, as in 35x4"
    if body.startswith("_"):
        return "a gap is _ or _xN, as in _x4"
    return "expected a value (35), a run (35x4, 35+2x4, 35-2x4), a gap (_, _x4) or a flag (M:35)"
