"""InfluxQL without I/O: quoting what cannot be bound, and reading ``/query`` answers.

Values always travel as bound parameters (``$name`` in the text, ``params`` beside it), which
InfluxDB supports since 1.2. Identifiers (databases, retention policies, measurements) and the
duration literals of DDL statements cannot be bound: :func:`quote_identifier` and
:func:`check_duration` make them safe to put into the text.

A ``/query`` answer holds one result per statement, each with its series or its own ``error``;
:func:`parse_results` turns it into :class:`Series` or raises :class:`InfluxQueryError`, and
:func:`series_frame` lays series out as one pandas frame.
"""

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from store.errors import InfluxQueryError

if TYPE_CHECKING:
    import pandas as pd

QueryValue = str | int | float | bool | None
ParamValue = str | int | float | bool

# Duration literals (``30d``, ``1h30m``) and ``INF``, as the InfluxQL grammar defines them.
_DURATION = re.compile(r"INF|inf|(?:[0-9]+(?:ns|u|µ|ms|s|m|h|d|w))+")


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a query result: a measurement, its group-by tags, and a table of values.

    InfluxDB's JSON writes a float without its fractional part when it has none, so a float
    field holding 35.0 reads back as the int 35 (and -0.0 as 0): compare values as numbers.
    """

    name: str
    tags: Mapping[str, str]
    columns: tuple[str, ...]
    values: tuple[tuple[QueryValue, ...], ...]

    def rows(self) -> Iterator[dict[str, Any]]:
        """Each row as a dict of the series' tags and the row's columns (``time`` in epoch ms).

        Typed ``Any`` because the statement, not this adapter, decides what each column holds;
        a caller converts with ``int(...)``, ``float(...)`` or its own enum.
        """
        for row in self.values:
            yield {**self.tags, **dict(zip(self.columns, row, strict=True))}


def quote_identifier(name: str) -> str:
    """An identifier in double quotes, escaped as InfluxQL's own ``QuoteIdent`` does."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def check_duration(duration: str) -> str:
    """Return ``duration`` if it is an InfluxQL duration literal, else raise ValueError."""
    if not _DURATION.fullmatch(duration):
        raise ValueError(f"{duration!r} is not an InfluxQL duration such as 30d, 1h30m or INF")
    return duration


def parse_results(influxql: str, body: object, *, status: int) -> list[Series]:
    """The series of every statement of a ``/query`` answer, in order.

    Raises:
        InfluxQueryError: the answer reports an error for the query or for one statement.
    """
    if not isinstance(body, dict):
        raise InfluxQueryError(influxql, f"unexpected answer {body!r:.200}", status=status)
    if "error" in body:
        raise InfluxQueryError(influxql, str(body["error"]), status=status)
    series: list[Series] = []
    for result in body.get("results", []):
        if "error" in result:
            raise InfluxQueryError(
                influxql,
                str(result["error"]),
                status=status,
                statement_id=result.get("statement_id"),
            )
        series.extend(_series(raw) for raw in result.get("series", []))
    return series


def series_frame(series: Sequence[Series]) -> "pd.DataFrame":
    """All series as one frame: ``time`` (tz-aware UTC), the group-by tags, then the columns.

    With no series the frame is empty but still has its ``time`` column, with the same dtype.
    InfluxDB sends no column names for an empty result, so no others can be known.
    """
    # pandas takes over a second to import; services that never build frames skip it.
    import pandas as pd  # noqa: PLC0415

    frames = []
    for one in series:
        frame = pd.DataFrame(list(one.values), columns=list(one.columns), dtype=object)
        after_time = 1 if "time" in frame.columns else 0
        for position, key in enumerate(sorted(set(one.tags) - set(one.columns))):
            frame.insert(after_time + position, key, one.tags[key])
        frames.append(frame)
    if not frames:
        return pd.DataFrame({"time": _utc_times(pd.Series([], dtype="int64"))})
    # object dtype until every series is in: a column must not be cast per series first.
    frame = pd.concat(frames, ignore_index=True).infer_objects()
    if "time" in frame.columns:
        frame["time"] = _utc_times(frame["time"])
    return frame


def _series(raw: Mapping[str, Any]) -> Series:
    return Series(
        name=str(raw.get("name", "")),
        tags=dict(raw.get("tags") or {}),
        columns=tuple(raw.get("columns", ())),
        values=tuple(tuple(row) for row in raw.get("values", ())),
    )


def _utc_times(epoch_ms: "pd.Series[Any]") -> "pd.Series[Any]":
    import pandas as pd  # noqa: PLC0415 - see series_frame

    return pd.to_datetime(epoch_ms.astype("int64"), unit="ms", utc=True)
