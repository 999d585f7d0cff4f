"""The registry, read through the API: every role, and the enterprise boundary; SQLite and PG."""

import pytest
from tests.api.conftest import ENT_A, ENT_B, HENGTONG, QINGYUAN, SITE_A, SITE_B, sign_in

from devstack.city import CITY

pytestmark = pytest.mark.integration

BUREAU = ["admin", "viewer"]
GW_A, GW_B = HENGTONG.gateway, QINGYUAN.gateway
assert HENGTONG.park is not None
PARK_A = HENGTONG.park[0]


def ids(response):
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


@pytest.mark.parametrize("user", BUREAU)
def test_bureau_roles_list_the_whole_registry(api, user):
    headers = sign_in(api, user)

    assert ids(api.get("/v1/counties", headers=headers)) == sorted({s.county[0] for s in CITY})
    assert ids(api.get("/v1/parks", headers=headers)) == sorted({s.park[0] for s in CITY if s.park})
    assert ids(api.get("/v1/enterprises", headers=headers)) == sorted(s.enterprise[0] for s in CITY)
    assert ids(api.get("/v1/sites", headers=headers)) == sorted(s.site for s in CITY)
    assert ids(api.get("/v1/gateways", headers=headers)) == sorted(s.gateway for s in CITY)


def test_details_carry_the_placement_and_coordinates(api):
    headers = sign_in(api, "viewer")

    site = api.get(f"/v1/sites/{SITE_A}", headers=headers).json()
    gateway = api.get(f"/v1/gateways/{GW_A}", headers=headers).json()
    enterprise = api.get(f"/v1/enterprises/{ENT_A}", headers=headers).json()
    park = api.get(f"/v1/parks/{PARK_A}", headers=headers).json()
    county = api.get(f"/v1/counties/{HENGTONG.county[0]}", headers=headers).json()

    assert (site["latitude"], site["longitude"]) == (HENGTONG.latitude, HENGTONG.longitude)
    assert site["enterprise"] == ENT_A
    assert {k: gateway[k] for k in ("site", "enterprise", "park", "county")} == {
        "site": SITE_A,
        "enterprise": ENT_A,
        "park": PARK_A,
        "county": HENGTONG.county[0],
    }
    assert "created_at" in gateway
    assert enterprise == {
        "id": ENT_A,
        "name": HENGTONG.enterprise[1],
        "name_zh": HENGTONG.enterprise[2],
        "park": PARK_A,
        "county": HENGTONG.county[0],
    }
    assert park["county"] == HENGTONG.county[0]
    assert county["name_zh"] == HENGTONG.county[2]


def test_lists_filter_by_parent(api):
    headers = sign_in(api, "viewer")
    county = HENGTONG.county[0]

    parks = ids(api.get("/v1/parks", params={"county": county}, headers=headers))
    enterprises = ids(api.get("/v1/enterprises", params={"park": PARK_A}, headers=headers))
    sites = ids(api.get("/v1/sites", params={"enterprise": ENT_B}, headers=headers))
    gateways = ids(api.get("/v1/gateways", params={"enterprise": ENT_B}, headers=headers))

    assert parks == sorted({s.park[0] for s in CITY if s.park and s.county[0] == county})
    assert enterprises == [ENT_A]
    assert (sites, gateways) == ([SITE_B], [GW_B])


def test_an_enterprise_lists_only_its_own(api):
    zhang = sign_in(api, "zhang")

    assert ids(api.get("/v1/enterprises", headers=zhang)) == [ENT_A]
    assert ids(api.get("/v1/sites", headers=zhang)) == [SITE_A]
    assert ids(api.get("/v1/gateways", headers=zhang)) == [GW_A]
    # Asking for another enterprise's gives nothing, not the other's records.
    assert ids(api.get("/v1/sites", params={"enterprise": ENT_B}, headers=zhang)) == []
    assert ids(api.get("/v1/gateways", params={"enterprise": ENT_B}, headers=zhang)) == []
    # The map is everyone's.
    assert len(ids(api.get("/v1/counties", headers=zhang))) == len({s.county[0] for s in CITY})


@pytest.mark.parametrize(
    ("path", "own", "other"),
    [
        ("enterprises", ENT_A, ENT_B),
        ("sites", SITE_A, SITE_B),
        ("gateways", GW_A, GW_B),
    ],
)
def test_another_enterprise_s_records_are_404_like_unknown_ones(api, path, own, other):
    zhang = sign_in(api, "zhang")

    assert api.get(f"/v1/{path}/{own}", headers=zhang).status_code == 200
    forbidden = api.get(f"/v1/{path}/{other}", headers=zhang)
    unknown = api.get(f"/v1/{path}/nothing-here", headers=zhang)

    assert (forbidden.status_code, unknown.status_code) == (404, 404)
    assert forbidden.json()["detail"] == unknown.json()["detail"].replace("nothing-here", other)


@pytest.mark.parametrize("path", ["counties/nowhere", "parks/nowhere"])
def test_unknown_county_or_park_is_404(api, path):
    assert api.get(f"/v1/{path}", headers=sign_in(api, "viewer")).status_code == 404


@pytest.mark.parametrize(
    "path", ["counties", "parks", "enterprises", "sites", "gateways", f"gateways/{GW_A}"]
)
def test_reading_the_registry_needs_a_signed_in_caller(api, path):
    assert api.get(f"/v1/{path}").status_code == 401
