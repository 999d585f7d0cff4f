"""Writing the registry through the API: bureau admins only; 409, 422; SQLite and PostgreSQL."""

import pytest
from tests.api.conftest import ENT_A, ENT_B, HENGTONG, QINGYUAN, SITE_A, SITE_B, sign_in

from store.broker import BrokerAccounts, verify_password
from store.sql import Registry

pytestmark = pytest.mark.integration

COUNTY = HENGTONG.county[0]
assert HENGTONG.park is not None
PARK = HENGTONG.park[0]
NEW_ENTERPRISE = {"id": "ent-new", "name": "New Works", "county": COUNTY, "park": PARK}
NEW_SITE = {
    "id": "site-new",
    "name": "New yard",
    "enterprise": ENT_A,
    "latitude": 36.5,
    "longitude": 116.2,
}


@pytest.fixture
def admin(api):
    return sign_in(api, "admin")


@pytest.mark.parametrize("user", ["viewer", "zhang"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/enterprises", NEW_ENTERPRISE),
        ("/v1/sites", NEW_SITE),
        ("/v1/gateways", {"id": "gw-9001", "site": SITE_A}),
        ("/v1/gateways/gw-0001/credentials", None),
    ],
)
def test_only_bureau_admins_write(api, city_sql, user, path, body):
    response = api.post(path, json=body, headers=sign_in(api, user))

    assert response.status_code == 403, response.text
    assert Registry(city_sql).list_sites(enterprise_id=ENT_A)[-1].id == SITE_A


@pytest.mark.parametrize("user", ["viewer", "zhang"])
def test_only_bureau_admins_move_gateways(api, city_sql, user):
    response = api.patch("/v1/gateways/gw-0001", json={"site": SITE_B}, headers=sign_in(api, user))

    assert response.status_code == 403
    assert Registry(city_sql).placement("gw-0001").site == SITE_A


def test_admin_creates_an_enterprise_and_a_site(api, admin, city_sql):
    enterprise = api.post("/v1/enterprises", json=NEW_ENTERPRISE, headers=admin)
    site = api.post("/v1/sites", json=NEW_SITE | {"enterprise": "ent-new"}, headers=admin)

    assert enterprise.status_code == 201, enterprise.text
    assert enterprise.json() == NEW_ENTERPRISE | {"name_zh": None}
    assert site.status_code == 201, site.text
    assert site.json() == NEW_SITE | {"enterprise": "ent-new"}
    stored = Registry(city_sql).get_site("site-new")
    assert (stored.latitude, stored.longitude) == (36.5, 116.2)


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        ("/v1/enterprises", NEW_ENTERPRISE | {"id": ENT_B}, f"enterprise {ENT_B!r} already exists"),
        ("/v1/sites", NEW_SITE | {"id": SITE_B}, f"site {SITE_B!r} already exists"),
        ("/v1/gateways", {"id": "gw-0002", "site": SITE_A}, "gateway 'gw-0002' already exists"),
    ],
)
def test_a_duplicate_id_is_409(api, admin, path, body, detail):
    response = api.post(path, json=body, headers=admin)

    assert response.status_code == 409
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        ("/v1/enterprises", NEW_ENTERPRISE | {"county": "atlantis"}, "unknown county 'atlantis'"),
        ("/v1/enterprises", NEW_ENTERPRISE | {"park": "no-park"}, "unknown park 'no-park'"),
        ("/v1/sites", NEW_SITE | {"enterprise": "ent-none"}, "unknown enterprise 'ent-none'"),
        ("/v1/gateways", {"id": "gw-9001", "site": "site-none"}, "unknown site 'site-none'"),
    ],
)
def test_an_unknown_parent_is_422_naming_it(api, admin, city_sql, path, body, detail):
    response = api.post(path, json=body, headers=admin)

    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert "gw-9001" not in Registry(city_sql).placements()
    assert BrokerAccounts(city_sql).accounts() == []


@pytest.mark.parametrize(
    "changes",
    [
        {"latitude": 90.5},
        {"longitude": -180.01},
        {"latitude": None},  # one coordinate without the other
        {"id": "site new"},  # not a topic level
        {"name": " "},
    ],
)
def test_a_bad_site_is_422_and_nothing_is_written(api, admin, city_sql, changes):
    response = api.post("/v1/sites", json=NEW_SITE | changes, headers=admin)

    assert response.status_code == 422, response.text
    assert [s.id for s in Registry(city_sql).list_sites(enterprise_id=ENT_A)] == [SITE_A]


def test_a_park_of_another_county_is_422(api, admin):
    other = QINGYUAN.county[0]
    response = api.post("/v1/enterprises", json=NEW_ENTERPRISE | {"county": other}, headers=admin)

    assert response.status_code == 422
    assert f"lies in county {COUNTY!r}" in response.json()["detail"]


