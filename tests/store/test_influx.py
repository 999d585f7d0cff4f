import itertools

import httpx
import pandas as pd
import pytest

from devstack.servers import InfluxServer
from store.influx import (
    BasicAuth,
    InfluxAuthError,
    InfluxError,
    InfluxQueryError,
    InfluxStore,
    InfluxUnavailableError,
    InfluxWriteError,
    LineProtocolError,
    Point,
    TokenAuth,
)
from store.lineprotocol import encode_point

pytestmark = pytest.mark.integration

T = 1_764_140_000_000


def rows(store, influxql, **params):
    return [row for series in store.query(influxql, params=params) for row in series.rows()]


def test_ping_reports_the_server_version(influx):
    assert influx.ping().startswith("1.")


def test_awkward_names_and_values_round_trip(influx):
    written = Point(
        measurement="pm2.5 µg/m³, raw=yes",
        tags={"city": "聊城", "park": "信发 产业园,东区", "key=odd": 'quote"d', "empty": ""},
        fields={
            "value, mean": 35.5,
            "count": 12,
            "ok": True,
            "note": 'he said "C:\\temp\\" twice\nthen left',
            "huge": 1.7976931348623157e308,
            "tiny": 5e-324,
            "sum": 0.1 + 0.2,
        },
        time_ms=T,
    )
    influx.write([written])

    [series] = influx.query(
        'SELECT * FROM "pm2.5 µg/m³, raw=yes" WHERE "city" = $city', params={"city": "聊城"}
    )

    assert series.name == written.measurement
    [row] = series.rows()
    assert row == {
        "time": T,
        "city": "聊城",
        "park": "信发 产业园,东区",
        "key=odd": 'quote"d',
        "value, mean": 35.5,
        "count": 12,
        "ok": True,
        "note": 'he said "C:\\temp\\" twice\nthen left',
        "huge": 1.7976931348623157e308,
        "tiny": 5e-324,
        "sum": 0.30000000000000004,
    }
    assert "empty" not in row


def test_integral_floats_come_back_as_ints_from_the_json(influx):
    influx.write([Point("m", {}, {"v": 35.0, "z": -0.0}, T)])
    [row] = rows(influx, "SELECT * FROM m")
    assert row["v"] == 35.0
    assert type(row["v"]) is int  # InfluxDB's JSON drops ".0"; the field is still a float
    assert row["z"] == 0


_PIECES = ["a", "\\", ",", "=", " ", '"']
_NAMES = sorted({"".join(c) for n in (1, 2, 3) for c in itertools.product(_PIECES, repeat=n)})


def _encodable(make):
    points = []
    for index, name in enumerate(_NAMES):
        try:
            encode_point(make(index, name))
        except LineProtocolError:
            continue
        points.append((name, make(index, name)))
    assert len(points) > 100  # most of them can be written
    return points


def test_every_encodable_tag_value_reads_back_exactly(influx):
    written = _encodable(lambda i, name: Point("m", {"k": name}, {"i": i}, T + i))
    influx.write(point for _, point in written)
    read = {row["i"]: row["k"] for row in rows(influx, "SELECT * FROM m")}
    assert read == {point.fields["i"]: name for name, point in written}


def test_every_encodable_tag_key_reads_back_exactly(influx):
    written = _encodable(lambda i, name: Point("m", {name: "x"}, {"i": i}, T + i))
    influx.write(point for _, point in written)
    keys = {row["tagKey"] for row in rows(influx, "SHOW TAG KEYS FROM m")}
    assert keys == {name for name, _ in written}


def test_every_encodable_field_key_reads_back_exactly(influx):
    written = _encodable(lambda i, name: Point("m", {}, {name: 1.0}, T + i))
    influx.write(point for _, point in written)
    keys = {row["fieldKey"] for row in rows(influx, "SHOW FIELD KEYS FROM m")}
    assert keys == {name for name, _ in written}


