"""The InfluxDB adapter: the only module in Lantian that speaks HTTP to InfluxDB.

It uses the v1 HTTP API (line protocol on ``/write``, InfluxQL on ``/query``) because every
InfluxDB generation speaks it: 1.x natively, 2.x through its v1 compatibility endpoints (token
auth, DBRP mapping), 3.x Core on the same paths. The v2 client library cannot talk to anything
before 1.8, and Debian ships 1.6.

Writes send timestamps in milliseconds (``precision=ms``); queries ask for ``epoch=ms``, so time
comes back as the same integers. Values a caller supplies go into queries as InfluxQL bound
parameters (``$name`` placeholders, ``params``), supported since InfluxDB 1.2; identifiers cannot
be bound, so :func:`quote_identifier` quotes them.
"""

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Self

import httpx

from store.errors import (
    InfluxAuthError,
    InfluxError,
    InfluxQueryError,
    InfluxUnavailableError,
    InfluxWriteError,
    LineProtocolError,
)
from store.influxql import (
    ParamValue,
    Series,
    check_duration,
    parse_results,
    quote_identifier,
    series_frame,
)
from store.lineprotocol import Point, encode_point

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BasicAuth",
    "InfluxAuth",
    "InfluxAuthError",
    "InfluxError",
    "InfluxQueryError",
    "InfluxStore",
    "InfluxUnavailableError",
    "InfluxWriteError",
    "LineProtocolError",
    "Point",
    "Series",
    "TokenAuth",
    "quote_identifier",
]

DEFAULT_MAX_LINES_PER_REQUEST = 5000


