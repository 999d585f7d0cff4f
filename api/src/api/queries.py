"""Checks the reading and report routes share: a known metric, a sane window.

Each raises :class:`fastapi.HTTPException` 422 with a sentence the caller can act on. Whether
a site, gateway or enterprise exists and is the caller's is :mod:`api.security.boundary`'s.
"""

from datetime import UTC, date, datetime, timedelta

from fastapi import HTTPException, status

from telemetry import CATALOG
from telemetry.payload import MAX_TS_MS, MIN_TS_MS

# The range the wire contract allows a reading's timestamp (telemetry.payload); outside it a
# window is a caller's typo, and InfluxDB (int64 nanoseconds) cannot even parse far-off years.
_EARLIEST = datetime.fromtimestamp(MIN_TS_MS / 1000, UTC)
_LATEST = datetime.fromtimestamp(MAX_TS_MS / 1000, UTC)


def known_metric(metric: str) -> None:
    """422 unless ``metric`` is in the telemetry catalog, listing the known ones."""
    if metric not in CATALOG:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown metric {metric!r}; known metrics: {', '.join(sorted(CATALOG))}",
        )


def checked_window(
    start: datetime | None, end: datetime | None, *, default: timedelta, max_days: int, what: str
) -> tuple[int, int]:
    """``[start, end)`` in UTC epoch ms: end defaults to now, start to ``default`` before it.

    Raises:
        HTTPException: 422 when start is not before end, a bound lies outside the range a
            reading's timestamp may have, or the window is longer than ``max_days`` (``what``
            names the series in the message).
    """
    end = end or datetime.now(UTC)
    start = start or end - default
    if start >= end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "start must be before end")
    if start < _EARLIEST or end > _LATEST:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"start and end must lie between {_EARLIEST.isoformat()} and {_LATEST.isoformat()},"
            " the range a reading's timestamp may have",
        )
    if end - start > timedelta(days=max_days):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{what} covers at most {max_days} days"
        )
    return epoch_ms(start), epoch_ms(end)


def check_days(*days: date) -> None:
    """422 unless every day lies in the range a reading's timestamp may have (UTC days)."""
    if any(not _EARLIEST.date() <= day < _LATEST.date() for day in days):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"days must lie between {_EARLIEST.date().isoformat()} and"
            f" {_LATEST.date().isoformat()}, the range a reading's timestamp may have",
        )


def epoch_ms(moment: datetime) -> int:
    """An aware datetime as UTC epoch milliseconds."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def utc(epoch: int) -> datetime:
    """UTC epoch milliseconds as an aware UTC datetime."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch)