def test_every_encodable_measurement_reads_back_exactly(influx):
    written = _encodable(lambda i, name: Point(name, {}, {"v": 1.0}, T + i))
    influx.write(point for _, point in written)
    names = {row["name"] for row in rows(influx, "SHOW MEASUREMENTS")}
    assert names == {name for name, _ in written}


def test_bound_parameters_are_values_never_influxql(influx):
    influx.write([Point("m", {"site": "s1"}, {"v": 1.0}, T)])
    assert rows(influx, "SELECT * FROM m WHERE site = $site", site="s1")
    assert rows(influx, "SELECT * FROM m WHERE site = $site", site="x' OR site = 's1") == []
    assert rows(influx, "SELECT * FROM m WHERE v > $low", low=0.5)
    # integers compared with time are nanoseconds to InfluxQL
    assert rows(influx, "SELECT * FROM m WHERE time >= $t", t=T * 1_000_000)
    assert rows(influx, "SELECT * FROM m WHERE time > $t", t=T * 1_000_000) == []


def test_missing_parameter_is_a_query_error(influx):
    with pytest.raises(InfluxQueryError, match="missing parameter: site") as caught:
        influx.query("SELECT * FROM m WHERE site = $site")
    assert caught.value.status == 400


def test_bad_query_raises_with_the_server_message(influx):
    with pytest.raises(InfluxQueryError, match="error parsing query") as caught:
        influx.query("SELEKT * FROM m")
    assert caught.value.query == "SELEKT * FROM m"
    assert caught.value.status == 400
    assert caught.value.statement_id is None


def test_failing_statement_raises_with_its_index(influx):
    with pytest.raises(InfluxQueryError, match="database not found") as caught:
        influx.query("SHOW MEASUREMENTS; SHOW RETENTION POLICIES ON nosuch")
    assert caught.value.statement_id == 1
    assert caught.value.status == 200


def _policies(store):
    return {row["name"]: row for row in rows(store, "SHOW RETENTION POLICIES")}


def test_retention_policy_is_created_once_and_altered_when_settings_change(influx):
    influx.create_retention_policy("raw", "30d", shard_duration="1d", default=True)
    influx.create_retention_policy("raw", "30d", shard_duration="1d", default=True)
    raw = _policies(influx)["raw"]
    assert (raw["duration"], raw["shardGroupDuration"], raw["default"]) == (
        "720h0m0s",
        "24h0m0s",
        True,
    )

    influx.create_retention_policy("raw", "90d")
    raw = _policies(influx)["raw"]
    assert (raw["duration"], raw["shardGroupDuration"], raw["default"]) == (
        "2160h0m0s",
        "24h0m0s",
        True,
    )


def test_writes_go_to_the_named_retention_policy(influx):
    influx.create_retention_policy("hourly", "INF")
    influx.write([Point("m", {}, {"v": 1.0}, T)], retention_policy="hourly")
    assert rows(influx, 'SELECT * FROM "hourly"."m"')
    assert rows(influx, "SELECT * FROM m") == []  # the default policy holds nothing


@pytest.mark.parametrize("duration", ["30 days", "1d; DROP DATABASE x", ""])
def test_retention_policy_duration_must_be_an_influxql_duration(influx, duration):
    with pytest.raises(ValueError, match="not an InfluxQL duration"):
        influx.create_retention_policy("raw", duration)


def test_query_frame_has_time_tags_then_columns(influx):
    influx.write(
        [
            Point("pm25", {"site": "s1", "device": "d1"}, {"value": 10.5}, T),
            Point("pm25", {"site": "s2", "device": "d2"}, {"value": 20.5}, T + 60_000),
            Point("pm25", {"site": "s2", "device": "d2"}, {"value": 30.5}, T + 120_000),
        ]
    )
    frame = influx.query_frame("SELECT value FROM pm25 GROUP BY site, device")

    assert list(frame.columns) == ["time", "device", "site", "value"]
    assert str(frame["time"].dtype).startswith("datetime64")
    assert str(frame["time"].dt.tz) == "UTC"
    assert frame["time"].tolist() == [
        pd.Timestamp(T, unit="ms", tz="UTC"),
        pd.Timestamp(T + 60_000, unit="ms", tz="UTC"),
        pd.Timestamp(T + 120_000, unit="ms", tz="UTC"),
    ]
    assert frame["site"].tolist() == ["s1", "s2", "s2"]
    assert frame["value"].tolist() == [10.5, 20.5, 30.5]
    assert frame["value"].dtype == "float64"