@dataclass(frozen=True, slots=True)
class BasicAuth:
    """A username and password (InfluxDB 1.x users), sent as HTTP basic auth."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class TokenAuth:
    """An API token, sent as ``Authorization: Token ...`` as InfluxDB 2.x and 3.x expect."""

    token: str = field(repr=False)


InfluxAuth = BasicAuth | TokenAuth


class InfluxStore:
    """One database on one InfluxDB server.

    Constructing it opens no connection; each call is one or a few HTTP requests. Safe to share
    between threads.

    Args:
        url: base URL of the server, e.g. ``http://127.0.0.1:8086``.
        database: the database every call works on.
        auth: credentials, or None for a server without authentication.
        retention_policy: where writes go unless a call names another; None is the database's
            default policy.
        timeout: seconds for connecting and for each read or write on the socket.
        max_lines_per_request: a write of more lines is split into several requests.
        transport: an httpx transport, to reach InfluxDB through something other than TCP.
    """

    def __init__(  # noqa: PLR0913 - connection options, all keyword-only
        self,
        url: str,
        database: str,
        *,
        auth: InfluxAuth | None = None,
        retention_policy: str | None = None,
        timeout: float = 10.0,
        max_lines_per_request: int = DEFAULT_MAX_LINES_PER_REQUEST,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if max_lines_per_request < 1:
            raise ValueError(
                f"max_lines_per_request must be at least 1, got {max_lines_per_request}"
            )
        self.url = url.rstrip("/")
        self.database = database
        self.retention_policy = retention_policy
        self.max_lines_per_request = max_lines_per_request
        headers = {"User-Agent": "lantian-store"}
        basic: httpx.BasicAuth | None = None
        if isinstance(auth, TokenAuth):
            headers["Authorization"] = f"Token {auth.token}"
        elif isinstance(auth, BasicAuth):
            basic = httpx.BasicAuth(auth.username, auth.password)
        self._client = httpx.Client(
            base_url=self.url,
            auth=basic,
            headers=headers,
            timeout=timeout,
            transport=transport,
        )

    # --- server and schema ---------------------------------------------------------------

    def ping(self) -> str:
        """The server's version, from the ``X-Influxdb-Version`` header of ``/ping``."""
        response = self._send("GET", "/ping")
        if not response.is_success:
            raise InfluxError(f"{self.url}/ping answered HTTP {response.status_code}: no InfluxDB")
        return str(response.headers.get("X-Influxdb-Version", ""))

    def create_database(self) -> None:
        """Create the database; nothing happens if it exists."""
        self.query(f"CREATE DATABASE {quote_identifier(self.database)}")

    def drop_database(self) -> None:
        """Drop the database and all its data; nothing happens if it does not exist."""
        self.query(f"DROP DATABASE {quote_identifier(self.database)}")

    def create_retention_policy(
        self,
        name: str,
        duration: str,
        *,
        replication: int = 1,
        shard_duration: str | None = None,
        default: bool = False,
    ) -> None:
        """Create a retention policy, or bring an existing one to these settings.

        Args:
            name: the policy's name.
            duration: how long data is kept, as an InfluxQL duration (``30d``, ``52w``, ``INF``).
            replication: copies kept in a cluster; 1 on a single server.
            shard_duration: time span of one shard group; None leaves it to the server.
            default: make it the database's default policy. False does not take that role away
                from a policy that has it.
        """
        check_duration(duration)
        if shard_duration is not None:
            check_duration(shard_duration)
        if replication < 1:
            raise ValueError(f"replication must be at least 1, got {replication}")
        existing = {
            row["name"]
            for series in self.query(
                f"SHOW RETENTION POLICIES ON {quote_identifier(self.database)}"
            )
            for row in series.rows()
        }
        verb = "ALTER" if name in existing else "CREATE"
        statement = (
            f"{verb} RETENTION POLICY {quote_identifier(name)} ON {quote_identifier(self.database)}"
            f" DURATION {duration} REPLICATION {replication}"
        )
        if shard_duration is not None:
            statement += f" SHARD DURATION {shard_duration}"
        if default:
            statement += " DEFAULT"
        self.query(statement)

    def continuous_queries(self) -> dict[str, str]:
        """The database's continuous queries: name and ``CREATE`` statement, as the server has them.

        The server keeps each statement re-written from its parse tree: keywords in capitals,
        identifiers quoted only where they must be, one space between words.
        """
        return {
            str(row["name"]): str(row["query"])
            for series in self.query("SHOW CONTINUOUS QUERIES")
            if series.name == self.database
            for row in series.rows()
        }

    def drop_continuous_query(self, name: str) -> None:
        """Drop a continuous query of the database; nothing happens if it does not exist."""
        self.query(
            f"DROP CONTINUOUS QUERY {quote_identifier(name)} ON {quote_identifier(self.database)}"
        )

    # --- writing ---------------------------------------------------------------------------

    def write(self, points: Iterable[Point], *, retention_policy: str | None = None) -> None:
        """Write points, in requests of at most ``max_lines_per_request`` lines.

        Every point is encoded before anything is sent, so a :class:`LineProtocolError` means
        nothing was written. A repeated write overwrites the same points (same series and
        timestamp): retrying after an error never duplicates data.

        Raises:
            LineProtocolError: a point cannot be encoded.
            InfluxWriteError: InfluxDB refused lines; see the error for what 1.x still stored.
            InfluxUnavailableError: no answer, or a 5xx; earlier requests of this call may have
                been written.
            InfluxAuthError: the credentials were refused.
        """
        self.write_lines(
            [encode_point(point) for point in points], retention_policy=retention_policy
        )

    def write_lines(self, lines: Iterable[str], *, retention_policy: str | None = None) -> None:
        """Write lines of line protocol with millisecond timestamps; raises like :meth:`write`."""
        params = {"db": self.database, "precision": "ms"}
        policy = retention_policy or self.retention_policy
        if policy is not None:
            params["rp"] = policy
        for chunk in _chunks(lines, self.max_lines_per_request):
            body = "\n".join(chunk).encode()
            response = self._send("POST", "/write", params=params, content=body)
            if response.is_client_error:
                raise InfluxWriteError(response.status_code, _error_message(response))

    # --- querying --------------------------------------------------------------------------

    def query(
        self, influxql: str, *, params: Mapping[str, ParamValue] | None = None
    ) -> list[Series]:
        """Run InfluxQL and return the series of all its statements, in order.

        Args:
            influxql: the statements; values come in as ``$name`` placeholders, never by
                formatting them into the text.
            params: values of the placeholders. An integer compared with ``time`` is epoch
                *nanoseconds* to InfluxQL; an RFC 3339 string also works.

        Raises:
            InfluxQueryError: the query did not parse, or a statement failed.
            InfluxUnavailableError: no answer, or a 5xx.
            InfluxAuthError: the credentials were refused.
        """
        form = {"q": influxql, "db": self.database, "epoch": "ms"}
        if params:
            form["params"] = json.dumps(dict(params))
        # POST for every statement: InfluxDB 1.6 warns about CREATE, DROP and friends over GET,
        # later versions refuse them.
        response = self._send("POST", "/query", form=form)
        if response.is_client_error:
            raise InfluxQueryError(influxql, _error_message(response), status=response.status_code)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return parse_results(influxql, body, status=response.status_code)

    def query_frame(
        self, influxql: str, *, params: Mapping[str, ParamValue] | None = None
    ) -> "pd.DataFrame":
        """Run InfluxQL and return all series as one frame; raises like :meth:`query`.

        Columns are ``time`` (tz-aware UTC), the group-by tags, then the selected columns. With
        no data the frame is empty but still has its ``time`` column, with the same dtype.
        """
        return series_frame(self.query(influxql, params=params))

    # --- plumbing --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        url = f"{self.url}{path}"
        try:
            response = self._client.request(method, path, params=params, data=form, content=content)
        except httpx.TransportError as exc:
            raise InfluxUnavailableError(url, f"{type(exc).__name__}: {exc}") from exc
        if response.is_server_error:
            raise InfluxUnavailableError(url, _error_message(response), status=response.status_code)
        if response.status_code in {401, 403}:
            raise InfluxAuthError(url, response.status_code, _error_message(response))
        return response


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return (
        response.headers.get("X-Influxdb-Error") or response.text.strip() or response.reason_phrase
    )
