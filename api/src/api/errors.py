"""The error answers as the OpenAPI schema describes them, the same for every route.

Every error the API gives is ``{"detail": ...}``: a sentence (:class:`Problem`) for what a
route refuses itself (400, 401, 403, 404, 409, 422, 503), or FastAPI's list of validation
errors for a request that does not fit the schema (422). A 422 may therefore be either, and the
schema says so. What is true of every route is derived from the route's own declaration by
:func:`document_errors`: a route with a security scheme may answer 401 (with a
``WWW-Authenticate`` challenge), a route with parameters or a body may answer 422, and one
with a body 400 when FastAPI cannot read it. What a route answers besides (403, 404, 409;
503 when it reads InfluxDB) it lists in its ``responses=``; the body of each is a
:class:`Problem`.
"""

from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.constants import REF_PREFIX
from fastapi.openapi.utils import (
    validation_error_definition,
    validation_error_response_definition,
)
from pydantic import BaseModel, Field

UNAUTHORIZED: Final = "not signed in, or the token or API key is not valid"
UNPARSED: Final = "the body cannot be parsed at all (bytes that are not text, a broken form)"
UNPROCESSABLE: Final = "the request does not fit the schema, or a value the route refuses"
_CHALLENGE: Final = {
    "description": 'the challenge: Bearer realm="lantian", with error="invalid_token" when '
    "a credential was presented and refused (RFC 6750)",
    "schema": {"type": "string"},
}

# Routes that read InfluxDB list this: the store down is 503, not a bug (api.app's handler).
STORE_UNAVAILABLE: Final[dict[int | str, dict[str, Any]]] = {
    503: {
        "description": "the time-series store is unavailable, or its database not made yet",
        "headers": {
            "Retry-After": {
                "description": "seconds to wait before asking again",
                "schema": {"type": "integer"},
            }
        },
    }
}


class Problem(BaseModel):
    """Why the request was refused, in one sentence."""

    detail: str = Field(description="what was wrong, for a person to read")


def document_errors(app: FastAPI) -> None:
    """Make the application's schema describe the bodies of its error answers.

    Run once the routes are included; the schema is built, then completed, on first request.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _completed(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _completed(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with 401 and 422 where they apply and a body for every error answer."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("Problem", Problem.model_json_schema())
    components.setdefault("ValidationError", validation_error_definition)
    components.setdefault("HTTPValidationError", validation_error_response_definition)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            _complete(operation)
    return schema


def _complete(operation: dict[str, Any]) -> None:
    responses: dict[str, dict[str, Any]] = operation.setdefault("responses", {})
    if operation.get("security"):
        unauthorized = responses.setdefault("401", {"description": UNAUTHORIZED})
        unauthorized.setdefault("headers", {})["WWW-Authenticate"] = _CHALLENGE
    if operation.get("requestBody"):
        responses.setdefault("400", {"description": UNPARSED})
    if operation.get("parameters") or operation.get("requestBody"):
        responses.setdefault("422", {"description": UNPROCESSABLE})
    for code, response in responses.items():
        if code == "422":
            response["content"] = {"application/json": {"schema": _either()}}
        elif code[0] in "45":
            response.setdefault("content", {"application/json": {"schema": _ref("Problem")}})
    operation["responses"] = dict(sorted(responses.items()))


def _either() -> dict[str, Any]:
    """A 422's body: FastAPI's list of validation errors, or a route's own sentence."""
    return {"anyOf": [_ref("HTTPValidationError"), _ref("Problem")]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF_PREFIX + name}
