"""The alert endpoints on SQLite and PostgreSQL: the boundary, each role, the audit trail, 4xx."""

from datetime import timedelta

import pytest
from tests.api.conftest import ENT_A, ENT_B, SITE_A, SITE_B, T0, open_alert, sign_in

from store.sql import AlertStore, Role

pytestmark = pytest.mark.integration

ACTIONS = {
    "acknowledge": {"comment": "Filter bag replaced at 10:40"},
    "comment": {"comment": "Called the plant manager"},
    "assign": {"assignee": "admin"},
    "close": {"comment": "Confirmed fixed on site"},
}


@pytest.fixture
def alerts(city_sql):
    """Hengtong's alert, Qingyuan's alert, and a city-wide one of no enterprise."""
    a = open_alert(city_sql, ENT_A, SITE_A)
    b = open_alert(city_sql, ENT_B, SITE_B)
    city = open_alert(city_sql, None, None, rule="annual-pm25", subject="city", severity="warning")
    return {"a": a, "b": b, "city": city}


@pytest.fixture
def as_(api):
    cache = {}

    def headers(username):
        if username not in cache:
            cache[username] = sign_in(api, username)
        return cache[username]

    return headers


def ids(response):
    assert response.status_code == 200, response.text
    return [alert["id"] for alert in response.json()["items"]]


# --- reading --------------------------------------------------------------------------------


def test_bureau_roles_list_every_alert_newest_first(api, as_, alerts):
    for user in ("admin", "viewer"):
        assert ids(api.get("/v1/alerts", headers=as_(user))) == [
            alerts["city"],
            alerts["b"],
            alerts["a"],
        ]


def test_an_enterprise_lists_only_its_own_alerts(api, as_, alerts):
    assert ids(api.get("/v1/alerts", headers=as_("zhang"))) == [alerts["a"]]
    assert ids(api.get("/v1/alerts", headers=as_("wang"))) == [alerts["b"]]


def test_an_enterprise_asking_for_another_enterprise_gets_an_empty_list(api, as_, alerts):
    response = api.get("/v1/alerts", params={"enterprise": ENT_B}, headers=as_("zhang"))

    assert ids(response) == []
    assert ids(api.get("/v1/alerts", params={"site": SITE_B}, headers=as_("zhang"))) == []


def test_an_enterprise_key_sees_what_its_users_see(api, people, alerts):
    _, key = people.create_api_key("scada", role=Role.ENTERPRISE_USER, enterprise_id=ENT_B)

    assert ids(api.get("/v1/alerts", headers={"X-API-Key": key})) == [alerts["b"]]
    assert api.get(f"/v1/alerts/{alerts['a']}", headers={"X-API-Key": key}).status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"enterprise": ENT_A}, ["a"]),
        ({"site": SITE_B}, ["b"]),
        ({"rule": "annual-pm25"}, ["city"]),
        ({"severity": "warning"}, ["city"]),
        ({"state": "firing"}, ["city", "b", "a"]),
        ({"state": "closed"}, []),
        ({"park": "xinfa-materials"}, []),  # the test results carry no park
        ({"opened_from": T0.isoformat()}, ["city", "b", "a"]),
        ({"opened_until": T0.isoformat()}, []),
        ({"opened_from": (T0 + timedelta(seconds=1)).isoformat()}, []),
    ],
)
def test_the_list_filters(api, as_, alerts, params, expected):
    response = api.get("/v1/alerts", params=params, headers=as_("viewer"))

    assert ids(response) == [alerts[name] for name in expected]


def test_the_list_comes_a_page_at_a_time(api, as_, alerts):
    first = api.get("/v1/alerts", params={"limit": 2}, headers=as_("admin")).json()
    second = api.get(
        "/v1/alerts", params={"limit": 2, "before": first["next_before"]}, headers=as_("admin")
    ).json()

    assert [a["id"] for a in first["items"]] == [alerts["city"], alerts["b"]]
    assert first["next_before"] == alerts["b"]
    assert [a["id"] for a in second["items"]] == [alerts["a"]]
    assert second["next_before"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "burning"}, "state"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"before": -1}, "before"),
        ({"opened_from": "2026-11-26T10:00:00"}, "opened_from"),
    ],
)
def test_a_bad_list_query_is_422_naming_the_field(api, as_, alerts, params, field):
    response = api.get("/v1/alerts", params=params, headers=as_("viewer"))

    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]


def test_an_empty_time_range_is_422(api, as_):
    params = {"opened_from": T0.isoformat(), "opened_until": T0.isoformat()}
    response = api.get("/v1/alerts", params=params, headers=as_("viewer"))

    assert response.status_code == 422
    assert response.json() == {"detail": "opened_from must be before opened_until"}


