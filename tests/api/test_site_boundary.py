"""The enterprise boundary on a site's readings: real InfluxDB, SQLite and PostgreSQL."""

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import ENT_B, SITE_A, SITE_B, settings, sign_in

from api.app import create_app
from store.connection import InfluxConnection
from store.sql import Role

pytestmark = pytest.mark.integration


@pytest.fixture
def api(influx, city_sql, people):
    connection = InfluxConnection(url=influx.url, database=influx.database, timeout_s=2.0)
    app = create_app(settings(influx=connection), influx=connection.open, engine=lambda: city_sql)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def readings(api, site, headers):
    return api.get(f"/v1/sites/{site}/readings", params={"metric": "pm25"}, headers=headers)


def test_an_enterprise_reads_its_own_sites_and_gets_404_for_others(api):
    zhang = sign_in(api, "zhang")

    own = readings(api, SITE_A, zhang)
    other = readings(api, SITE_B, zhang)
    missing = readings(api, "site-nowhere", zhang)

    assert own.status_code == 200, own.text
    assert (other.status_code, missing.status_code) == (404, 404)
    assert other.json() == {"detail": f"no site {SITE_B!r}"}  # as if it did not exist


@pytest.mark.parametrize("user", ["admin", "viewer"])
def test_bureau_roles_read_every_site(api, user):
    headers = sign_in(api, user)

    assert readings(api, SITE_A, headers).status_code == 200
    assert readings(api, SITE_B, headers).status_code == 200


def test_an_enterprise_key_is_bound_like_its_users(api, people):
    _, key = people.create_api_key("scada", role=Role.ENTERPRISE_USER, enterprise_id=ENT_B)

    assert readings(api, SITE_B, {"X-API-Key": key}).status_code == 200
    assert readings(api, SITE_A, {"X-API-Key": key}).status_code == 404


def test_readings_need_a_signed_in_caller(api):
    response = readings(api, SITE_A, {})

    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
