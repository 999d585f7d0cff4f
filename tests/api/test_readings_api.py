"""The HTTP API in-process (its lifespan runs) over a real InfluxDB and a real SQLite registry."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.api.conftest import key_headers, make_client, settings

from devstack.city import CITY, SimSite, register
from devstack.servers import InfluxServer
from store.connection import InfluxConnection
from store.influx import InfluxStore
from store.readings import reading_points
from store.sql import Placement, Registry, create_engine_for
from telemetry import CATALOG, Quality, Reading

pytestmark = pytest.mark.integration

HENGTONG, QINGYUAN = CITY[0], CITY[1]
SITE = HENGTONG.site
URL = f"/v1/sites/{SITE}/readings"
CHINA = timezone(timedelta(hours=8))
HOUR_MS = 3_600_000


def ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def at(epoch_ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch_ms)


def recent_ms() -> int:
    """Now, to the whole second, so windows built from it are exact in milliseconds."""
    return ms(datetime.now(UTC).replace(microsecond=0))


def write(influx: InfluxStore, sim: SimSite, *readings: Reading) -> None:
    """Write readings as ingest would for the gateway of ``sim``."""
    park = sim.park[0] if sim.park else None
    placement = Placement(sim.gateway, sim.site, sim.enterprise[0], park, sim.county[0])
    influx.write(reading_points(placement, readings))


def pm25(value: float, ts: int, *, device: str = "pm-1", quality: Quality = Quality.NORMAL):
    return Reading(device=device, metric="pm25", value=value, ts=ts, quality=quality)


@pytest.fixture
def city_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = create_engine_for(sqlite_url)
    register(Registry(engine), CITY)
    yield engine
    engine.dispose()


def app_client(
    url: str, database: str, engine: Engine, *, max_raw_window_days: int = 31
) -> TestClient:
    connection = InfluxConnection(url=url, database=database, timeout_s=2.0)
    api_settings = settings(influx=connection, max_raw_window_days=max_raw_window_days)
    # A bureau viewer reads every site; tests/api/test_site_boundary.py covers who reads what.
    return make_client(engine, api_settings, headers=key_headers(engine))


@pytest.fixture
def api(influx: InfluxStore, city_engine: Engine) -> Iterator[TestClient]:
    with app_client(influx.url, influx.database, city_engine, max_raw_window_days=2) as client:
        yield client


def get(api: TestClient, *, url: str = URL, **params: object):
    query = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in params.items()}
    return api.get(url, params={k: v for k, v in query.items() if v is not None})


# --- answers --------------------------------------------------------------------------------


def test_readings_come_back_oldest_first_with_unit_and_utc_times(api, influx):
    t = recent_ms() - 3 * HOUR_MS + 123
    write(
        influx,
        HENGTONG,
        pm25(30.5, t + 2000),
        pm25(10.0, t, quality=Quality.MAINTENANCE),
        pm25(20.25, t + 1000, device="pm-2"),
        Reading(device="pm-1", metric="pm10", value=99.0, ts=t + 500),
    )
    write(influx, QINGYUAN, pm25(77.0, t + 1500))
    start, end = at(t - HOUR_MS), at(t + HOUR_MS)

    response = get(api, metric="pm25", start=start, end=end)

    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in ("site", "metric", "unit")} == {
        "site": SITE,
        "metric": "pm25",
        "unit": "µg/m³",
    }
    assert datetime.fromisoformat(body["start"]) == start
    assert datetime.fromisoformat(body["end"]) == end
    readings = body["readings"]
    assert [(r["ts"], r["device"], r["value"], r["quality"]) for r in readings] == [
        (t, "pm-1", 10.0, "M"),
        (t + 1000, "pm-2", 20.25, "N"),
        (t + 2000, "pm-1", 30.5, "N"),
    ]
    assert set(readings[0]) == {
        "ts",
        "time",
        "device",
        "value",
        "quality",
        "interval",
        "min",
        "max",
        "count",
        "valid",
    }
    assert {r["interval"] for r in readings} == {"raw"}
    assert all(r["count"] is None and r["valid"] is None for r in readings)
    for reading in readings:
        time = datetime.fromisoformat(reading["time"])
        assert time.utcoffset() == timedelta(0)
        assert time == at(reading["ts"])


def test_a_window_given_in_china_time_means_the_same_instants_and_is_echoed_in_utc(api, influx):
    t = recent_ms() - 2 * HOUR_MS
    write(
        influx,
        HENGTONG,
        pm25(1.0, t - 1),
        pm25(2.0, t),
        pm25(3.0, t + 59_999),
        pm25(4.0, t + 60_000),
    )
    start, end = at(t).astimezone(CHINA), at(t + 60_000).astimezone(CHINA)

    body = get(api, metric="pm25", start=start, end=end).json()

    assert [r["value"] for r in body["readings"]] == [2.0, 3.0]  # [start, end) to the ms
    for key, moment in (("start", start), ("end", end)):
        echoed = datetime.fromisoformat(body[key])
        assert echoed == moment
        assert echoed.utcoffset() == timedelta(0)


def test_the_default_window_is_the_last_24_hours(api, influx):
    now = recent_ms()
    write(
        influx,
        HENGTONG,
        pm25(1.0, now - 25 * HOUR_MS),
        pm25(2.0, now - 23 * HOUR_MS),
        pm25(3.0, now - 60_000),
        pm25(4.0, now + HOUR_MS),  # not yet: the window ends now
    )

    before = datetime.now(UTC)
    body = get(api, metric="pm25").json()
    after = datetime.now(UTC)

    assert [r["value"] for r in body["readings"]] == [2.0, 3.0]
    start, end = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"])
    assert before <= end <= after
    assert end - start == timedelta(hours=24)


def test_with_only_an_end_the_window_is_the_24_hours_before_it(api, influx):
    end = recent_ms() - HOUR_MS
    day = 24 * HOUR_MS
    write(
        influx,
        HENGTONG,
        pm25(1.0, end - day - 1),
        pm25(2.0, end - day),
        pm25(3.0, end - 1),
        pm25(4.0, end),
    )

    body = get(api, metric="pm25", end=at(end)).json()

    assert [r["value"] for r in body["readings"]] == [2.0, 3.0]


def test_the_device_filter_keeps_one_devices_readings(api, influx):
    t = recent_ms() - HOUR_MS
    write(
        influx, HENGTONG, pm25(1.0, t), pm25(2.0, t, device="pm-2"), pm25(3.0, t + 1, device="pm-2")
    )

    body = get(api, metric="pm25", device="pm-2", start=at(t), end=at(t + 10)).json()

    assert [(r["device"], r["value"]) for r in body["readings"]] == [("pm-2", 2.0), ("pm-2", 3.0)]


def test_raw_samples_and_interval_aggregates_are_kept_apart(api, influx):
    start = (recent_ms() - HOUR_MS) // 60_000 * 60_000
    aggregate = Reading(
        device="pm-1",
        metric="pm25",
        value=2.0,
        ts=start,
        min=1.0,
        max=3.0,
        count=2,
        valid=False,
        interval_s=60,
    )
    # A sample taken exactly at the interval's start must not overwrite the aggregate.
    write(influx, HENGTONG, pm25(1.0, start), pm25(3.0, start + 30_000), aggregate)
    begin, end = at(start), at(start + 60_000)

    everything = get(api, metric="pm25", start=begin, end=end).json()["readings"]
    raw = get(api, metric="pm25", interval="raw", start=begin, end=end).json()["readings"]
    minute = get(api, metric="pm25", interval="60s", start=begin, end=end).json()["readings"]

    assert len(everything) == 3
    assert [(r["ts"], r["value"]) for r in raw] == [(start, 1.0), (start + 30_000, 3.0)]
    assert [
        (r["ts"], r["value"], r["min"], r["max"], r["count"], r["valid"], r["interval"])
        for r in minute
    ] == [(start, 2.0, 1.0, 3.0, 2, False, "60s")]


@pytest.mark.parametrize("interval", ["hourly", "60", "-1s", "raw'"])
def test_a_malformed_interval_is_422(api, interval):
    assert get(api, metric="pm25", interval=interval).status_code == 422


def test_a_known_site_without_readings_answers_an_empty_series(api, influx):
    write(influx, HENGTONG, pm25(1.0, recent_ms() - HOUR_MS))

    response = get(api, url=f"/v1/sites/{QINGYUAN.site}/readings", metric="pm25")

    assert response.status_code == 200
    assert response.json()["readings"] == []


def test_a_window_of_exactly_the_maximum_is_allowed(api):
    end = at(recent_ms())
    response = get(api, metric="pm25", start=end - timedelta(days=2), end=end)
    assert response.status_code == 200, response.text


# --- refusals -------------------------------------------------------------------------------


def test_an_unknown_site_is_404_naming_it(api):
    response = get(api, url="/v1/sites/site-nowhere/readings", metric="pm25")

    assert response.status_code == 404
    assert response.json() == {"detail": "no site 'site-nowhere'"}


def test_an_unknown_metric_is_422_listing_the_known_ones(api):
    response = get(api, metric="pm2_5")

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "'pm2_5'" in detail
    assert all(metric_id in detail for metric_id in CATALOG)


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(milliseconds=-1), timedelta(hours=-1)])
def test_a_start_not_before_the_end_is_422(api, offset):
    end = at(recent_ms())
    response = get(api, metric="pm25", start=end - offset, end=end)

    assert response.status_code == 422
    assert response.json() == {"detail": "start must be before end"}


def test_a_window_wider_than_the_raw_maximum_is_422(api):
    end = at(recent_ms())
    response = get(api, metric="pm25", start=end - timedelta(days=2, milliseconds=1), end=end)

    assert response.status_code == 422
    assert response.json() == {"detail": "a raw series covers at most 2 days"}


@pytest.mark.parametrize("which", ["start", "end"])
def test_a_time_without_a_timezone_is_422(api, which):
    end = at(recent_ms())
    start = end - timedelta(hours=1)
    if which == "start":
        start = start.replace(tzinfo=None)
    else:
        end = end.replace(tzinfo=None)

    response = get(api, metric="pm25", start=start, end=end)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", which]
    assert "timezone" in error["msg"]


@pytest.mark.parametrize(
    "start",
    [datetime(2300, 1, 1, tzinfo=UTC), datetime(1600, 1, 1, tzinfo=UTC)],
    ids=["after-2262", "before-1677"],
)
def test_a_window_outside_the_time_influxdb_can_hold_is_422_not_a_server_error(api, start):
    # InfluxDB time is int64 nanoseconds: 1677-09-21 to 2262-04-11. A caller's typo in the year
    # is a bad query, not an internal error.
    response = get(api, metric="pm25", start=start, end=start + timedelta(days=1))

    assert response.status_code == 422, response.text


def test_a_request_without_a_metric_is_422(api):
    response = api.get(URL)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "metric"]


# --- health and availability ----------------------------------------------------------------


def test_healthz_reports_the_influxdb_version(api, influx):
    response = api.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "influxdb_version": influx.ping()}
    assert response.json()["influxdb_version"].startswith("1.")


def test_influxdb_down_is_503_with_retry_after_and_the_api_recovers(tmp_path, city_engine):
    server = InfluxServer(tmp_path / "influxdb")
    with server, InfluxStore(server.url, "lantian") as influx:
        influx.create_database()
        t = recent_ms() - HOUR_MS
        write(influx, HENGTONG, pm25(5.0, t))
        with app_client(server.url, "lantian", city_engine) as api:
            assert get(api, metric="pm25").status_code == 200
            server.stop()

            readings = get(api, metric="pm25")
            health = api.get("/healthz")

            for response in (readings, health):
                assert response.status_code == 503
                assert response.headers["Retry-After"] == "5"
                assert "time-series store is unavailable" in response.json()["detail"]

            server.start()
            again = get(api, metric="pm25")
            assert again.status_code == 200
            assert [r["value"] for r in again.json()["readings"]] == [5.0]


def test_a_database_ingest_has_not_created_yet_is_no_server_error(influx, city_engine):
    # A fresh installation: the API answers before ingest has ever started (ingest creates the
    # database). No readings yet (200, empty) or the store not ready (503) are both honest
    # answers; an internal error is not.
    with app_client(influx.url, "lantian_not_created_yet", city_engine) as api:
        response = get(api, metric="pm25")

    assert response.status_code in {200, 503}, response.text
    if response.status_code == 200:
        assert response.json()["readings"] == []


def test_the_openapi_schema_lists_the_routes_and_their_parameters(api):
    schema = api.get("/openapi.json").json()

    route = schema["paths"]["/v1/sites/{site_id}/readings"]["get"]
    parameters = {p["name"]: p for p in route["parameters"]}
    assert set(parameters) == {"site_id", "metric", "start", "end", "device", "interval"}
    assert parameters["metric"]["required"] is True
    assert parameters["site_id"]["in"] == "path"
    assert {"200", "404", "422"} <= set(route["responses"])
    assert "get" in schema["paths"]["/healthz"]
