"""Series at a resolution and latest values, over a real InfluxDB holding ingest's rollups.

Readings are written the way ingest writes them (``store.readings``) into ``raw``; the minute
and hour rollups are made by the continuous queries' own statements (``store.rollups.backfill``).
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.api.conftest import at, influx_settings, key_headers, make_client, minutes, store

from devstack.city import CITY
from store.influx import InfluxStore
from telemetry import Quality

pytestmark = pytest.mark.integration

HENGTONG, QINGYUAN = CITY[0], CITY[1]
SITE = HENGTONG.site
URL = f"/v1/sites/{SITE}/series"
MINUTE_MS, HOUR_MS = 60_000, 3_600_000
# 2026-11-10 00:00 Asia/Shanghai, within the raw policy's 400 days.
DAY = int(datetime(2026, 11, 9, 16, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def api(rolled: InfluxStore, city_sql: Engine) -> Iterator[TestClient]:
    api_settings = influx_settings(rolled, max_raw_window_days=2)
    # A bureau viewer reads every site; tests/api/test_route_boundary.py covers who reads what.
    with make_client(city_sql, api_settings, headers=key_headers(city_sql)) as client:
        yield client


def series(api: TestClient, **params: object) -> dict[str, Any]:
    response = api.get(URL, params={"metric": "pm25", **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_hourly_points_join_the_devices_of_the_site(api, rolled):
    store(
        rolled, HENGTONG, minutes(DAY, 120, 10.0, spread=5) + minutes(DAY, 120, 30.0, device="pm-2")
    )
    store(rolled, QINGYUAN, minutes(DAY, 60, 500.0))

    body = series(api, start=at(DAY), end=at(DAY + 2 * HOUR_MS), resolution="hour")
    low = series(api, start=at(DAY), end=at(DAY + 2 * HOUR_MS), resolution="hour", agg="min")
    high = series(api, start=at(DAY), end=at(DAY + 2 * HOUR_MS), resolution="hour", agg="max")

    assert [(p["ts"], p["value"], p["count"]) for p in body["points"]] == [
        (DAY, 20.0, 2 * 60 * 6),
        (DAY + HOUR_MS, 20.0, 2 * 60 * 6),
    ]
    assert [p["value"] for p in low["points"]] == [5.0, 5.0]
    assert [p["value"] for p in high["points"]] == [31.0, 31.0]
    assert body["unit"] == "µg/m³"
    assert body["resolution"] == "hour"


def test_minute_points_come_from_the_minute_policy(api, rolled):
    store(
        rolled,
        HENGTONG,
        minutes(DAY, 3, 12.5) + minutes(DAY + 2 * MINUTE_MS, 1, 20.5, device="pm-2"),
    )

    body = series(api, start=at(DAY), end=at(DAY + 5 * MINUTE_MS), resolution="minute")

    assert [(p["ts"], p["value"]) for p in body["points"]] == [
        (DAY, 12.5),
        (DAY + MINUTE_MS, 12.5),
        (DAY + 2 * MINUTE_MS, 16.5),
    ]


def test_days_are_calendar_days_in_china_time(api, rolled):
    # 23:00-24:00 on the 10th and 00:00-01:00 on the 11th, local time.
    store(
        rolled,
        HENGTONG,
        minutes(DAY + 23 * HOUR_MS, 60, 10.0) + minutes(DAY + 24 * HOUR_MS, 60, 50.0),
    )
    store(rolled, HENGTONG, minutes(DAY + 25 * HOUR_MS, 60, 70.0))

    body = series(
        api, start=at(DAY + 12 * HOUR_MS), end=at(DAY + 30 * HOUR_MS), resolution="day", agg="mean"
    )

    assert [(p["ts"], p["value"], p["count"]) for p in body["points"]] == [
        (DAY, 10.0, 360),
        (DAY + 24 * HOUR_MS, 60.0, 720),
    ]
    # The window is widened to whole local days, echoed in UTC.
    assert datetime.fromisoformat(body["start"]) == datetime(2026, 11, 9, 16, tzinfo=UTC)
    assert datetime.fromisoformat(body["end"]) == datetime(2026, 11, 11, 16, tzinfo=UTC)
    peak = series(api, start=at(DAY), end=at(DAY + 30 * HOUR_MS), resolution="day", agg="max")
    assert [p["value"] for p in peak["points"]] == [11.0, 71.0]


def test_raw_points_are_the_readings_with_device_and_flag(api, rolled):
    store(
        rolled,
        HENGTONG,
        minutes(DAY, 1, 8.0, spread=2)
        + minutes(DAY, 1, 9.0, device="pm-2", quality=Quality.MAINTENANCE),
    )

    body = series(api, start=at(DAY), end=at(DAY + HOUR_MS), resolution="raw", agg="max")
    only = series(api, start=at(DAY), end=at(DAY + HOUR_MS), resolution="raw", device="pm-2")

    assert [(p["device"], p["quality"], p["value"], p["count"]) for p in body["points"]] == [
        ("pm-1", "N", 10.0, 6),
        ("pm-2", "M", 10.0, 6),
    ]
    assert [(p["device"], p["value"]) for p in only["points"]] == [("pm-2", 9.0)]


def test_the_device_filter_applies_to_rollups(api, rolled):
    store(rolled, HENGTONG, minutes(DAY, 60, 10.0) + minutes(DAY, 60, 30.0, device="pm-2"))

    body = series(api, start=at(DAY), end=at(DAY + HOUR_MS), resolution="hour", device="pm-2")

    assert [p["value"] for p in body["points"]] == [30.0]


def test_a_site_without_data_has_an_empty_series(api, rolled):
    store(rolled, HENGTONG, minutes(DAY, 60, 10.0))
    response = api.get(
        f"/v1/sites/{QINGYUAN.site}/series",
        params={"metric": "pm25", "start": at(DAY), "end": at(DAY + HOUR_MS)},
    )
    assert response.status_code == 200
    assert response.json()["points"] == []


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        (
            {"resolution": "raw", "end": at(DAY + 3 * 24 * HOUR_MS)},
            "a raw series covers at most 2 days",
        ),
        (
            {"resolution": "minute", "end": at(DAY + 32 * 24 * HOUR_MS)},
            "a minute series covers at most 31 days",
        ),
        ({"end": at(DAY)}, "start must be before end"),
        ({"metric": "pm2_5", "end": at(DAY + HOUR_MS)}, "unknown metric 'pm2_5'"),
    ],
)
def test_bad_queries_are_422_saying_why(api, params, detail):
    response = api.get(URL, params={"metric": "pm25", "start": at(DAY), **params})

    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)


@pytest.mark.parametrize("params", [{"resolution": "week"}, {"agg": "median"}])
def test_an_unknown_resolution_or_aggregate_is_422(api, params):
    assert api.get(URL, params={"metric": "pm25", **params}).status_code == 422


def test_an_unknown_site_is_404(api):
    for path in ("series", "latest", "aqi"):
        response = api.get(f"/v1/sites/site-nowhere/{path}", params={"metric": "pm25"})
        assert response.status_code == 404, path
        assert response.json() == {"detail": "no site 'site-nowhere'"}


def test_latest_gives_each_metrics_newest_reading(api, rolled):
    now = int(datetime.now(UTC).timestamp() // 60 * 60_000)
    readings = [
        *minutes(now - 10 * MINUTE_MS, 1, 11.0),
        *minutes(now - 5 * MINUTE_MS, 1, 12.0, device="pm-2", quality=Quality.OVER_RANGE),
        *minutes(now - 20 * MINUTE_MS, 1, 40.0, metric="pm10"),
        *minutes(now - 8 * 24 * HOUR_MS, 1, 99.0, metric="tsp"),  # older than seven days
    ]
    store(rolled, HENGTONG, readings)

    response = api.get(f"/v1/sites/{SITE}/latest")

    assert response.status_code == 200
    body = response.json()
    assert body["site"] == SITE
    assert [
        (m["metric"], m["device"], m["value"], m["quality"], m["ts"], m["unit"], m["interval"])
        for m in body["metrics"]
    ] == [
        ("pm10", "pm-1", 40.0, "N", now - 20 * MINUTE_MS, "µg/m³", "60s"),
        ("pm25", "pm-2", 12.0, "T", now - 5 * MINUTE_MS, "µg/m³", "60s"),
    ]


def test_the_openapi_schema_has_the_new_routes(api):
    paths = api.get("/openapi.json").json()["paths"]
    for path in ("series", "latest", "aqi"):
        assert "get" in paths[f"/v1/sites/{{site_id}}/{path}"]
    assert "get" in paths["/v1/gateways/{gateway_id}/completeness"]
