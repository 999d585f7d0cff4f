"""docker-compose.yml, .env.example and the Dockerfile agree with the code they deploy."""

import importlib
import os
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from tests.deploy.conftest import (
    ROOT,
    SETTINGS,
    accepted_names,
    console_scripts,
    interpolate,
    references,
)

from api.settings import ApiSettings, UnsafeSettingsError, jwt_secret_of
from devstack import fleet

LANTIAN_SERVICES = ["setup", "ingest", "rules", "api", "fleet"]
APP = Path("/app")  # where the Dockerfile puts the workspace


def test_the_stack_has_every_part(compose):
    assert set(compose["services"]) == {
        "postgres",
        "setup",
        "mosquitto",
        "influxdb",
        "grafana",
        *LANTIAN_SERVICES,
    }
    assert compose["services"]["mosquitto"]["image"] == "eclipse-mosquitto:2"
    assert compose["services"]["influxdb"]["image"] == "influxdb:1.11"
    assert compose["services"]["grafana"]["image"].startswith("grafana/grafana-oss:")
    for name in LANTIAN_SERVICES:
        assert compose["services"][name]["image"].startswith("lantian:"), name
        assert compose["services"][name]["build"] == ".", name


def test_every_variable_the_compose_file_uses_is_in_env_example_and_none_is_stale(
    compose_text, env_example
):
    used = references(compose_text)
    assert used - env_example.keys() == set()
    assert env_example.keys() - used == set()
    secrets = [key for key in env_example if "PASSWORD" in key or "SECRET" in key]
    assert "API_JWT_SECRET" in secrets
    assert all(env_example[key] == "change-me" for key in secrets)


@pytest.mark.parametrize("service", ["ingest", "rules", "api", "fleet"])
def test_a_service_command_is_a_console_script_or_module_that_accepts_its_arguments(
    compose, env_example, service
):
    command = [str(part) for part in compose["services"][service]["command"]]
    if command[:2] == ["python", "-m"]:
        assert command[2] == "devstack.fleet"
        arguments = [
            part.replace("${FLEET_SITES:-6}", env_example["FLEET_SITES"]) for part in command[3:]
        ]
        parsed = fleet.build_parser().parse_args(arguments)
        assert parsed.command == "run"
        return
    scripts = console_scripts()
    assert command[0] in scripts
    module, function = scripts[command[0]].split(":")
    main = getattr(importlib.import_module(module), function)
    with pytest.raises(SystemExit) as stopped:  # --help parses what precedes it, then exits
        main([*command[1:], "--help"])
    assert stopped.value.code == 0


def test_the_setup_script_runs_only_commands_that_exist(compose, environment):
    command = compose["services"]["setup"]["command"]
    assert command[:2] == ["sh", "-euc"]
    script = command[2]
    scripts = console_scripts()
    used = set(re.findall(r"\blantian-[a-z-]+\b", script))
    assert used == {"lantian-api"}
    assert used <= scripts.keys()
    assert "lantian-api migrate" in script
    for role in ("ingest", "rules", "api", "monitor"):
        assert f"MQTT_{role.upper()}_PASSWORD" in compose["services"]["setup"]["environment"]
    assert "broker-account issue service" in script
    assert "broker-account issue gateway" in script
    assert "lantian-api broker-files --out /broker" in script
    setup = environment["setup"]
    calls = re.findall(r"python -m devstack\.fleet ([^)\n]*)", script)
    assert len(calls) == 2
    for call in calls:
        expanded = re.sub(r"\$\$(\w+)", lambda match: setup[match.group(1)], call)
        command = fleet.build_parser().parse_args(shlex.split(expanded)).command
        assert command in {"register", "gateways"}


@pytest.mark.parametrize("service", LANTIAN_SERVICES)
def test_every_lantian_variable_is_one_a_settings_class_accepts_and_validates(
    environment, monkeypatch, service
):
    env = environment[service]
    for key in list(os.environ):
        if key.startswith("LANTIAN_"):
            monkeypatch.delenv(key)
    by_class: dict[str, list[str]] = {}
    for key in env:
        if key.startswith("LANTIAN_"):
            prefix = next((p for p in SETTINGS if key.startswith(p)), None)
            assert prefix is not None, f"{service}: {key} belongs to no service's settings"
            by_class.setdefault(prefix, []).append(key)
    for prefix, keys in by_class.items():
        unknown = set(keys) - accepted_names(SETTINGS[prefix], prefix)
        assert unknown == set(), f"{service}: {sorted(unknown)} are not settings"
        for key in keys:
            monkeypatch.setenv(key, env[key])
        settings = SETTINGS[prefix]()
        assert settings is not None
    if service in {"ingest", "rules", "api"}:
        assert by_class, service


