"""The OpenAPI schema describes the error answers the routes really give (api.errors).

The fuzz test (test_schema_fuzz.py) checks every generated answer against the schema; these
check what a client generated from the schema relies on: which statuses carry which body.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from tests.api.conftest import make_client, open_alert, settings, sign_in

from api.app import create_app

pytestmark = pytest.mark.integration

PROBLEM = {"$ref": "#/components/schemas/Problem"}
EITHER = {"anyOf": [{"$ref": "#/components/schemas/HTTPValidationError"}, PROBLEM]}


def no_store() -> Engine:
    raise AssertionError("the schema is built without the stores")


def schema() -> dict[str, Any]:
    """The application's schema; building it needs no store (the lifespan does not run)."""
    app = create_app(settings(), influx=settings().influx.open, engine=no_store)
    body: dict[str, Any] = TestClient(app).get("/openapi.json").json()
    return body


def operations() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, methods in schema()["paths"].items()
        for method, operation in methods.items()
    ]


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    return dict(response["content"]["application/json"]["schema"])


def test_every_signed_in_route_documents_401_with_its_challenge():
    secured = [(label, op) for label, op in operations() if op.get("security")]
    assert len(secured) > 40
    for label, operation in secured:
        unauthorized = operation["responses"].get("401")
        assert unauthorized is not None, label
        assert body_of(unauthorized) == PROBLEM, label
        assert "WWW-Authenticate" in unauthorized["headers"], label


def test_every_error_answer_has_a_body_and_every_422_is_either_form():
    for label, operation in operations():
        has_input = bool(operation.get("parameters") or operation.get("requestBody"))
        assert ("422" in operation["responses"]) == has_input, label
        assert ("400" in operation["responses"]) >= ("requestBody" in operation), label
        for code, response in operation["responses"].items():
            if code == "422":
                assert body_of(response) == EITHER, label
            elif code[0] in "45":
                assert body_of(response) == PROBLEM, (label, code)


def test_the_schema_declares_the_sentence_and_the_validation_list():
    schemas = schema()["components"]["schemas"]
    assert schemas["Problem"]["required"] == ["detail"]
    assert schemas["Problem"]["properties"]["detail"]["type"] == "string"
    assert schemas["HTTPValidationError"]["properties"]["detail"]["type"] == "array"


def test_a_422_is_a_sentence_from_the_route_or_a_list_from_validation(city_sql, people):
    alert = open_alert(city_sql, None, None)
    with make_client(city_sql) as api:
        admin = sign_in(api, "admin")
        own = api.get(
            "/v1/alerts",
            params={"opened_from": "2026-01-02T00:00:00Z", "opened_until": "2026-01-01T00:00Z"},
            headers=admin,
        )
        invalid = api.post(f"/v1/alerts/{alert}/comment", json={"comment": ""}, headers=admin)
        unknown = api.get("/v1/alerts/2147483647", headers=admin)
        anonymous = api.get("/v1/alerts")

    assert own.status_code == invalid.status_code == 422
    assert isinstance(own.json()["detail"], str)
    [error] = invalid.json()["detail"]
    assert {"loc", "msg", "type"} <= set(error)
    assert error["loc"] == ["body", "comment"]
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "no alert 2147483647"}
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert isinstance(anonymous.json()["detail"], str)
