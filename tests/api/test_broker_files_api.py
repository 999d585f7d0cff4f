"""What the API does with the broker's files after issuing credentials, as far as configured."""

import pytest
from tests.api.conftest import SITE_A, make_client, settings, sign_in

from store.broker import verify_password

pytestmark = pytest.mark.integration


def create(city_sql, api_settings, gateway="gw-9001"):
    with make_client(city_sql, api_settings) as api:
        response = api.post(
            "/v1/gateways", json={"id": gateway, "site": SITE_A}, headers=sign_in(api, "admin")
        )
    assert response.status_code == 201, response.text
    return response.json()


def test_files_written_without_a_pid_file_await_a_reload(city_sql, people, tmp_path):
    folder = tmp_path / "broker"
    (folder / "mosquitto.conf").parent.mkdir()
    (folder / "mosquitto.conf").write_text("listener 1883\n")

    answer = create(city_sql, settings(broker_files_dir=folder))

    assert answer["broker_files"]["written"] is True
    assert answer["broker_files"]["reloaded"] is False
    assert "SIGHUP" in answer["broker_files"]["note"]
    (line,) = (folder / "passwords").read_text().splitlines()
    username, password_hash = line.split(":", 1)
    assert username == "gw-9001"
    assert verify_password(answer["password"], password_hash)
    assert "user gw-9001" in (folder / "acl").read_text()
    assert (folder / "mosquitto.conf").read_text() == "listener 1883\n"  # the deployment's


def test_a_broker_that_cannot_be_signalled_is_reported_not_a_failure(city_sql, people, tmp_path):
    folder = tmp_path / "broker"
    missing_pid = tmp_path / "no-such.pid"

    answer = create(city_sql, settings(broker_files_dir=folder, broker_reload_pid=missing_pid))

    assert answer["broker_files"]["written"] is True
    assert answer["broker_files"]["reloaded"] is False
    assert str(missing_pid) in answer["broker_files"]["note"]
    assert (folder / "passwords").read_text().startswith("gw-9001:")