def test_the_api_refuses_the_example_token_secret_and_starts_with_a_generated_one(
    environment, monkeypatch
):
    for key in list(os.environ):
        if key.startswith("LANTIAN_"):
            monkeypatch.delenv(key)
    for key, value in environment["api"].items():
        if key.startswith("LANTIAN_API_"):
            monkeypatch.setenv(key, value)

    with pytest.raises(UnsafeSettingsError, match="LANTIAN_API_JWT_SECRET"):
        jwt_secret_of(ApiSettings())  # "change-me", as .env.example has it
    monkeypatch.setenv("LANTIAN_API_JWT_SECRET", "Zq8-" + "x7Pk2Lm9Rt4Vw6Yb3Nc5Hd8Jf1Gs0Ae" * 2)
    assert len(jwt_secret_of(ApiSettings())) >= 32


def test_the_services_find_each_other_on_the_ports_the_servers_listen_on(environment):
    ingest, rules, api = environment["ingest"], environment["rules"], environment["api"]
    for env, prefix in ((ingest, "LANTIAN_INGEST_"), (rules, "LANTIAN_RULES_")):
        assert (env[f"{prefix}MQTT_HOST"], env[f"{prefix}MQTT_PORT"]) == ("mosquitto", "1883")
        # in a container the metrics must answer other containers, not only loopback
        assert env[f"{prefix}METRICS_HOST"] == "0.0.0.0"  # noqa: S104
    for env, prefix in (
        (ingest, "LANTIAN_INGEST_"),
        (rules, "LANTIAN_RULES_"),
        (api, "LANTIAN_API_"),
    ):
        assert env[f"{prefix}INFLUX__URL"] == "http://influxdb:8086"
        assert env[f"{prefix}SQL_URL"].startswith("postgresql://lantian:")
        assert env[f"{prefix}SQL_URL"].endswith("@postgres:5432/lantian")
    # ingest creates the database, its retention policies and CQs: InfluxDB's admin only
    assert (
        ingest["LANTIAN_INGEST_INFLUX__USERNAME"] == environment["influxdb"]["INFLUXDB_ADMIN_USER"]
    )
    # the rules engine writes its results (reads and writes, no admin); the API only reads
    assert rules["LANTIAN_RULES_INFLUX__USERNAME"] == environment["influxdb"]["INFLUXDB_USER"]
    assert api["LANTIAN_API_INFLUX__USERNAME"] == environment["influxdb"]["INFLUXDB_READ_USER"]


def test_grafana_gets_every_variable_its_provisioned_data_source_reads(compose, environment):
    text = (ROOT / "deploy/grafana/provisioning/datasources/influxdb.yaml").read_text()
    wanted = set(re.findall(r"\$\{(\w+)\}", text))
    assert wanted, "the data source reads its settings from the environment"
    assert wanted <= set(environment["grafana"]), sorted(wanted - set(environment["grafana"]))
    grafana = environment["grafana"]
    assert grafana["LANTIAN_GRAFANA_INFLUX_USER"] == environment["influxdb"]["INFLUXDB_READ_USER"]


def test_health_checks_probe_the_ports_the_services_were_given(compose, environment):
    services = compose["services"]
    for name, port in (
        ("ingest", environment["ingest"]["LANTIAN_INGEST_METRICS_PORT"]),
        ("rules", environment["rules"]["LANTIAN_RULES_METRICS_PORT"]),
        ("api", environment["api"]["LANTIAN_API_PORT"]),
    ):
        assert f"127.0.0.1:{port}/" in " ".join(services[name]["healthcheck"]["test"]), name
    for name in ("postgres", "mosquitto", "influxdb", "grafana", "ingest", "rules", "api"):
        assert "healthcheck" in services[name], name


