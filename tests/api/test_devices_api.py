"""Devices of a gateway and of a site, as the stored readings show them.

Real InfluxDB (readings written as ingest writes them), SQLite and PostgreSQL. Hengtong's
gateway has two devices reporting now and one silent for ten days; Qingyuan's one device.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.api.conftest import (
    HENGTONG,
    MINUTE_MS,
    QINGYUAN,
    SITE_A,
    SITE_B,
    at,
    influx_settings,
    make_client,
    minutes,
    sign_in,
    store,
)

from store.influx import InfluxStore

pytestmark = pytest.mark.integration

GW_A, GW_B = HENGTONG.gateway, QINGYUAN.gateway
NOW = datetime.now(UTC)
RECENT = int((NOW - timedelta(hours=1)).timestamp()) // 60 * 60_000
OLD = int((NOW - timedelta(days=10)).timestamp()) // 60 * 60_000


@pytest.fixture
def readings(rolled: InfluxStore) -> InfluxStore:
    store(
        rolled,
        HENGTONG,
        minutes(RECENT, 5, 11.0)  # pm-1: pm25 until RECENT + 4 min
        + minutes(RECENT, 3, 20.0, metric="pm10")  # and pm10 until RECENT + 2 min
        + minutes(RECENT, 2, 400.0, device="meter-1", metric="active_power")
        + minutes(OLD, 3, 9.0, device="pm-old"),  # silent for ten days
    )
    store(rolled, QINGYUAN, minutes(RECENT, 1, 77.0))
    return rolled


def client(engine: Engine, influx: InfluxStore, **changes: object) -> TestClient:
    return make_client(engine, influx_settings(influx, **changes))


@pytest.fixture
def api(readings: InfluxStore, city_sql: Engine, people) -> Iterator[TestClient]:
    with client(city_sql, readings) as api:
        yield api


def devices(api: TestClient, path: str, headers: dict[str, str]) -> dict[str, Any]:
    response = api.get(path, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_gateways_devices_with_their_metrics_and_last_readings(api):
    body = devices(api, f"/v1/gateways/{GW_A}/devices", sign_in(api, "zhang"))

    assert [(d["id"], d["gateway"]) for d in body["devices"]] == [
        ("meter-1", GW_A),
        ("pm-1", GW_A),
    ]
    meter, pm = body["devices"]
    assert [(m["metric"], m["unit"], m["last_ts"]) for m in pm["metrics"]] == [
        ("pm10", "µg/m³", RECENT + 2 * MINUTE_MS),
        ("pm25", "µg/m³", RECENT + 4 * MINUTE_MS),
    ]
    assert pm["last_ts"] == RECENT + 4 * MINUTE_MS
    assert datetime.fromisoformat(pm["last_seen"]) == datetime.fromisoformat(
        at(RECENT + 4 * MINUTE_MS)
    )
    assert [m["metric"] for m in meter["metrics"]] == ["active_power"]
    assert meter["last_ts"] == RECENT + MINUTE_MS


def test_a_sites_devices_are_its_gateways(api):
    body = devices(api, f"/v1/sites/{SITE_B}/devices", sign_in(api, "wang"))

    assert [(d["id"], d["gateway"], d["last_ts"]) for d in body["devices"]] == [
        ("pm-1", GW_B, RECENT)
    ]
    assert [m["metric"] for m in body["devices"][0]["metrics"]] == ["pm25"]


def test_a_device_silent_longer_than_the_lookback_is_not_listed(api, readings, city_sql):
    path, admin = f"/v1/sites/{SITE_A}/devices", sign_in(api, "admin")
    before = datetime.now(UTC)
    week = devices(api, path, admin)
    after = datetime.now(UTC)
    with client(city_sql, readings, device_lookback_days=14) as wider:
        fortnight = devices(wider, path, sign_in(wider, "admin"))

    assert [d["id"] for d in week["devices"]] == ["meter-1", "pm-1"]
    assert [d["id"] for d in fortnight["devices"]] == ["meter-1", "pm-1", "pm-old"]
    assert fortnight["devices"][2]["last_ts"] == OLD + 2 * MINUTE_MS
    since = datetime.fromisoformat(week["since"])
    assert before - timedelta(days=7) <= since <= after - timedelta(days=7)


def test_nothing_seen_is_an_empty_list(rolled, city_sql, people):
    with client(city_sql, rolled) as api:
        body = devices(api, f"/v1/gateways/{GW_A}/devices", sign_in(api, "viewer"))

    assert body["devices"] == []


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        (f"/v1/gateways/{GW_B}/devices", f"no gateway {GW_B!r}"),
        (f"/v1/sites/{SITE_B}/devices", f"no site {SITE_B!r}"),
        ("/v1/gateways/gw-nowhere/devices", "no gateway 'gw-nowhere'"),
        ("/v1/sites/site-nowhere/devices", "no site 'site-nowhere'"),
    ],
)
def test_another_enterprises_or_an_unknown_gateway_or_site_is_404(api, path, detail):
    response = api.get(path, headers=sign_in(api, "zhang"))

    assert response.status_code == 404
    assert response.json() == {"detail": detail}
