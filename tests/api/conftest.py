"""The API over the simulated city's registry on real SQLite and PostgreSQL, with its people.

``api`` is the application in-process (its lifespan runs); ``people`` are one user of each
role: ``admin`` (bureau_admin), ``viewer`` (bureau_viewer), ``zhang`` of Hengtong and
``wang`` of Qingyuan (enterprise_user). ``sign_in`` gets a user's bearer headers the way a
client does, through ``POST /v1/auth/token``; ``key_headers`` makes an API key of a role, as a
machine presents it. ``influx_settings`` points a test API at the ``influx`` fixture's server;
``rolled`` is that server with the rollups' policies, which ``store`` fills as ingest does.
"""

import dataclasses
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.security.passwords import hash_password, hasher_of
from api.settings import ApiSettings
from devstack.city import CITY, SimSite, register
from store.connection import InfluxConnection
from store.influx import InfluxStore
from store.readings import reading_points
from store.rollups import ROLLUPS, Retention, backfill, prepare_retention
from store.sql import (
    AccountStore,
    AlertStore,
    Placement,
    Registry,
    Role,
    RuleResult,
    create_engine_for,
)
from telemetry import Quality, Reading

JWT_SECRET = secrets.token_urlsafe(48)
PASSWORD = "correct horse battery staple"  # noqa: S105 - the test users'
HENGTONG, QINGYUAN = CITY[0], CITY[1]
ENT_A, ENT_B = HENGTONG.enterprise[0], QINGYUAN.enterprise[0]
SITE_A, SITE_B = HENGTONG.site, QINGYUAN.site
T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
PEOPLE = {
    "admin": (Role.BUREAU_ADMIN, None),
    "viewer": (Role.BUREAU_VIEWER, None),
    "zhang": (Role.ENTERPRISE_USER, ENT_A),
    "wang": (Role.ENTERPRISE_USER, ENT_B),
}


def settings(**changes: object) -> ApiSettings:
    """Settings of a test API: no InfluxDB needed (nothing listens on port 9)."""
    values: dict[str, object] = {
        "influx": InfluxConnection(url="http://127.0.0.1:9", database="lantian", timeout_s=1.0),
        "jwt_secret": JWT_SECRET,
        # argon2 at its lightest: sign-in in a millisecond, not a sixth of a second
        "password_time_cost": 1,
        "password_memory_kib": 1024,
        "password_parallelism": 1,
    }
    return ApiSettings.model_validate(values | changes)


def influx_settings(influx: InfluxStore, **changes: object) -> ApiSettings:
    """Settings of a test API reading the real InfluxDB of the ``influx`` fixture."""
    connection = InfluxConnection(url=influx.url, database=influx.database, timeout_s=5.0)
    return settings(influx=connection, **changes)


@pytest.fixture
def city_sql(sql_url) -> Iterator[Engine]:
    engine = create_engine_for(sql_url)
    register(Registry(engine), CITY)
    yield engine
    engine.dispose()


@pytest.fixture
def people(city_sql):
    accounts = AccountStore(city_sql)
    password_hash = hash_password(PASSWORD, hasher_of(settings()))
    for username, (role, enterprise) in PEOPLE.items():
        accounts.add_user(
            username,
            display_name=username.title(),
            password_hash=password_hash,
            role=role,
            enterprise_id=enterprise,
        )
    return accounts


def make_client(
    engine: Engine,
    api_settings: ApiSettings | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> TestClient:
    """The API in-process; server errors come back as a 500 response the test can check."""
    api_settings = api_settings or settings()
    app = create_app(api_settings, influx=api_settings.influx.open, engine=lambda: engine)
    return TestClient(app, raise_server_exceptions=False, headers=headers)


def key_headers(
    engine: Engine, role: Role = Role.BUREAU_VIEWER, enterprise: str | None = None
) -> dict[str, str]:
    """The header of a new API key of ``role`` (and ``enterprise``), as a machine sends it."""
    _, key = AccountStore(engine).create_api_key(
        f"test-{role.value}".replace("_", "-"), role=role, enterprise_id=enterprise
    )
    return {"X-API-Key": key}


@pytest.fixture
def api(city_sql, people) -> Iterator[TestClient]:
    with make_client(city_sql) as client:
        yield client


def sign_in(api: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = api.post("/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def result(enterprise: str | None, site: str | None, **changes: Any) -> RuleResult:
    base = RuleResult(
        rule="pm25-spike",
        rule_version="2026.1+3f9a0c1b2d4e",
        kind="threshold",
        subject=f"site:{site}/device:pm-1",
        window_start=T0,
        outcome="firing",
        severity="major",
        value=180.0,
        limit=150.0,
        standard="GB 3095-2012 table 1 (24 h mean, class 2)",
        county="chiping",
        park=None,
        enterprise=enterprise,
        site=site,
        device="pm-1",
        gateway="gw-0001",
        evidence={"metric": "pm25", "readings": {"count": 12}},
        revision=1,
    )
    return dataclasses.replace(base, **changes)


def open_alert(engine: Engine, enterprise: str | None, site: str | None, **changes) -> int:
    """A firing alert of ``enterprise`` at ``site``, as the rules service would leave it."""
    with AlertStore(engine).transaction(T0) as alerts:
        alert = alerts.open(result(enterprise, site, **changes))
        alerts.fire([alert.id])
    return alert.id


MINUTE_MS = 60_000


def at(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat()


def minutes(
    start_ms: int,
    count: int,
    value: float,
    *,
    device: str = "pm-1",
    metric: str = "pm25",
    spread: float = 1.0,
    quality: Quality = Quality.NORMAL,
) -> list[Reading]:
    """One gateway aggregate per minute, as gateways publish them."""
    return [
        Reading(
            device=device,
            metric=metric,
            value=value,
            ts=start_ms + n * MINUTE_MS,
            quality=quality,
            min=value - spread,
            max=value + spread,
            count=6,
            valid=True,
            interval_s=60,
        )
        for n in range(count)
    ]


def store(influx: InfluxStore, sim: SimSite, readings: list[Reading]) -> None:
    """Write as ingest does, then roll up as the CQs and ingest's backfill do."""
    park = sim.park[0] if sim.park else None
    placement = Placement(sim.gateway, sim.site, sim.enterprise[0], park, sim.county[0])
    influx.write(reading_points(placement, readings))
    first, last = min(r.ts for r in readings), max(r.ts for r in readings) + MINUTE_MS
    for rollup in ROLLUPS:
        backfill(influx, rollup, start_ms=first, end_ms=last)


@pytest.fixture
def rolled(influx: InfluxStore) -> InfluxStore:
    """The ``influx`` fixture's database with the rollups' retention policies."""
    prepare_retention(influx, Retention())
    return influx
