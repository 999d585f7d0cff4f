"""The compose file's settings against this machine's real Mosquitto and InfluxDB binaries.

InfluxDB is prepared as the ``influxdb:1.11`` image does it from ``INFLUXDB_*`` variables (auth
on, an admin, the database, a read-only user); the broker has accounts and an ACL as the setup
service leaves them. The services then sign in with the very settings compose hands them.
"""

import getpass
import socket
import subprocess
import time

import httpx
import pytest
from tests.deploy.conftest import ROOT

from api.settings import ApiSettings
from devstack.processes import wait_until
from devstack.servers import InfluxServer, free_port
from ingest.settings import IngestSettings
from rules.settings import RulesSettings
from store.broker import issue_service_account, write_broker_files
from store.errors import InfluxAuthError
from store.rollups import Retention, prepare_retention
from store.sql import create_engine_for

pytestmark = pytest.mark.integration

MONITOR_PASSWORD = "monitor-password-0123456789"  # noqa: S105 - a test's own broker


def _as_in_compose(monkeypatch, environment, service, **local):
    """Put ``service``'s compose environment into this process, ``local`` values swapped in."""
    for key, value in environment[service].items():
        monkeypatch.setenv(key, local.get(key, value))


@pytest.fixture
def influx_as_in_compose(tmp_path, environment):
    """InfluxDB with auth, its admin, database and reader made as the image's init script does."""
    influx = environment["influxdb"]
    assert influx["INFLUXDB_HTTP_AUTH_ENABLED"] == "true"
    with InfluxServer(tmp_path / "influxdb", auth_enabled=True) as server:
        admin = (influx["INFLUXDB_ADMIN_USER"], influx["INFLUXDB_ADMIN_PASSWORD"])
        statements = [
            (
                None,
                f"CREATE USER \"{admin[0]}\" WITH PASSWORD '{admin[1]}' WITH ALL PRIVILEGES",
            ),
            (admin, f'CREATE DATABASE "{influx["INFLUXDB_DB"]}"'),
            (
                admin,
                (
                    f'CREATE USER "{influx["INFLUXDB_READ_USER"]}" '
                    f"WITH PASSWORD '{influx['INFLUXDB_READ_USER_PASSWORD']}'"
                ),
            ),
            (
                admin,
                f'GRANT READ ON "{influx["INFLUXDB_DB"]}" TO "{influx["INFLUXDB_READ_USER"]}"',
            ),
            (
                admin,
                (
                    f'CREATE USER "{influx["INFLUXDB_USER"]}" '
                    f"WITH PASSWORD '{influx['INFLUXDB_USER_PASSWORD']}'"
                ),
            ),
            (admin, f'GRANT ALL ON "{influx["INFLUXDB_DB"]}" TO "{influx["INFLUXDB_USER"]}"'),
        ]
        for auth, statement in statements:
            response = httpx.post(f"{server.url}/query", data={"q": statement}, auth=auth)
            assert response.status_code == 200, response.text
            assert "error" not in response.text, response.text
        yield server


def test_ingest_prepares_the_database_and_the_readers_only_read(
    influx_as_in_compose, environment, monkeypatch
):
    url = influx_as_in_compose.url
    _as_in_compose(monkeypatch, environment, "ingest", LANTIAN_INGEST_INFLUX__URL=url)
    ingest = IngestSettings()
    retention = Retention(
        raw=ingest.influx_raw_retention,
        minute=ingest.influx_minute_retention,
        hour=ingest.influx_hour_retention,
    )
    with ingest.influx.open() as influx:
        influx.create_database()  # what ingest does first at start
        prepare_retention(influx, retention)
        assert set(influx.continuous_queries()) == {
            "rollup_minute_samples",
            "rollup_minute_aggregates",
            "rollup_hour",
        }
    _as_in_compose(monkeypatch, environment, "rules", LANTIAN_RULES_INFLUX__URL=url)
    rules = RulesSettings()
    now_ms = int(time.time() * 1000)
    with rules.influx.open() as influx:
        influx.write_lines([f"rule_result,rule=r1 firing=1i {now_ms}"])  # its results
        influx.query('SELECT * FROM "raw"."pm25" LIMIT 1')
        with pytest.raises(InfluxAuthError):  # why ingest, and only ingest, is the admin
            prepare_retention(influx, retention)
    _as_in_compose(monkeypatch, environment, "api", LANTIAN_API_INFLUX__URL=url)
    with ApiSettings().influx.open() as influx:
        influx.query('SELECT * FROM "raw"."pm25" LIMIT 1')
        with pytest.raises(InfluxAuthError):  # the API only reads
            influx.write_lines([f"rule_result,rule=r1 firing=1i {now_ms}"])