def test_services_wait_for_what_they_need(compose):
    services = compose["services"]
    conditions = {
        name: {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}
        for name, service in services.items()
    }
    assert conditions["setup"] == {"postgres": "service_healthy"}
    assert conditions["mosquitto"]["setup"] == "service_completed_successfully"
    for name in ("ingest", "rules"):
        assert conditions[name]["mosquitto"] == "service_healthy"
        assert conditions[name]["influxdb"] == "service_healthy"
        assert conditions[name]["setup"] == "service_completed_successfully"
    assert conditions["api"]["influxdb"] == "service_healthy"
    assert conditions["fleet"]["ingest"] == "service_healthy"
    assert services["setup"]["restart"] == "no"


def test_the_broker_gets_the_committed_config_and_the_generated_files_at_their_paths(
    compose, env_example
):
    mosquitto = compose["services"]["mosquitto"]
    mounts = [
        interpolate(v, env_example).split(":") for v in mosquitto["volumes"] if isinstance(v, str)
    ]
    short = {mount[1]: mount[0] for mount in mounts}
    assert short["/mosquitto/config/mosquitto.conf"] == env_example["MQTT_CONF"]
    assert env_example["MQTT_CONF"] == "./deploy/mosquitto/mosquitto.conf"
    assert short["/mosquitto/data"] == "mosquitto-data"
    assert short["/mosquitto/certs"] == env_example["MQTT_CERTS_DIR"]
    long = {v["target"]: v for v in mosquitto["volumes"] if isinstance(v, dict)}
    setup_volumes = dict(v.split(":")[::-1] for v in compose["services"]["setup"]["volumes"])
    for name in ("passwords", "acl"):
        mount = long[f"/mosquitto/config/{name}"]
        assert mount["source"] == setup_volumes["/broker"]  # where broker-files writes them
        assert mount["volume"]["subpath"] == name
    assert {port.rsplit(":", 1)[-1] for port in mosquitto["ports"]} == {"1883", "8883"}


def test_the_broker_config_reads_the_files_where_compose_mounts_them():
    path = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
    assert path.is_file(), "deploy/mosquitto/mosquitto.conf, which the broker mounts, is missing"
    options: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and not words[0].startswith("#"):
            options.setdefault(words[0], []).append(" ".join(words[1:]))
    assert options["password_file"] == ["/mosquitto/config/passwords"]
    assert options["acl_file"] == ["/mosquitto/config/acl"]
    assert options["persistence_location"][0].rstrip("/") == "/mosquitto/data"
    assert any(listener.split()[0] == "1883" for listener in options["listener"])
    for key in ("certfile", "keyfile", "cafile"):
        assert all(value.startswith("/mosquitto/certs/") for value in options.get(key, []))


def test_the_rule_files_and_the_simulated_city_are_in_the_image(environment):
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for path in environment["rules"]["LANTIAN_RULES_RULE_FILES"].split(","):
        inside = Path(path).relative_to(APP)
        assert (ROOT / inside).is_file()
        assert f"COPY {inside.parts[0]}/{inside.parts[1]}/ " in dockerfile
    assert "COPY firmware-sim/scenarios/ firmware-sim/scenarios/" in dockerfile
    assert "COPY devstack/ devstack/" in dockerfile


def test_the_dockerfile_builds_every_member_from_the_lock_without_dev_tools():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM (\S+) AS (\S+)$", dockerfile, flags=re.MULTILINE)
    assert stages == [("python:3.11-slim", "build"), ("python:3.11-slim", "runtime")]
    build = dockerfile.split("FROM python:3.11-slim AS runtime")[0]
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"][
        "members"
    ]
    for member in members:
        assert f"COPY {member}/pyproject.toml {member}/" in build, member
        assert f"COPY {member}/ {member}/" in build, member
    assert "uv sync --all-packages --locked --no-dev" in build
    assert "COPY --from=build /app/.venv /app/.venv" in dockerfile


def test_dockerignore_keeps_out_nothing_the_dockerfile_copies():
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, flags=re.MULTILINE)
    sources = {source.rstrip("/") for line in copied for source in line.split()}
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source.split("/")[0] not in ignored, source
    assert {".git", ".venv", ".env", "var"} <= set(ignored)
