"""InfluxDB line protocol: points to text, without I/O.

One point is one line::

    measurement,tag_key=tag_value,... field_key=field_value,... timestamp

Escaping follows the InfluxDB 1.x line protocol reference: a backslash before a comma or space
in the measurement; before a comma, equals sign or space in tag keys, tag values and field keys;
before a double quote or backslash inside a string field value. Integers carry an ``i`` suffix,
booleans are ``true``/``false``, floats are written with Python's ``repr`` (the shortest text that
reads back as the same float). Tags are sorted by key, the order InfluxDB sorts them into itself
and recommends for write performance. Timestamps are UTC epoch milliseconds (``precision=ms``).

What InfluxDB would refuse or silently misread raises :class:`LineProtocolError` here instead:
a point without fields, NaN or infinity, integers beyond int64, line breaks in names, a name
ending in a backslash or with a backslash before a character 1.x unescapes (it cannot read such
names back), the key ``time``, and a measurement starting with ``#`` (a comment line to InfluxDB).
Empty tag values are left out: InfluxDB refuses them, and an absent tag means the same.
"""

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from store.errors import LineProtocolError

FieldValue = float | int | str | bool

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ "})
_KEY_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"'})

# Characters that InfluxDB 1.x reads as escaped when a backslash precedes them, measured on 1.6
# by writing every short combination and reading it back. A literal backslash before one of
# them, or at the end of a name, cannot be written, since a backslash itself is never escaped.
_MEASUREMENT_UNESCAPES = ', ="'
_TAG_UNESCAPES = ",= "
_FIELD_KEY_UNESCAPES = ',= "'


@dataclass(frozen=True, slots=True)
class Point:
    """One point: a measurement, its identifying tags, its values, and when (UTC epoch ms)."""

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    time_ms: int


def encode_point(point: Point) -> str:
    """The line of one point, without a trailing newline.

    Raises:
        LineProtocolError: the point cannot be written faithfully (see the module docstring).
    """
    measurement = point.measurement
    _check_name(measurement, measurement, "measurement", _MEASUREMENT_UNESCAPES)
    if measurement.startswith("#"):
        raise LineProtocolError(measurement, "a measurement starting with '#' is a comment line")
    parts = [measurement.translate(_MEASUREMENT_ESCAPES)]
    for key in sorted(point.tags):
        tag_value = point.tags[key]
        if tag_value == "":  # InfluxDB refuses empty tag values; an absent tag means the same
            continue
        _check_key(measurement, key, "tag key", _TAG_UNESCAPES)
        _check_name(measurement, tag_value, f"value of tag {key!r}", _TAG_UNESCAPES)
        parts.append(f"{key.translate(_KEY_ESCAPES)}={tag_value.translate(_KEY_ESCAPES)}")
    fields = []
    for key, value in point.fields.items():
        _check_key(measurement, key, "field key", _FIELD_KEY_UNESCAPES)
        fields.append(f"{key.translate(_KEY_ESCAPES)}={_field_value(measurement, key, value)}")
    if not fields:
        raise LineProtocolError(measurement, "a point needs at least one field")
    if isinstance(point.time_ms, bool) or not isinstance(point.time_ms, int):
        raise LineProtocolError(measurement, f"time_ms must be an int, got {point.time_ms!r}")
    return f"{','.join(parts)} {','.join(fields)} {point.time_ms}"


def encode_points(points: Iterable[Point]) -> Iterator[str]:
    """The lines of many points, in order."""
    for point in points:
        yield encode_point(point)


def _field_value(measurement: str, key: str, value: FieldValue) -> str:
    # bool before int: True is an int to Python, but a boolean to InfluxDB.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise LineProtocolError(measurement, f"field {key!r}: {value} does not fit in int64")
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LineProtocolError(measurement, f"field {key!r}: {value} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return f'"{value.translate(_STRING_ESCAPES)}"'
    raise LineProtocolError(
        measurement, f"field {key!r}: {type(value).__name__} is not a line protocol type"
    )


def _check_key(measurement: str, key: str, what: str, unescapes: str) -> None:
    _check_name(measurement, key, what, unescapes)
    if key == "time":  # InfluxDB 1.x drops such points: time is the timestamp column
        raise LineProtocolError(measurement, f"{what} 'time' is reserved")


def _check_name(measurement: str, name: str, what: str, unescapes: str) -> None:
    if not isinstance(name, str) or name == "":
        raise LineProtocolError(measurement, f"{what} must be a non-empty string, got {name!r}")
    if "\n" in name or "\r" in name:
        raise LineProtocolError(measurement, f"{what} {name!r} contains a line break")
    for index, char in enumerate(name):
        if char == "\\" and (index + 1 == len(name) or name[index + 1] in unescapes):
            raise LineProtocolError(
                measurement, f"{what} {name!r} has a backslash InfluxDB cannot read back"
            )