def test_query_frame_without_data_still_has_a_utc_time_column(influx):
    influx.write([Point("pm25", {}, {"value": 1.0}, T)])
    full = influx.query_frame("SELECT value FROM pm25")
    empty = influx.query_frame("SELECT value FROM pm25 WHERE value > $v", params={"v": 5})
    assert empty.empty
    assert list(empty.columns) == ["time"]
    assert empty["time"].dtype == full["time"].dtype


def test_field_type_conflict_is_a_partial_write_with_the_message(influx):
    influx.write([Point("m", {"k": "first"}, {"v": 1.0}, T)])
    with pytest.raises(InfluxWriteError) as caught:
        influx.write(
            [
                Point("m", {"k": "a"}, {"v": 2.0}, T + 1),
                Point("m", {"k": "b"}, {"v": "text"}, T + 2),
                Point("m", {"k": "c"}, {"v": 3.0}, T + 3),
            ]
        )
    error = caught.value
    assert error.status == 400
    assert "field type conflict" in error.message
    assert 'input field "v" on measurement "m" is type string' in error.message
    assert error.partial
    assert error.dropped == 1
    assert not error.retryable
    # InfluxDB 1.x stores the good lines of the refused request
    assert [row["k"] for row in rows(influx, "SELECT * FROM m")] == ["first", "a", "c"]


def test_type_conflict_in_a_request_that_creates_a_shard_refuses_the_whole_request(influx):
    with pytest.raises(InfluxWriteError) as caught:
        influx.write([Point("m", {}, {"v": 1.0}, T), Point("m", {}, {"v": "text"}, T + 1)])
    assert caught.value.message == "field type conflict"
    assert not caught.value.partial
    assert caught.value.dropped is None
    assert rows(influx, "SELECT * FROM m") == []


def test_unparsable_line_names_itself_and_the_good_lines_are_stored(influx):
    with pytest.raises(InfluxWriteError) as caught:
        influx.write_lines([f"m v=1 {T}", "not line protocol", f"m v=2 {T + 1}"])
    assert "unable to parse 'not line protocol'" in caught.value.message
    assert caught.value.partial
    assert [row["v"] for row in rows(influx, "SELECT * FROM m")] == [1, 2]


def test_unencodable_point_sends_nothing(influx):
    with pytest.raises(LineProtocolError):
        influx.write([Point("m", {}, {"v": 1.0}, T), Point("m", {}, {"v": float("nan")}, T + 1)])
    assert rows(influx, "SELECT * FROM m") == []


def test_write_to_a_missing_database_is_a_404(influx_server):
    with (
        InfluxStore(influx_server.url, "never_created") as store,
        pytest.raises(InfluxWriteError) as caught,
    ):
        store.write([Point("m", {}, {"v": 1.0}, T)])
    assert caught.value.status == 404
    assert "database not found" in caught.value.message


class CountingTransport(httpx.HTTPTransport):
    def __init__(self):
        super().__init__()
        self.requests = []

    def handle_request(self, request):
        self.requests.append(request)
        return super().handle_request(request)


def test_writes_are_chunked_by_max_lines_per_request(influx_server, influx):
    transport = CountingTransport()
    with InfluxStore(
        influx_server.url, influx.database, max_lines_per_request=2, transport=transport
    ) as store:
        store.write(Point("m", {}, {"v": float(i)}, T + i) for i in range(5))
    writes = [r for r in transport.requests if r.url.path == "/write"]
    assert [r.content.count(b"\n") + 1 for r in writes] == [2, 2, 1]
    assert all(r.url.params["precision"] == "ms" for r in writes)
    assert len(rows(influx, "SELECT * FROM m")) == 5