def test_creating_a_gateway_issues_its_credentials_once(api, admin, city_sql):
    response = api.post("/v1/gateways", json={"id": "gw-9001", "site": SITE_B}, headers=admin)

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["gateway"]["enterprise"] == ENT_B
    assert answer["username"] == "gw-9001"
    assert answer["broker_files"]["written"] is False
    assert "lantian-api broker-files" in answer["broker_files"]["note"]
    (account,) = BrokerAccounts(city_sql).accounts()
    assert account.owner == "gw-9001"
    assert verify_password(answer["password"], account.password_hash)
    assert answer["password"] not in account.password_hash
    assert Registry(city_sql).placement("gw-9001").site == SITE_B


def test_a_gateway_id_in_the_services_namespace_is_refused_whole(api, admin, city_sql):
    response = api.post("/v1/gateways", json={"id": "svc-ingest", "site": SITE_A}, headers=admin)

    assert response.status_code == 422
    assert "service accounts" in response.json()["detail"]
    assert "svc-ingest" not in Registry(city_sql).placements()  # rolled back with the account


def test_rotating_replaces_the_password(api, admin, city_sql):
    first = api.post("/v1/gateways/gw-0001/credentials", headers=admin).json()["password"]
    second = api.post("/v1/gateways/gw-0001/credentials", headers=admin)

    assert second.status_code == 200, second.text
    (account,) = BrokerAccounts(city_sql).accounts()
    assert verify_password(second.json()["password"], account.password_hash)
    assert not verify_password(first, account.password_hash)
    assert api.post("/v1/gateways/gw-none/credentials", headers=admin).status_code == 404


def test_moving_a_gateway_retags_it(api, admin, city_sql):
    response = api.patch("/v1/gateways/gw-0001", json={"site": SITE_B}, headers=admin)

    assert response.status_code == 200, response.text
    assert (response.json()["site"], response.json()["enterprise"]) == (SITE_B, ENT_B)
    assert Registry(city_sql).placement("gw-0001").enterprise == ENT_B
    unknown_site = api.patch("/v1/gateways/gw-0001", json={"site": "nowhere"}, headers=admin)
    unknown_gateway = api.patch("/v1/gateways/gw-none", json={"site": SITE_A}, headers=admin)
    assert (unknown_site.status_code, unknown_site.json()) == (
        422,
        {"detail": "unknown site 'nowhere'"},
    )
    assert unknown_gateway.status_code == 404


def test_admin_renames_an_enterprise_and_relocates_a_site(api, admin, city_sql):
    enterprise = api.patch(f"/v1/enterprises/{ENT_A}", json={"name": "Hengtong"}, headers=admin)
    site = api.patch(
        f"/v1/sites/{SITE_A}", json={"latitude": 36.6, "longitude": 116.3}, headers=admin
    )

    assert enterprise.status_code == 200, enterprise.text
    assert (enterprise.json()["name"], enterprise.json()["name_zh"]) == (
        "Hengtong",
        HENGTONG.enterprise[2],
    )
    assert site.status_code == 200, site.text
    assert site.json()["name"] == HENGTONG.site_name
    stored = Registry(city_sql).get_site(SITE_A)
    assert (stored.latitude, stored.longitude) == (36.6, 116.3)


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (f"/v1/sites/{SITE_A}", {"latitude": 36.6}, 422),  # one coordinate alone
        (f"/v1/sites/{SITE_A}", {"latitude": 91.0, "longitude": 116.0}, 422),
        (f"/v1/sites/{SITE_A}", {"name": " "}, 422),
        (f"/v1/enterprises/{ENT_A}", {"name": "x" * 500}, 422),
        (f"/v1/enterprises/{ENT_A}", {"county": "yanggu"}, 422),  # not changeable here
        ("/v1/sites/site-none", {"name": "Yard"}, 404),
        ("/v1/enterprises/ent-none", {"name": "Works"}, 404),
    ],
)
def test_a_bad_change_is_refused_and_nothing_changes(api, admin, city_sql, path, body, status):
    before = (Registry(city_sql).get_site(SITE_A), Registry(city_sql).get_enterprise(ENT_A))

    response = api.patch(path, json=body, headers=admin)

    assert response.status_code == status, response.text
    assert (Registry(city_sql).get_site(SITE_A), Registry(city_sql).get_enterprise(ENT_A)) == before


@pytest.mark.parametrize("user", ["viewer", "zhang"])
def test_only_bureau_admins_change_enterprises_and_sites(api, city_sql, user):
    headers = sign_in(api, user)

    assert (
        api.patch(f"/v1/enterprises/{ENT_A}", json={"name": "X"}, headers=headers).status_code
        == 403
    )
    assert api.patch(f"/v1/sites/{SITE_A}", json={"name": "X"}, headers=headers).status_code == 403
    assert Registry(city_sql).get_site(SITE_A).name == HENGTONG.site_name
