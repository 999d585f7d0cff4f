"""A gateway created through the API connects to a real Mosquitto at once, within its topics.

The broker runs the files rendered from the API's own store (SQLite, then PostgreSQL); the
API is configured with their folder and the broker's pid file, so creating or rotating a
gateway rewrites them and sends SIGHUP. Mosquitto rereads them asynchronously, so a client
retries its connection for a few seconds before a refusal counts.
"""

import time

import pytest
from tests.api.conftest import SITE_B, make_client, settings, sign_in
from tests.broker_security.conftest import Client, start_secured_broker

from store.broker import BrokerAccounts
from telemetry import topics

pytestmark = pytest.mark.integration

WAIT_S = 5.0
NEW = "gw-9001"


@pytest.fixture
def broker_setup(city_sql, people, mosquitto_factory, tmp_path):
    monitor = BrokerAccounts(city_sql).issue_service("monitor")
    folder = tmp_path / "broker"
    broker, _conf, pid_file = start_secured_broker(city_sql, mosquitto_factory, folder)
    api_settings = settings(broker_files_dir=folder, broker_reload_pid=pid_file)
    clients: list[Client] = []

    def connect(username, password):
        client = Client(broker, username, password)
        clients.append(client)
        return client

    with make_client(city_sql, api_settings) as api:
        yield api, connect, monitor.password
    for client in clients:
        client.close()


def connected(connect, username, password):
    """A client accepted by the broker, retried while the broker may still be reloading."""
    deadline = time.monotonic() + WAIT_S
    while True:
        client = connect(username, password)
        if client.accepted or time.monotonic() > deadline:
            return client
        time.sleep(0.1)


def test_a_created_gateway_publishes_on_its_own_topic_only(broker_setup):
    api, connect, monitor_password = broker_setup
    admin = sign_in(api, "admin")

    response = api.post("/v1/gateways", json={"id": NEW, "site": SITE_B}, headers=admin)

    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["broker_files"]["written"] is True
    assert answer["broker_files"]["reloaded"] is True
    gateway = connected(connect, answer["username"], answer["password"])
    assert gateway.accepted
    monitor = connect("svc-monitor", monitor_password)
    assert monitor.subscribe(topics.subscription(topics.TopicKind.TELEMETRY)) == [1]

    gateway.publish(topics.telemetry(NEW), b"own")
    gateway.publish(topics.telemetry("gw-0001"), b"forged")
    gateway.publish(topics.telemetry(NEW), b"marker")

    assert monitor.receive_until(b"marker") == [
        (topics.telemetry(NEW), b"own"),
        (topics.telemetry(NEW), b"marker"),
    ]


def test_rotated_credentials_replace_the_old_password_at_the_broker(broker_setup):
    api, connect, _ = broker_setup
    admin = sign_in(api, "admin")
    first = api.post("/v1/gateways", json={"id": NEW, "site": SITE_B}, headers=admin).json()
    assert connected(connect, NEW, first["password"]).accepted

    rotated = api.post(f"/v1/gateways/{NEW}/credentials", headers=admin)

    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["broker_files"]["reloaded"] is True
    assert connected(connect, NEW, rotated.json()["password"]).accepted
    assert not connect(NEW, first["password"]).accepted
