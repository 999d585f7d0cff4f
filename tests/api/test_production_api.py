"""Production submissions through the API, on real SQLite and PostgreSQL.

Enterprise users submit and read their own enterprise's figures only (another's is 404), bureau
admins any, bureau viewers read only; a resubmission replaces the figure and records who and
when; bad bodies are 422 naming the field, and store nothing.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from tests.api.conftest import ENT_A, ENT_B, key_headers, sign_in

from standards.windows import local_zone
from store.sql import ProductionPeriod, ProductionRecord, ProductionStore, Role

pytestmark = pytest.mark.integration

DAY = {"period": "day", "period_start": "2026-11-02", "quantity": 41.5, "unit": "t"}
PATH_A = f"/v1/enterprises/{ENT_A}/production"
PATH_B = f"/v1/enterprises/{ENT_B}/production"


def _figures(engine, enterprise: str) -> list[ProductionRecord]:
    return list(ProductionStore(engine).list(enterprise, date(2000, 1, 1), date(2100, 1, 1)))


def test_enterprise_user_submits_and_reads_its_own(api, city_sql):
    zhang = sign_in(api, "zhang")
    created = api.post(PATH_A, json=DAY | {"comment": "two furnaces"}, headers=zhang)
    assert created.status_code == 201, created.text
    assert created.json()["outcome"] == "created"
    figure = created.json()["figure"]
    assert figure["submitted_by"] == f"enterprise:{ENT_A}/zhang"
    assert figure["period_end"] == "2026-11-03"
    assert figure["comment"] == "two furnaces"
    [stored] = _figures(city_sql, ENT_A)
    assert (stored.quantity, stored.unit, stored.note) == (41.5, "t", "two furnaces")

    listed = api.get(PATH_A, params={"since": "2026-11-01", "until": "2026-12-01"}, headers=zhang)
    assert listed.status_code == 200, listed.text
    assert [i["quantity"] for i in listed.json()["items"]] == [41.5]


def test_resubmission_replaces_and_keeps_who_and_when(api, city_sql):
    zhang, admin = sign_in(api, "zhang"), sign_in(api, "admin")
    first = api.post(PATH_A, json=DAY, headers=zhang).json()["figure"]
    again = api.post(PATH_A, json=DAY | {"quantity": 40.0}, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json()["outcome"] == "replaced"
    figure = again.json()["figure"]
    assert figure["submitted_by"] == "user:admin"
    assert datetime.fromisoformat(figure["submitted_at"]) >= datetime.fromisoformat(
        first["submitted_at"]
    )
    [stored] = _figures(city_sql, ENT_A)
    assert (stored.quantity, stored.submitted_by) == (40.0, "user:admin")
    same = api.post(PATH_A, json=DAY | {"quantity": 40.0}, headers=admin)
    assert same.json()["outcome"] == "unchanged"


def test_boundary_other_enterprise_is_not_found(api, city_sql):
    zhang, wang = sign_in(api, "zhang"), sign_in(api, "wang")
    assert api.post(PATH_B, json=DAY, headers=wang).status_code == 201
    refused = api.post(PATH_B, json=DAY | {"quantity": 1.0}, headers=zhang)
    assert refused.status_code == 404
    assert refused.json()["detail"] == f"no enterprise {ENT_B!r}"
    assert api.get(PATH_B, headers=zhang).status_code == 404
    unknown = api.get("/v1/enterprises/ent-nowhere/production", headers=zhang)
    assert unknown.json() == refused.json() | {"detail": "no enterprise 'ent-nowhere'"}
    assert [f.quantity for f in _figures(city_sql, ENT_B)] == [41.5]


def test_viewer_reads_but_may_not_submit(api, city_sql):
    viewer = sign_in(api, "viewer")
    assert api.post(PATH_A, json=DAY, headers=sign_in(api, "admin")).status_code == 201
    assert api.post(PATH_A, json=DAY | {"quantity": 9.0}, headers=viewer).status_code == 403
    listed = api.get(PATH_A, params={"since": "2026-01-01"}, headers=viewer)
    assert [i["quantity"] for i in listed.json()["items"]] == [41.5]
    machine = key_headers(city_sql, Role.BUREAU_VIEWER)
    assert api.post(PATH_B, json=DAY, headers=machine).status_code == 403
    assert _figures(city_sql, ENT_B) == []


def test_not_signed_in_is_401(api):
    assert api.post(PATH_A, json=DAY).status_code == 401
    assert api.get(PATH_A).status_code == 401


def test_list_filters_by_period_and_range(api):
    admin = sign_in(api, "admin")
    month = {"period": "month", "period_start": "2026-10-01", "quantity": 1200, "unit": "t"}
    for body in (DAY, month, DAY | {"period_start": "2026-09-30"}):
        assert api.post(PATH_A, json=body, headers=admin).status_code == 201
    params = {"since": "2026-10-01", "until": "2026-12-01"}
    both = api.get(PATH_A, params=params, headers=admin).json()["items"]
    assert [(i["period"], i["period_start"]) for i in both] == [
        ("month", "2026-10-01"),
        ("day", "2026-11-02"),
    ]
    months = api.get(PATH_A, params=params | {"period": "month"}, headers=admin).json()
    assert [i["period_end"] for i in months["items"]] == ["2026-11-01"]
    bad = api.get(PATH_A, params={"since": "2026-12-01", "until": "2026-11-01"}, headers=admin)
    assert bad.status_code == 422
    assert api.get(PATH_A, params={"period": "week"}, headers=admin).status_code == 422
    wide = api.get(PATH_A, params={"since": "2020-01-01", "until": "2026-01-01"}, headers=admin)
    assert wide.status_code == 422


def _tomorrow() -> str:
    return str(datetime.now(UTC).astimezone(local_zone()).date() + timedelta(days=1))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"period": "week"}, "period"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"unit": "  "}, "unit"),
        ({"unit": "x" * 200}, "unit"),
        ({"period_start": "2026-11-31"}, "period_start"),
        ({"shift": "night"}, "shift"),
        ({"comment": "x" * 5000}, "comment"),
    ],
)
def test_bad_body_is_422_naming_the_field(api, city_sql, change, field):
    response = api.post(PATH_A, json=DAY | change, headers=sign_in(api, "zhang"))
    assert response.status_code == 422, response.text
    assert field in str(response.json()["detail"])
    assert _figures(city_sql, ENT_A) == []


def test_future_day_and_month_not_on_the_first_are_422(api, city_sql):
    zhang = sign_in(api, "zhang")
    future = api.post(PATH_A, json=DAY | {"period_start": _tomorrow()}, headers=zhang)
    assert future.status_code == 422
    assert "in the future" in future.json()["detail"]
    mid = api.post(PATH_A, json=DAY | {"period": "month"}, headers=zhang)
    assert mid.status_code == 422
    assert mid.json()["detail"] == "period_start: a month's figure starts on the 1st"
    assert _figures(city_sql, ENT_A) == []


def test_unit_must_match_the_years_other_figures(api, city_sql):
    zhang = sign_in(api, "zhang")
    assert api.post(PATH_A, json=DAY, headers=zhang).status_code == 201
    other = api.post(
        PATH_A, json=DAY | {"period_start": "2026-11-03", "unit": "pieces"}, headers=zhang
    )
    assert other.status_code == 422
    assert other.json()["detail"] == "unit: 2026's other figures are in t, not 'pieces'"
    # Correcting the only figure of a year may change its unit; another year may differ.
    assert api.post(PATH_A, json=DAY | {"unit": "kt"}, headers=zhang).status_code == 200
    next_year = DAY | {"period_start": "2025-12-31", "unit": "pieces"}
    assert api.post(PATH_A, json=next_year, headers=zhang).status_code == 201
    units = {(f.period_start, f.unit) for f in _figures(city_sql, ENT_A)}
    assert units == {(date(2026, 11, 2), "kt"), (date(2025, 12, 31), "pieces")}
    assert all(f.period is ProductionPeriod.DAY for f in _figures(city_sql, ENT_A))


def test_submitted_figures_are_what_the_energy_intensity_divides_by(api, city_sql):
    admin = sign_in(api, "admin")
    october = {"period": "month", "period_start": "2026-10-01", "quantity": 1200, "unit": "t"}
    for body in (october, DAY, DAY | {"period_start": "2026-10-05", "quantity": 99}):
        assert api.post(PATH_A, json=body, headers=admin).status_code == 201
    total = ProductionStore(city_sql).total(ENT_A, date(2026, 10, 1), date(2026, 11, 3))
    # October's own figure stands for the month; its day figure is ignored (docs/rules.md).
    assert (total.quantity, total.unit, total.days_covered) == (1241.5, "t", 32)
