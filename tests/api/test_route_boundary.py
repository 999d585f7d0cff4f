"""The enterprise boundary on the reading, device, report, permit and target routes.

Real InfluxDB, SQLite and PostgreSQL. Hengtong's user ``zhang`` (enterprise A) and keys of
Qingyuan (enterprise B) ask for their own and each other's sites, gateways and reports: what
is the other's is 404 exactly as what does not exist; without credentials every route is 401.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.api.conftest import (
    ENT_A,
    ENT_B,
    HENGTONG,
    QINGYUAN,
    SITE_A,
    SITE_B,
    influx_settings,
    key_headers,
    make_client,
    minutes,
    sign_in,
    store,
)

from store.influx import InfluxStore
from store.sql import Role

pytestmark = pytest.mark.integration

GW_A, GW_B = HENGTONG.gateway, QINGYUAN.gateway
MONTH: dict[str, object] = {"year": 2026, "month": 10}
YEAR: dict[str, object] = {"year": 2026}


def routes(site: str, gateway: str, enterprise: str) -> dict[str, tuple[str, dict[str, object]]]:
    """Every route bounded by an enterprise, as path and query, for these ids."""
    compliance = f"/v1/reports/sites/{site}/compliance"
    energy = f"/v1/reports/enterprises/{enterprise}/energy"
    return {
        "series": (f"/v1/sites/{site}/series", {"metric": "pm25"}),
        "latest": (f"/v1/sites/{site}/latest", {}),
        "aqi": (f"/v1/sites/{site}/aqi", {}),
        "completeness": (f"/v1/gateways/{gateway}/completeness", {}),
        "gateway-devices": (f"/v1/gateways/{gateway}/devices", {}),
        "site-devices": (f"/v1/sites/{site}/devices", {}),
        "compliance": (compliance, MONTH),
        "compliance.csv": (compliance, MONTH | {"format": "csv"}),
        "compliance.xlsx": (compliance, MONTH | {"format": "xlsx"}),
        "energy": (energy, YEAR),
        "energy.csv": (energy, YEAR | {"format": "csv"}),
        "energy.xlsx": (energy, YEAR | {"format": "xlsx"}),
        "permits": ("/v1/permits", {"enterprise": enterprise}),
        "permits.site": ("/v1/permits", {"site": site}),
        "targets": ("/v1/targets", {"enterprise": enterprise}),
    }


OWN_A = routes(SITE_A, GW_A, ENT_A)
OF_B = routes(SITE_B, GW_B, ENT_B)
MISSING = routes("site-nowhere", "gw-nowhere", "ent-nowhere")
NAMED = {
    "series": "site",
    "latest": "site",
    "aqi": "site",
    "completeness": "gateway",
    "gateway-devices": "gateway",
    "site-devices": "site",
}
ROUTES = sorted(OWN_A)


def thing_of(route: str) -> tuple[str, str]:
    """What a 404 of ``route`` names for enterprise B's ids: ``(kind, id)``."""
    by_site = route.startswith("compliance") or route == "permits.site"
    kind = NAMED.get(route) or ("site" if by_site else "enterprise")
    return kind, {"site": SITE_B, "gateway": GW_B, "enterprise": ENT_B}[kind]


@pytest.fixture
def api(rolled: InfluxStore, city_sql: Engine, people) -> Iterator[TestClient]:
    # Both sites have readings within the last hour, so their own answers are not empty.
    recent = int((datetime.now(UTC) - timedelta(hours=1)).timestamp()) // 60 * 60_000
    store(rolled, HENGTONG, minutes(recent, 5, 11.0))
    store(rolled, QINGYUAN, minutes(recent, 5, 77.0))
    with make_client(city_sql, influx_settings(rolled)) as client:
        yield client


def call(api: TestClient, route: tuple[str, dict[str, object]], headers: dict[str, str]):
    path, params = route
    return api.get(path, params=params, headers=headers)


@pytest.mark.parametrize("route", ROUTES)
def test_an_enterprise_user_gets_its_own_and_404_for_another_enterprises(api, route):
    zhang = sign_in(api, "zhang")

    own = call(api, OWN_A[route], zhang)
    other = call(api, OF_B[route], zhang)
    missing = call(api, MISSING[route], zhang)

    assert own.status_code == 200, own.text
    assert (other.status_code, missing.status_code) == (404, 404), other.text
    kind, ident = thing_of(route)
    assert other.json() == {"detail": f"no {kind} {ident!r}"}  # as if it did not exist


@pytest.mark.parametrize("route", ROUTES)
def test_an_enterprise_key_is_bound_like_its_users(api, city_sql, route):
    key_b = key_headers(city_sql, Role.ENTERPRISE_USER, ENT_B)

    assert call(api, OF_B[route], key_b).status_code == 200
    assert call(api, OWN_A[route], key_b).status_code == 404


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_needs_a_caller(api, route):
    response = call(api, OWN_A[route], {})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("user", ["admin", "viewer"])
def test_bureau_roles_see_every_enterprise(api, user):
    headers = sign_in(api, user)

    for route in ROUTES:
        assert call(api, OWN_A[route], headers).status_code == 200, route
        assert call(api, OF_B[route], headers).status_code == 200, route


def test_what_an_enterprise_reads_is_its_own_sites_data(api):
    zhang = sign_in(api, "zhang")

    latest = call(api, OWN_A["latest"], zhang).json()
    series = call(api, OWN_A["series"], zhang).json()
    completeness = call(api, OWN_A["completeness"], zhang).json()

    assert [(m["metric"], m["value"]) for m in latest["metrics"]] == [("pm25", 11.0)]
    assert {p["value"] for p in series["points"]} == {11.0}
    assert completeness["gateway"] == GW_A
    assert sum(day["received"] for day in completeness["days"]) == 5
