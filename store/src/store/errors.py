"""Typed errors of the InfluxDB adapter.

    InfluxError
    ├── LineProtocolError       a point that cannot be written as line protocol (nothing was sent)
    ├── InfluxUnavailableError  connection refused, timeout, or a 5xx: retry the same request later
    ├── InfluxAuthError         401 or 403: wrong credentials or a missing privilege; not retryable
    ├── InfluxWriteError        InfluxDB refused lines of a write (4xx), with its message
    └── InfluxQueryError        InfluxDB refused a statement: a parse error or a statement error

Each error carries the facts a caller decides on (status, InfluxDB's own message, how many points
were dropped), so ingest can tell "try again" from "dead-letter this batch" without parsing text.
"""

import re

_DROPPED = re.compile(r"\bdropped=(\d+)")


class InfluxError(Exception):
    """Base of every error raised by the InfluxDB adapter."""

    retryable = False
    """Whether repeating the same request later may succeed."""


class LineProtocolError(InfluxError, ValueError):
    """A point that cannot be expressed in line protocol, found before anything was sent.

    Attributes:
        measurement: the point's measurement, to find it in a batch.
        reason: what is wrong, naming the offending key.
    """

    def __init__(self, measurement: str, reason: str) -> None:
        self.measurement = measurement
        self.reason = reason
        super().__init__(f"measurement {measurement!r}: {reason}")


class InfluxUnavailableError(InfluxError):
    """InfluxDB could not be reached or failed internally; the request may be repeated.

    Writes are idempotent (same series and timestamp overwrite), so repeating a whole write after
    this error never duplicates points.

    Attributes:
        url: the URL of the failed request.
        status: the HTTP status of a 5xx, or None when there was no response at all.
        reason: the transport error or InfluxDB's message.
    """

    retryable = True

    def __init__(self, url: str, reason: str, *, status: int | None = None) -> None:
        self.url = url
        self.status = status
        self.reason = reason
        where = f"HTTP {status}" if status is not None else "no response"
        super().__init__(f"InfluxDB unavailable at {url} ({where}): {reason}")


class InfluxAuthError(InfluxError):
    """InfluxDB refused the credentials (401) or the user lacks the privilege (403)."""

    def __init__(self, url: str, status: int, message: str) -> None:
        self.url = url
        self.status = status
        self.message = message
        super().__init__(f"InfluxDB refused access to {url} (HTTP {status}): {message}")


class InfluxWriteError(InfluxError):
    """InfluxDB refused a write request, or some of its lines (an HTTP 4xx other than 401/403).

    InfluxDB 1.x writes every line it can and reports the rest: a 400 whose message starts with
    ``partial write:`` means the good lines of the request *were* stored; the message names the
    first unparsable line (``unable to parse '...'``) or the rejected field
    (``field type conflict: input field "v" on measurement "m" is type string, already exists as
    type float dropped=1``). Measured on InfluxDB 1.6: unparsable lines and type conflicts
    against existing data are partial writes; but a type conflict inside a request that creates
    a new shard rejects the whole request with a bare ``field type conflict``. A 404 means the
    database (or retention policy) does not exist. Repeating the same lines fails the same way.

    Attributes:
        status: the HTTP status.
        message: InfluxDB's ``error`` text.
        dropped: points InfluxDB counted as dropped, when it says so (``dropped=N``); points that
            did not parse are not counted in it.
    """

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        match = _DROPPED.search(message)
        self.dropped = int(match.group(1)) if match else None
        super().__init__(f"InfluxDB refused the write (HTTP {status}): {message}")

    @property
    def partial(self) -> bool:
        """Whether InfluxDB stored the other lines of the request."""
        return self.message.startswith("partial write")


class InfluxQueryError(InfluxError):
    """InfluxDB refused a query: it did not parse, or one of its statements failed.

    Attributes:
        query: the InfluxQL text as sent (bound parameter values are not part of it).
        message: InfluxDB's ``error`` text.
        status: the HTTP status (200 when only one statement of a valid query failed).
        statement_id: the failing statement's index, when InfluxDB names one.
    """

    def __init__(
        self, query: str, message: str, *, status: int, statement_id: int | None = None
    ) -> None:
        self.query = query
        self.message = message
        self.status = status
        self.statement_id = statement_id
        where = f" (statement {statement_id})" if statement_id is not None else ""
        super().__init__(f"InfluxDB refused the query{where}: {message}: {query}")

    @property
    def database_missing(self) -> bool:
        """Whether the query failed because its database does not exist (yet)."""
        return self.message.startswith("database not found")

    @property
    def beyond_retention(self) -> bool:
        """Whether a ``SELECT ... INTO`` dropped points its target policy no longer keeps.

        InfluxDB reports ``partial write: points beyond retention policy dropped=N`` and has
        written the other points.
        """
        message = self.message
        return message.startswith("partial write") and "beyond retention policy" in message