def _answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _broker_files(sql_url, folder, monitor_password):
    """The password and ACL files as the setup service writes them, with the monitor account."""
    engine = create_engine_for(sql_url)
    try:
        issue_service_account(engine, "monitor", password=monitor_password)
        return write_broker_files(engine, folder)
    finally:
        engine.dispose()


def test_the_broker_health_check_signs_in_as_monitor(
    tmp_path, sqlite_url, mosquitto_factory, compose
):
    password = MONITOR_PASSWORD  # .env.example's placeholder is too weak to be issued
    files = _broker_files(sqlite_url, tmp_path / "broker", password)
    broker = mosquitto_factory(password_file=files.password_file, acl_file=files.acl_file)
    kind, check = compose["services"]["mosquitto"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    check = check.replace("$$", "$").replace("-p 1883", f"-p {broker.port}")

    def health(monitor_password):
        return subprocess.run(
            ["sh", "-c", check],
            env={"MQTT_MONITOR_PASSWORD": monitor_password, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=30,
            check=False,
        ).returncode

    assert health(password) == 0
    assert health("wrong") != 0


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _certificates(folder):
    """A private authority and a server certificate for 127.0.0.1, as docs/deploy.md makes them."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = folder / "ca.key", folder / "ca.crt"
    _openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Test CA"),
        *("-keyout", str(ca_key), "-out", str(ca_crt)),
    )
    _openssl(
        *("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"),
        *("-keyout", str(folder / "server.key"), "-out", str(folder / "server.csr")),
    )
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        *("x509", "-req", "-in", str(folder / "server.csr"), "-CA", str(ca_crt)),
        *("-CAkey", str(ca_key), "-CAcreateserial", "-days", "2"),
        *("-extfile", str(extensions), "-out", str(folder / "server.crt")),
    )


def _local_config(text, root, ports):
    """The committed mosquitto.conf with the container's paths under ``root`` and free ports."""
    lines = [f"user {getpass.getuser()}"]
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#") or words[0] in {"user", "log_dest"}:
            continue
        if words[0] == "listener":
            ports[words[1]] = free_port()
            words[1:] = [str(ports[words[1]]), "127.0.0.1"]
        lines.append(" ".join(words).replace("/mosquitto/", f"{root}/"))
    lines.append(f"log_dest file {root}/mosquitto.log")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("conf", ["mosquitto.conf", "mosquitto-tls.conf"])
def test_the_committed_broker_config_runs_with_the_generated_files(
    tmp_path, sqlite_url, compose, conf
):
    """Mosquitto with a committed deploy/mosquitto conf, files where compose mounts them."""
    root = tmp_path / "mosquitto"
    (root / "data").mkdir(parents=True)
    _certificates(root / "certs")
    password = MONITOR_PASSWORD  # .env.example's placeholder is too weak to be issued
    _broker_files(sqlite_url, root / "config", password)
    committed = ROOT / "deploy" / "mosquitto" / conf
    ports: dict[str, int] = {}
    config = root / "mosquitto.conf"
    config.write_text(_local_config(committed.read_text(encoding="utf-8"), root, ports))
    assert "1883" in ports
    broker = subprocess.Popen(["mosquitto", "-c", str(config)], stderr=subprocess.PIPE)
    try:
        started = wait_until(lambda: _answers(ports["1883"]), timeout_s=10)
        log = root / "mosquitto.log"
        assert started, log.read_text() if log.exists() else broker.stderr
        check = compose["services"]["mosquitto"]["healthcheck"]["test"][1]
        check = check.replace("$$", "$").replace("-p 1883", f"-p {ports['1883']}")
        env = {"MQTT_MONITOR_PASSWORD": password, "PATH": "/usr/bin:/bin"}
        assert subprocess.run(["sh", "-c", check], env=env, timeout=30, check=False).returncode == 0
        assert ("8883" in ports) == (conf == "mosquitto-tls.conf")
        if "8883" in ports:  # the TLS listener, with the certificates of docs/deploy.md
            tls = subprocess.run(
                [
                    "mosquitto_sub",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(ports["8883"]),
                    "--cafile",
                    str(root / "certs" / "ca.crt"),
                    "-u",
                    "svc-monitor",
                    "-P",
                    password,
                    "-t",
                    "lantian/v1/gw/+/status",
                    "-E",
                    "-W",
                    "5",
                ],
                timeout=30,
                check=False,
            )
            assert tls.returncode == 0
    finally:
        broker.terminate()
        broker.wait(timeout=10)
