"""``python -m devstack.fleet``: the simulated city against a broker with accounts and ACLs."""

import json
import signal
import subprocess
import sys
import time

import pytest

from devstack.city import CITY
from devstack.fleet import CredentialError, gateway_password, main, register_city, sites
from store.broker import issue_gateway_account, issue_service_account, write_broker_files
from store.sql import Registry, create_engine_for

FLEET = [sys.executable, "-m", "devstack.fleet"]
MONITOR_PASSWORD = "monitor-password-0123456789"  # noqa: S105 - a test's own broker


def test_the_password_is_the_last_word_the_issuing_command_printed(tmp_path):
    (tmp_path / "gw-0001").write_text("s3cret-Word\n")
    (tmp_path / "gw-0002").write_text("issued gw-0002; password (shown once):\n  Xy9-kk\n")
    assert gateway_password(tmp_path, "gw-0001") == "s3cret-Word"
    assert gateway_password(tmp_path, "gw-0002") == "Xy9-kk"


def test_a_missing_or_empty_password_file_is_named(tmp_path):
    with pytest.raises(CredentialError, match="gw-0001: no password for gateway gw-0001"):
        gateway_password(tmp_path, "gw-0001")
    (tmp_path / "gw-0002").write_text("\n")
    with pytest.raises(CredentialError, match="empty"):
        gateway_password(tmp_path, "gw-0002")


def test_sites_takes_the_first_of_the_city_and_refuses_none():
    assert sites(2) == CITY[:2]
    with pytest.raises(ValueError, match="at least one site"):
        sites(0)


def test_gateways_prints_one_id_per_line(capsys):
    assert main(["gateways", "--sites", "3"]) == 0
    assert capsys.readouterr().out.split() == ["gw-0001", "gw-0002", "gw-0003"]


@pytest.mark.integration
def test_register_enters_each_site_once_and_a_second_run_changes_nothing(sqlite_url):
    registry = Registry(create_engine_for(sqlite_url))
    assert register_city(registry, CITY[:3]) == ["gw-0001", "gw-0002", "gw-0003"]
    version = registry.version()
    assert register_city(registry, CITY[:3]) == []
    assert registry.version() == version
    assert registry.placements()["gw-0002"].site == CITY[1].site
    assert register_city(registry, CITY[:4]) == ["gw-0004"]  # a fleet grown by one site
    assert registry.placements()["gw-0004"].site == CITY[3].site


@pytest.mark.integration
def test_without_its_password_file_the_fleet_names_it_and_starts_nothing(tmp_path):
    (tmp_path / "credentials").mkdir()
    done = subprocess.run(
        [
            *FLEET,
            "run",
            "--sites",
            "1",
            "--mqtt-host",
            "127.0.0.1",
            "--mqtt-port",
            "1",
            "--workdir",
            str(tmp_path / "run"),
            "--credentials",
            str(tmp_path / "credentials"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "no password for gateway gw-0001" in done.stdout
    assert not (tmp_path / "run").exists()


@pytest.mark.integration
def test_a_gateway_signed_in_with_its_own_account_publishes_its_telemetry(
    tmp_path, sqlite_url, mosquitto_factory
):
    engine = create_engine_for(sqlite_url)
    register_city(Registry(engine), CITY[:1])
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    issued = issue_gateway_account(engine, "gw-0001")
    # what `lantian-api broker-account issue gateway gw-0001` prints, as the setup service keeps it
    (credentials / "gw-0001").write_text(
        f"username {issued.username}\npassword {issued.password}\n"
    )
    issue_service_account(engine, "monitor", password=MONITOR_PASSWORD)
    files = write_broker_files(engine, tmp_path / "broker")
    engine.dispose()
    broker = mosquitto_factory(password_file=files.password_file, acl_file=files.acl_file)
    watch = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-u",
            "svc-monitor",
            "-P",
            MONITOR_PASSWORD,
            "-t",
            "lantian/v1/gw/gw-0001/telemetry",
            "-C",
            "1",
            "-W",
            "90",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # the subscription stands before the first batch
    fleet = subprocess.Popen(
        [
            *FLEET,
            "run",
            "--sites",
            "1",
            "--mqtt-host",
            broker.host,
            "--mqtt-port",
            str(broker.port),
            "--workdir",
            str(tmp_path / "run"),
            "--credentials",
            str(credentials),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        out, _ = watch.communicate(timeout=120)
        batch = json.loads(out)
        assert batch["gateway"] == "gw-0001"
        assert batch["readings"]
        config = (tmp_path / "run" / "edge" / "gw-0001.yaml").read_text()
        assert "username: gw-0001" in config
        assert (tmp_path / "run" / "edge" / "gw-0001.yaml").stat().st_mode & 0o077 == 0
    finally:
        watch.kill()
        fleet.send_signal(signal.SIGTERM)
        log, _ = fleet.communicate(timeout=60)
    assert fleet.returncode == 0, log
    assert "gw-0001 (site-hengtong-east)" in log