def test_one_alert_comes_with_its_evidence_versions_limit_and_audit_trail(api, as_, alerts):
    response = api.get(f"/v1/alerts/{alerts['a']}", headers=as_("zhang"))

    assert response.status_code == 200, response.text
    alert = response.json()
    assert (alert["id"], alert["enterprise"], alert["site"], alert["state"]) == (
        alerts["a"],
        ENT_A,
        SITE_A,
        "firing",
    )
    assert alert["rule_version"] == "2026.1+3f9a0c1b2d4e"
    assert (alert["value"], alert["limit"]) == (180.0, 150.0)
    assert alert["standard"] == "GB 3095-2012 table 1 (24 h mean, class 2)"
    assert alert["evidence"]["evidence"] == {"metric": "pm25", "readings": {"count": 12}}
    assert alert["evidence"]["standard"] == alert["standard"]
    assert alert["trigger"]["rule_version"] == "2026.1+3f9a0c1b2d4e"
    assert [(e["action"], e["actor"], e["state"]) for e in alert["events"]] == [
        ("opened", "system", "pending"),
        ("fired", "system", "firing"),
    ]


def test_another_enterprises_alert_is_404_like_one_that_does_not_exist(api, as_, alerts):
    other = api.get(f"/v1/alerts/{alerts['b']}", headers=as_("zhang"))
    city = api.get(f"/v1/alerts/{alerts['city']}", headers=as_("zhang"))
    missing = api.get("/v1/alerts/999999", headers=as_("zhang"))

    assert (other.status_code, city.status_code, missing.status_code) == (404, 404, 404)
    assert other.json() == {"detail": f"no alert {alerts['b']}"}
    assert missing.json() == {"detail": "no alert 999999"}


def test_reading_alerts_needs_a_signed_in_caller(api, alerts):
    assert api.get("/v1/alerts").status_code == 401
    assert api.get(f"/v1/alerts/{alerts['a']}").status_code == 401


# --- acting ---------------------------------------------------------------------------------


def test_an_enterprise_acknowledges_its_alert_under_its_users_name(api, as_, alerts, city_sql):
    response = api.post(
        f"/v1/alerts/{alerts['a']}/acknowledge", json=ACTIONS["acknowledge"], headers=as_("zhang")
    )

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "acknowledged"
    assert response.json()["acknowledged_by"] == f"enterprise:{ENT_A}/zhang"
    [*_, event] = AlertStore(city_sql).events(alerts["a"])
    assert (event.action, event.actor, event.comment) == (
        "acknowledged",
        f"enterprise:{ENT_A}/zhang",
        "Filter bag replaced at 10:40",
    )


@pytest.mark.parametrize("action", ["acknowledge", "comment", "assign", "close"])
def test_an_enterprise_gets_404_acting_on_another_enterprises_alert(api, as_, alerts, action):
    response = api.post(
        f"/v1/alerts/{alerts['b']}/{action}", json=ACTIONS[action], headers=as_("zhang")
    )

    expected = 404 if action in {"acknowledge", "comment"} else 403
    assert response.status_code == expected, response.text


@pytest.mark.parametrize(
    ("user", "action", "expected"),
    [
        ("admin", "acknowledge", 200),
        ("admin", "comment", 200),
        ("admin", "assign", 200),
        ("admin", "close", 200),
        ("viewer", "acknowledge", 403),
        ("viewer", "comment", 403),
        ("viewer", "assign", 403),
        ("viewer", "close", 403),
        ("zhang", "acknowledge", 200),
        ("zhang", "comment", 200),
        ("zhang", "assign", 403),
        ("zhang", "close", 403),
    ],
)
def test_what_each_role_may_do(api, as_, alerts, city_sql, user, action, expected):
    before = len(AlertStore(city_sql).events(alerts["a"]))

    response = api.post(
        f"/v1/alerts/{alerts['a']}/{action}", json=ACTIONS[action], headers=as_(user)
    )

    assert response.status_code == expected, response.text
    events = AlertStore(city_sql).events(alerts["a"])
    if expected == 200:
        actor = f"enterprise:{ENT_A}/zhang" if user == "zhang" else f"user:{user}"
        assert len(events) == before + 1
        assert events[-1].actor == actor
    else:
        assert "may not" in response.json()["detail"]
        assert len(events) == before  # a refusal changes nothing


def test_bureau_admins_act_on_alerts_of_no_enterprise(api, as_, alerts):
    response = api.post(
        f"/v1/alerts/{alerts['city']}/close", json=ACTIONS["close"], headers=as_("admin")
    )

    assert response.status_code == 200
    assert response.json()["closed_by"] == "user:admin"


