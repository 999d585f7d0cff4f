"""Hourly and daily AQI of a site and data completeness of a gateway, over a real InfluxDB.

Readings are written the way ingest writes them (``store.readings``) into ``raw``; the minute
and hour rollups are made by the continuous queries' own statements (``store.rollups.backfill``).
Expected figures come from GB 3095-2012 Table 4 (45 of 60 minutes, 20 of 24 hours) and the
24-hour breakpoints of HJ 633-2012 Table 1.
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
MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000
# 2026-11-10 00:00 Asia/Shanghai, within the raw policy's 400 days.
DAY = int(datetime(2026, 11, 9, 16, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def api(rolled: InfluxStore, city_sql: Engine) -> Iterator[TestClient]:
    api_settings = influx_settings(rolled, max_raw_window_days=2)
    # A bureau viewer reads every site; tests/api/test_route_boundary.py covers who reads what.
    with make_client(city_sql, api_settings, headers=key_headers(city_sql)) as client:
        yield client


def aqi(api: TestClient, resolution: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    response = api.get(
        f"/v1/sites/{SITE}/aqi",
        params={"resolution": resolution, "start": at(start_ms), "end": at(end_ms)},
    )
    assert response.status_code == 200, response.text
    windows: list[dict[str, Any]] = response.json()["windows"]
    return windows


def test_the_daily_aqi_is_the_larger_pm_iaqi_of_the_daily_means(api, rolled):
    # HJ 633-2012 Table 1, 24-hour breakpoints: PM2.5 115 µg/m³ is IAQI 150, PM10 50 is IAQI 50.
    store(rolled, HENGTONG, minutes(DAY, 1440, 115.0) + minutes(DAY, 1440, 50.0, metric="pm10"))

    [day] = aqi(api, "day", DAY, DAY + DAY_MS)

    assert (day["aqi"], day["category"], day["category_en"], day["primary"]) == (
        150,
        "轻度污染",
        "Lightly polluted",
        ["pm25"],
    )
    assert datetime.fromisoformat(day["start"]) == datetime.fromisoformat("2026-11-10T00:00+08:00")
    assert day["standard"] == "HJ 633-2012"
    assert {m: (v["value"], v["count"], v["valid"]) for m, v in day["means"].items()} == {
        "pm25": (115.0, 24, True),
        "pm10": (50.0, 24, True),
    }


def test_hours_need_45_minutes_and_days_20_hours(api, rolled):
    readings = minutes(DAY, 19 * 60, 35.0)  # 19 whole hours: IAQI 50
    readings += minutes(DAY + 19 * HOUR_MS, 44, 35.0)  # 44 minutes: no hourly value
    readings += minutes(DAY + 20 * HOUR_MS, 60, 500.0, quality=Quality.MAINTENANCE)  # excluded
    tomorrow = DAY + DAY_MS
    readings += minutes(tomorrow, 20 * 60, 35.0) + minutes(tomorrow + 21 * HOUR_MS, 45, 35.0)
    store(rolled, HENGTONG, readings)

    hours = aqi(api, "hour", DAY, DAY + DAY_MS)
    days = aqi(api, "day", DAY, DAY + 2 * DAY_MS)

    assert [h["aqi"] for h in hours] == [50] * 19 + [None] * 5
    assert hours[19]["means"]["pm25"]["reason"].startswith("44 of 60 minute values usable")
    assert "60 excluded by flag (M 60)" in hours[20]["means"]["pm25"]["reason"]
    assert hours[0]["category"] == "优"
    assert [(d["aqi"], d["means"]["pm25"]["count"]) for d in days] == [(None, 19), (50, 21)]
    assert days[0]["means"]["pm25"]["valid"] is False


def test_an_aqi_window_too_wide_is_422(api):
    response = api.get(
        f"/v1/sites/{SITE}/aqi",
        params={"resolution": "hour", "start": at(DAY), "end": at(DAY + 32 * DAY_MS)},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "an hourly AQI series covers at most 31 days"
    assert api.get(f"/v1/sites/{SITE}/aqi", params={"resolution": "week"}).status_code == 422


def test_completeness_counts_minutes_per_series_and_local_day(api, rolled):
    readings = minutes(DAY, 1440, 20.0) + minutes(DAY, 1440, 40.0, metric="pm10")
    readings += minutes(DAY, 720, 25.0, device="pm-2")
    readings += minutes(DAY + DAY_MS, 60, 20.0)
    store(rolled, HENGTONG, readings)
    store(rolled, QINGYUAN, minutes(DAY, 1440, 20.0))  # another gateway

    response = api.get(
        f"/v1/gateways/{HENGTONG.gateway}/completeness",
        params={"start": "2026-11-10", "end": "2026-11-11"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(d["day"], d["received"], d["expected"]) for d in body["days"]] == [
        ("2026-11-10", 1440 + 1440 + 720, 3 * 1440),
        ("2026-11-11", 60, 3 * 1440),
    ]
    assert body["days"][0]["completeness"] == pytest.approx(3600 / 4320)
    assert [(s["device"], s["metric"], s["received"]) for s in body["days"][0]["series"]] == [
        ("pm-1", "pm10", 1440),
        ("pm-1", "pm25", 1440),
        ("pm-2", "pm25", 720),
    ]


def test_completeness_refuses_unknown_gateways_and_reversed_days(api):
    unknown = api.get("/v1/gateways/gw-nowhere/completeness")
    reversed_days = api.get(
        f"/v1/gateways/{HENGTONG.gateway}/completeness",
        params={"start": "2026-11-11", "end": "2026-11-10"},
    )
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "no gateway 'gw-nowhere'"}
    assert reversed_days.status_code == 422


@pytest.mark.parametrize(
    "params",
    [{"end": "0001-01-03"}, {"start": "1677-09-21", "end": "1677-09-22"}, {"end": "9999-12-31"}],
)
def test_completeness_days_outside_the_readings_range_are_422(api, params):
    response = api.get(f"/v1/gateways/{HENGTONG.gateway}/completeness", params=params)

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "days must lie between 2000-01-01 and 2100-01-01, the range a reading's timestamp may have"
    )


def test_today_expects_only_the_minutes_begun_so_far(api, rolled):
    before = datetime.now(UTC)
    now_ms = int(before.timestamp() * 1000) // MINUTE_MS * MINUTE_MS
    store(rolled, HENGTONG, minutes(now_ms - 10 * MINUTE_MS, 10, 20.0))

    response = api.get(f"/v1/gateways/{HENGTONG.gateway}/completeness")
    after = datetime.now(UTC)

    [*_, today] = response.json()["days"]
    assert len(response.json()["days"]) == 7
    midnight = datetime.fromisoformat(today["day"] + "T00:00+08:00")
    begun = [-(-(moment - midnight).total_seconds() // 60) for moment in (before, after)]
    assert begun[0] <= today["expected"] <= begun[1]
    assert today["received"] == 10 or now_ms - 10 * MINUTE_MS < int(midnight.timestamp() * 1000)
