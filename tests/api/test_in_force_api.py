"""The permits and targets in force through the API, on real SQLite and PostgreSQL.

The snapshot is what the rules service publishes (tests/rules/test_in_force.py); here it is
published straight to the store. Bureau callers see all of it; Hengtong's user ``zhang`` sees
Hengtong's permits and the targets that apply to Hengtong (the city's and Chiping's among
them); Qingyuan's ids answer 404 as unknown ones do.
"""

from datetime import UTC, date, datetime

import pytest
from tests.api.conftest import ENT_A, ENT_B, SITE_A, SITE_B, key_headers, sign_in

from store.sql import PermitInForce, Role, RulesInForce, TargetInForce

pytestmark = pytest.mark.integration

PUBLISHED = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
VERSION = "2026.1+3f9a0c1b2d4e"


def permit(enterprise=None, site=None, *, since=date(2026, 1, 1), until=None, limit=120.0):
    return PermitInForce(
        enterprise, site, "pm10", "day", limit, since, until, "permit 1", "city.yaml", VERSION
    )


def energy(rule_id, enterprise):
    return TargetInForce(
        rule_id, "energy_intensity", "enterprise", None, None, enterprise, None,
        "energy_import_delta", "month", 1.8, "city.yaml", VERSION,
    )  # fmt: skip


def annual(rule_id, level, county=None):
    return TargetInForce(
        rule_id, "annual_target", level, county, None, None, None, "pm25", "year", 35.0,
        "city.yaml", VERSION, baseline_year=2020, baseline_value=52.0, target_year=2030,
        margin=2.0,
    )  # fmt: skip


PERMITS = [
    permit(site=SITE_A),  # Hengtong's east boundary
    permit(ENT_A, limit=140.0, until=date(2026, 6, 30)),  # all of Hengtong, until June
    permit(site=SITE_B, limit=90.0),  # Qingyuan's
]
TARGETS = [
    annual("city-pm25", "city"),
    annual("chiping-pm25", "county", "chiping"),
    annual("yanggu-pm25", "county", "yanggu"),
    energy("hengtong-energy", ENT_A),
    energy("qingyuan-energy", ENT_B),
]


@pytest.fixture
def published(city_sql):
    RulesInForce(city_sql).replace(PERMITS, TARGETS, PUBLISHED)


def rules_of(response):
    assert response.status_code == 200, response.text
    return [item["rule"] for item in response.json()["items"]]


def limits_of(response):
    assert response.status_code == 200, response.text
    return [(item["enterprise"], item["site"], item["limit"]) for item in response.json()["items"]]


def test_nothing_published_yet_is_an_empty_list(api):
    response = api.get("/v1/permits", headers=sign_in(api, "viewer"))

    assert response.status_code == 200, response.text
    assert response.json() == {"published_at": None, "items": []}


@pytest.mark.usefixtures("published")
def test_a_bureau_caller_sees_every_permit_and_filters_them(api):
    viewer = sign_in(api, "viewer")

    every = api.get("/v1/permits", headers=viewer)
    assert limits_of(every) == [(None, SITE_A, 120.0), (ENT_A, None, 140.0), (None, SITE_B, 90.0)]
    assert datetime.fromisoformat(every.json()["published_at"]) == PUBLISHED
    assert every.json()["items"][1] == {
        "enterprise": ENT_A,
        "site": None,
        "metric": "pm10",
        "window": "day",
        "limit": 140.0,
        "effective_from": "2026-01-01",
        "effective_until": "2026-06-30",
        "reference": "permit 1",
        "rule_file": "city.yaml",
        "file_version": VERSION,
    }
    of_b = api.get("/v1/permits", params={"enterprise": ENT_B}, headers=viewer)
    assert limits_of(of_b) == [(None, SITE_B, 90.0)]
    in_july = {"site": SITE_A, "in_force_on": "2026-07-01"}
    assert limits_of(api.get("/v1/permits", params=in_july, headers=viewer)) == [
        (None, SITE_A, 120.0)
    ]


@pytest.mark.usefixtures("published")
def test_an_enterprise_user_sees_its_own_permits_only(api):
    zhang = sign_in(api, "zhang")

    own = [(None, SITE_A, 120.0), (ENT_A, None, 140.0)]
    assert limits_of(api.get("/v1/permits", headers=zhang)) == own
    assert limits_of(api.get("/v1/permits", params={"enterprise": ENT_A}, headers=zhang)) == own
    assert limits_of(api.get("/v1/permits", params={"site": SITE_A}, headers=zhang)) == own


@pytest.mark.usefixtures("published")
@pytest.mark.parametrize(
    ("path", "params", "detail"),
    [
        ("/v1/permits", {"enterprise": ENT_B}, f"no enterprise {ENT_B!r}"),
        ("/v1/permits", {"site": SITE_B}, f"no site {SITE_B!r}"),
        ("/v1/permits", {"enterprise": "ent-nowhere"}, "no enterprise 'ent-nowhere'"),
        ("/v1/targets", {"enterprise": ENT_B}, f"no enterprise {ENT_B!r}"),
        ("/v1/targets", {"enterprise": "ent-nowhere"}, "no enterprise 'ent-nowhere'"),
    ],
)
def test_another_enterprises_ids_answer_404_as_unknown_ones(api, path, params, detail):
    response = api.get(path, params=params, headers=sign_in(api, "zhang"))

    assert response.status_code == 404, response.text
    assert response.json() == {"detail": detail}


@pytest.mark.usefixtures("published")
def test_an_enterprise_user_sees_its_targets_and_the_citys_and_its_countys(api, city_sql):
    expected = ["city-pm25", "chiping-pm25", "hengtong-energy"]
    assert rules_of(api.get("/v1/targets", headers=sign_in(api, "zhang"))) == expected
    key_b = key_headers(city_sql, Role.ENTERPRISE_USER, ENT_B)
    assert rules_of(api.get("/v1/targets", headers=key_b)) == [
        "city-pm25",
        "yanggu-pm25",
        "qingyuan-energy",
    ]


@pytest.mark.usefixtures("published")
def test_a_bureau_caller_sees_every_target_and_its_shape(api):
    admin = sign_in(api, "admin")

    every = api.get("/v1/targets", headers=admin)
    assert rules_of(every) == [t.rule_id for t in TARGETS]
    chiping = every.json()["items"][1]
    assert chiping == {
        "rule": "chiping-pm25",
        "kind": "annual_target",
        "level": "county",
        "scope": {"county": "chiping", "park": None, "enterprise": None, "site": None},
        "metric": "pm25",
        "window": "year",
        "target": 35.0,
        "target_year": 2030,
        "baseline": {"year": 2020, "value": 52.0},
        "margin": 2.0,
        "rule_file": "city.yaml",
        "file_version": VERSION,
    }
    of_a = api.get("/v1/targets", params={"enterprise": ENT_A}, headers=admin)
    assert rules_of(of_a) == ["city-pm25", "chiping-pm25", "hengtong-energy"]
    hengtong = of_a.json()["items"][2]
    assert (hengtong["target"], hengtong["baseline"], hengtong["target_year"]) == (1.8, None, None)


def test_both_routes_need_a_caller(api):
    for path in ("/v1/permits", "/v1/targets"):
        assert api.get(path).status_code == 401