def test_an_api_key_acts_under_its_own_name(api, people, alerts, city_sql):
    record, key = people.create_api_key("ops-bot", role=Role.BUREAU_ADMIN)

    response = api.post(
        f"/v1/alerts/{alerts['b']}/comment", json=ACTIONS["comment"], headers={"X-API-Key": key}
    )

    assert response.status_code == 200
    assert AlertStore(city_sql).events(alerts["b"])[-1].actor == f"user:key:{record.id}"


@pytest.mark.parametrize(
    ("first", "then", "why"),
    [
        ("close", "acknowledge", "cannot be acknowledged while closed"),
        ("close", "close", "cannot be closed while closed"),
        ("close", "assign", "cannot be assigned while closed"),
        ("acknowledge", "acknowledge", "cannot be acknowledged while acknowledged"),
    ],
)
def test_a_wrong_transition_is_409_saying_why(api, as_, alerts, first, then, why):
    url = f"/v1/alerts/{alerts['a']}"
    assert api.post(f"{url}/{first}", json=ACTIONS[first], headers=as_("admin")).status_code == 200

    response = api.post(f"{url}/{then}", json=ACTIONS[then], headers=as_("admin"))

    assert response.status_code == 409
    assert why in response.json()["detail"]


def test_comments_are_allowed_even_on_a_closed_alert(api, as_, alerts):
    url = f"/v1/alerts/{alerts['a']}"
    api.post(f"{url}/close", json=ACTIONS["close"], headers=as_("admin"))

    response = api.post(f"{url}/comment", json=ACTIONS["comment"], headers=as_("zhang"))

    assert response.status_code == 200
    assert response.json()["state"] == "closed"


def test_assigning_to_no_one_and_back(api, as_, alerts):
    url = f"/v1/alerts/{alerts['a']}/assign"

    given = api.post(url, json={"assignee": "viewer"}, headers=as_("admin"))
    taken = api.post(
        url, json={"assignee": None, "comment": "back to the pool"}, headers=as_("admin")
    )

    assert given.json()["assignee"] == "viewer"
    assert taken.status_code == 200
    assert taken.json()["assignee"] is None


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("acknowledge", {}, "comment"),
        ("acknowledge", {"comment": ""}, "comment"),
        ("acknowledge", {"comment": "   "}, "comment"),
        ("acknowledge", {"comment": "x" * 2001}, "comment"),
        ("acknowledge", {"comment": "ok", "state": "closed"}, "state"),
        ("comment", {"comment": 42}, "comment"),
        ("assign", {}, "assignee"),
        ("close", {"comment": ""}, "comment"),
    ],
)
def test_a_bad_body_is_422_naming_the_field(api, as_, alerts, city_sql, action, body, field):
    before = len(AlertStore(city_sql).events(alerts["a"]))

    response = api.post(f"/v1/alerts/{alerts['a']}/{action}", json=body, headers=as_("admin"))

    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]
    assert len(AlertStore(city_sql).events(alerts["a"])) == before


@pytest.mark.parametrize("assignee", ["nobody", "zhang"])
def test_assigning_to_someone_not_on_the_bureau_staff_is_422(api, as_, alerts, assignee):
    response = api.post(
        f"/v1/alerts/{alerts['a']}/assign", json={"assignee": assignee}, headers=as_("admin")
    )

    assert response.status_code == 422
    assert response.json() == {"detail": f"assignee: no bureau user {assignee!r}"}


def test_acting_on_an_alert_that_does_not_exist_is_404(api, as_):
    response = api.post("/v1/alerts/424242/close", json={}, headers=as_("admin"))

    assert response.status_code == 404
    assert response.json() == {"detail": "no alert 424242"}


def test_a_body_that_is_not_json_is_422(api, as_, alerts):
    response = api.post(
        f"/v1/alerts/{alerts['a']}/acknowledge",
        content=b"Filter bag replaced",
        headers=as_("admin") | {"Content-Type": "application/json"},
    )

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/v1/alerts/2147483648", {}),
        ("/v1/alerts/2147483648/comment", {}),
        ("/v1/alerts", {"before": 2**31}),
    ],
)
def test_an_id_beyond_the_integer_column_is_422_not_a_server_error(api, as_, alerts, url, params):
    headers = as_("admin")
    if url.endswith("/comment"):
        response = api.post(url, json={"comment": "seen"}, headers=headers)
    else:
        response = api.get(url, params=params, headers=headers)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["type"] == "less_than_equal"
