"""Users managed through the API by bureau admins: list, create, deactivate; SQLite and PG."""

import pytest
from tests.api.conftest import ENT_A, PASSWORD, PEOPLE, sign_in

from store.sql import AccountStore

pytestmark = pytest.mark.integration

NEW = {"username": "liu", "display_name": "Liu Yang", "role": "enterprise_user"}


@pytest.fixture
def admin(api):
    return sign_in(api, "admin")


def test_admin_lists_users_without_their_hashes(api, admin):
    response = api.get("/v1/users", headers=admin)

    assert response.status_code == 200
    assert [u["username"] for u in response.json()] == sorted(PEOPLE)
    assert all("password" not in key for u in response.json() for key in u)
    assert {u["username"]: u["enterprise"] for u in response.json()}["zhang"] == ENT_A


@pytest.mark.parametrize("user", ["viewer", "zhang"])
def test_only_admins_manage_users(api, user):
    headers = sign_in(api, user)

    assert api.get("/v1/users", headers=headers).status_code == 403
    created = api.post("/v1/users", json=NEW | {"enterprise": ENT_A}, headers=headers)
    assert created.status_code == 403
    assert api.patch("/v1/users/wang", json={"active": False}, headers=headers).status_code == 403
    assert api.get("/v1/users").status_code == 401


def test_a_generated_password_is_returned_once_and_signs_in(api, admin, city_sql):
    response = api.post("/v1/users", json=NEW | {"enterprise": ENT_A}, headers=admin)

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["user"]["enterprise"] == ENT_A
    assert answer["user"]["active"] is True
    password = answer["password"]
    assert len(password) >= 16
    assert password not in AccountStore(city_sql).user("liu").password_hash
    me = api.get("/v1/auth/me", headers=sign_in(api, "liu", password))
    assert (me.json()["role"], me.json()["enterprise"]) == ("enterprise_user", ENT_A)


def test_a_password_set_by_the_admin_is_not_echoed(api, admin):
    body = NEW | {"username": "chen", "role": "bureau_viewer", "password": PASSWORD}
    response = api.post("/v1/users", json=body, headers=admin)

    assert response.status_code == 201, response.text
    assert response.json()["password"] is None
    sign_in(api, "chen", PASSWORD)


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"username": "zhang", "enterprise": ENT_A}, 409),
        ({"enterprise": "ent-none"}, 422),  # unknown enterprise
        ({}, 422),  # an enterprise user without an enterprise
        ({"role": "bureau_admin", "enterprise": ENT_A}, 422),  # a bureau user with one
        ({"role": "root", "enterprise": ENT_A}, 422),
        ({"username": "Has Space", "enterprise": ENT_A}, 422),
        ({"password": "short", "enterprise": ENT_A}, 422),
    ],
)
def test_a_bad_user_is_refused_and_nothing_is_written(api, admin, city_sql, changes, status):
    response = api.post("/v1/users", json=NEW | changes, headers=admin)

    assert response.status_code == status, response.text
    assert [u.username for u in AccountStore(city_sql).users()] == sorted(PEOPLE)


def test_a_deactivated_user_cannot_sign_in_until_reactivated(api, admin):
    wang = sign_in(api, "wang")

    off = api.patch("/v1/users/wang", json={"active": False}, headers=admin)

    assert off.status_code == 200, off.text
    assert off.json()["active"] is False
    assert api.get("/v1/auth/me", headers=wang).status_code == 401
    refused = api.post("/v1/auth/token", data={"username": "wang", "password": PASSWORD})
    assert refused.status_code == 400
    assert api.patch("/v1/users/wang", json={"active": True}, headers=admin).status_code == 200
    sign_in(api, "wang")
    assert api.patch("/v1/users/nobody", json={"active": False}, headers=admin).status_code == 404
