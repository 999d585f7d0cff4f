"""Requests generated from the API's own OpenAPI schema get no server error, whoever sends them.

Schemathesis reads ``/openapi.json`` from the application and, for every operation, generates
requests that fit the schema and requests that break it (wrong types, out of range, missing
fields), ten of each, the same on every run. They go to the application in-process: a real SQL
store with the simulated city, its people and an open alert per enterprise; a real InfluxDB with
readings of two sites, so that the readings, series and report routes query it. Path parameters
(and metrics) are drawn half the time from the city's real ids (and the catalog), so that
requests reach the code behind the 404. Each answer must be no 5xx, of a status the
operation documents, of the declared content type, and of the documented shape (errors
included: a sentence or FastAPI's list of validation errors, see api.errors).

The requests go through Starlette's test client and each answer is judged by
``case.validate_response``: schemathesis' own ASGI transport builds ``urllib3`` responses, and
the ``urllib3`` installed here is urllib3-future (through grafana-client), which it cannot use.

Every request is sent twice over: as a bureau admin, who may reach every route (registry and user
writes included), and as an enterprise user, whose requests go through the enterprise boundary.

The store is PostgreSQL: it enforces column lengths and types that SQLite lets through, so an
over-long name reaches the database and fails there, which is the kind of defect this test is
for; the per-route tests run on both databases already.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import BaseSchema, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from sqlalchemy import Engine
from tests.api.conftest import (
    ENT_A,
    ENT_B,
    HENGTONG,
    QINGYUAN,
    influx_settings,
    make_client,
    minutes,
    open_alert,
    sign_in,
    store,
)

from devstack.city import CITY
from store.influx import InfluxStore
from telemetry import CATALOG

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

# Half of the generated path parameters are real ids, half are whatever the schema allows.
KNOWN = 0.5
DICTIONARIES = {
    "sites": [sim.site for sim in CITY],
    "gateways": [sim.gateway for sim in CITY],
    "enterprises": [e for sim in CITY for e in sim.enterprise],
    "counties": sorted({c for sim in CITY for c in sim.county}),
    "parks": sorted({p for sim in CITY for p in sim.park or ()}),
    # not the admin sending the requests: disabling its own account would end the run early
    "users": ["viewer", "zhang", "wang"],
    "metrics": sorted(CATALOG),
}
PATH_PARAMETERS = {
    "site_id": "sites",
    "gateway_id": "gateways",
    "enterprise_id": "enterprises",
    "county_id": "counties",
    "park_id": "parks",
    "username": "users",
}
CONFIG = {
    # the caller's own credentials, not generated ones: the schema declares both schemes
    "generation": {"with-security-parameters": False},
    "dictionaries": {name: {"values": values} for name, values in DICTIONARIES.items()},
    "parameters": {
        f"path.{name}": {"dictionary": dictionary, "probability": KNOWN}
        for name, dictionary in PATH_PARAMETERS.items()
    }
    | {"query.metric": {"dictionary": "metrics", "probability": KNOWN}},
}


@pytest.fixture
def sql_url(postgres_url):
    return postgres_url


@pytest.fixture
def fuzzed(city_sql: Engine, people, rolled: InfluxStore, tmp_path: Path) -> Iterator[TestClient]:
    """The API over the seeded stores; new gateways' credentials go to broker files in tmp."""
    start = int((datetime.now(UTC) - timedelta(hours=2)).timestamp()) // 60 * 60_000
    store(rolled, HENGTONG, minutes(start, 90, 40.0))
    store(rolled, QINGYUAN, minutes(start, 90, 120.0))
    open_alert(city_sql, ENT_A, HENGTONG.site)
    open_alert(city_sql, ENT_B, QINGYUAN.site)
    api_settings = influx_settings(rolled, broker_files_dir=tmp_path / "broker")
    with make_client(city_sql, api_settings) as client:
        yield client


@pytest.fixture(params=["admin", "zhang"])
def caller(request, fuzzed: TestClient) -> dict[str, str]:
    """Bearer headers of a bureau admin or of an enterprise user, signed in as a client does."""
    return sign_in(fuzzed, request.param)


def schema_of(client: TestClient) -> BaseSchema:
    """The application's own schema, with the city's ids to draw path parameters from."""
    config = schemathesis.Config.from_dict(CONFIG)
    return schemathesis.openapi.from_dict(client.get("/openapi.json").json(), config=config)


def send(client: TestClient, case, headers: dict[str, str]) -> httpx.Response:
    """The case as a request of the in-process client (the schema's base URL is the client's)."""
    request = case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)
    body: dict[str, Any] = {}
    if "json" in request:
        body["json"] = request["json"]
    data = request.get("data")
    if isinstance(data, dict):
        body["data"] = data
    elif data is not None:
        body["content"] = data
    if "files" in request:
        body["files"] = request["files"]
    response: httpx.Response = client.request(
        request["method"],
        request["url"],
        params=request.get("params"),
        headers=request["headers"],
        **body,
    )
    return response


# The alert stream answers with an event stream that stays open until the client leaves; its
# boundary and resumption have their own tests (test_alert_stream.py).
UNFUZZED = "/v1/alerts/events"
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
CHECKS = [
    not_a_server_error,
    content_type_conformance,
    status_code_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,  # the same requests on every run
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_no_generated_request_gets_a_server_error(fuzzed, caller):
    schema = schema_of(fuzzed).exclude(path=UNFUZZED)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    failures: list[str] = []
    for operation in operations:
        for mode in MODES:

            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def request(case) -> None:
                case.validate_response(send(fuzzed, case, caller), checks=CHECKS)

            try:
                request()
            except Unsatisfiable:
                pass  # no request breaks this operation's schema (a string in the path)
            except (Exception, FailureGroup) as error:  # noqa: BLE001 - all are reported
                failures.append(f"{operation.label} ({mode}):\n{error}")

    assert len(operations) == len(results) == 46
    assert not failures, "\n\n".join(failures)