def test_empty_write_sends_nothing(influx_server, influx):
    transport = CountingTransport()
    with InfluxStore(influx_server.url, influx.database, transport=transport) as store:
        store.write([])
    assert transport.requests == []


def test_stopped_server_is_unavailable_and_retryable(tmp_path):
    with (
        InfluxServer(tmp_path / "influxdb") as server,
        InfluxStore(server.url, "db", timeout=2) as store,
    ):
        store.create_database()
        store.write([Point("m", {}, {"v": 1.0}, T)])
        server.stop()
        with pytest.raises(InfluxUnavailableError) as caught:
            store.write([Point("m", {}, {"v": 2.0}, T + 1)])
        assert caught.value.retryable
        assert caught.value.status is None
        assert caught.value.url == f"{server.url}/write"
        with pytest.raises(InfluxUnavailableError):
            store.query("SELECT * FROM m")

        server.restart()
        store.write([Point("m", {}, {"v": 2.0}, T + 1)])  # the retry
        assert [row["v"] for row in rows(store, "SELECT * FROM m")] == [1, 2]


def test_server_error_is_unavailable_with_its_status():
    transport = httpx.MockTransport(lambda _: httpx.Response(500, json={"error": "timeout"}))
    with (
        InfluxStore("http://influx.invalid", "db", transport=transport) as store,
        pytest.raises(InfluxUnavailableError, match="timeout") as caught,
    ):
        store.write([Point("m", {}, {"v": 1.0}, T)])
    assert caught.value.status == 500


def test_ping_of_something_else_than_influxdb_raises():
    transport = httpx.MockTransport(lambda _: httpx.Response(404, text="not found"))
    with (
        InfluxStore("http://web.invalid", "db", transport=transport) as store,
        pytest.raises(InfluxError, match="HTTP 404"),
    ):
        store.ping()


def test_token_is_sent_the_way_influxdb_2_and_3_expect_it():
    seen = []

    def answer(request):
        seen.append(request.headers["Authorization"])
        return httpx.Response(204, headers={"X-Influxdb-Version": "v2.7.11"})

    with InfluxStore(
        "http://influx.invalid",
        "db",
        auth=TokenAuth("s3cret"),
        transport=httpx.MockTransport(answer),
    ) as store:
        assert store.ping() == "v2.7.11"
    assert seen == ["Token s3cret"]
    assert "s3cret" not in repr(TokenAuth("s3cret"))


@pytest.fixture(scope="module")
def secured_influx(tmp_path_factory):
    with InfluxServer(tmp_path_factory.mktemp("influxdb-auth"), auth_enabled=True) as server:
        # With no user yet, InfluxDB 1.x accepts exactly this statement without credentials.
        with InfluxStore(server.url, "lantian") as anonymous:
            anonymous.query("CREATE USER admin WITH PASSWORD 'right horse' WITH ALL PRIVILEGES")
        yield server


def test_basic_auth_with_the_right_password_works(secured_influx):
    with InfluxStore(
        secured_influx.url, "lantian", auth=BasicAuth("admin", "right horse")
    ) as store:
        store.create_database()
        store.write([Point("m", {}, {"v": 1.0}, T)])
        assert rows(store, "SELECT * FROM m") == [{"time": T, "v": 1}]


@pytest.mark.parametrize(
    "auth", [BasicAuth("admin", "wrong"), BasicAuth("nobody", "right horse"), None, TokenAuth("x")]
)
def test_refused_credentials_raise_auth_error(secured_influx, auth):
    with InfluxStore(secured_influx.url, "lantian", auth=auth) as store:
        with pytest.raises(InfluxAuthError) as caught:
            store.query("SHOW DATABASES")
        assert caught.value.status == 401
        with pytest.raises(InfluxAuthError):
            store.write([Point("m", {}, {"v": 1.0}, T)])
        assert store.ping().startswith("1.")  # /ping needs no credentials
