"""The systemd units of a single server (and the gateway's) run commands that exist, hardened."""

import configparser
import importlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.deploy.conftest import ROOT, SETTINGS, accepted_names, console_scripts, read_env_file

from api.settings import ApiSettings, UnsafeSettingsError, jwt_secret_of

SERVER_UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
UNITS = [*SERVER_UNITS, ROOT / "edge" / "deploy" / "lantian-edge.service"]


def read_unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys keep case
    unit.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return unit


def test_the_server_has_a_unit_per_service():
    assert [path.name for path in SERVER_UNITS] == [
        "lantian-api.service",
        "lantian-ingest.service",
        "lantian-rules.service",
    ]


@pytest.mark.parametrize("path", UNITS, ids=lambda path: path.name)
def test_exec_start_is_a_console_script_that_accepts_its_arguments(path):
    command = shlex.split(read_unit(path)["Service"]["ExecStart"])
    scripts = console_scripts()
    script = Path(command[0])
    assert script.name in scripts
    assert script.parent.name == "bin"
    module, function = scripts[script.name].split(":")
    main = getattr(importlib.import_module(module), function)
    with pytest.raises(SystemExit) as stopped:
        main([*command[1:], "--help"])
    assert stopped.value.code == 0


@pytest.mark.parametrize("path", SERVER_UNITS, ids=lambda path: path.name)
def test_a_server_unit_is_hardened_and_restarts_on_failure(path):
    service = read_unit(path)["Service"]
    assert service["User"] == "lantian"
    assert service["ProtectSystem"] == "strict"
    assert service["ReadWritePaths"] == "/var/lib/lantian"
    assert service["StateDirectory"] == "lantian"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes"
    assert service["CapabilityBoundingSet"] == ""
    assert read_unit(path)["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize("path", SERVER_UNITS, ids=lambda path: path.name)
def test_the_environment_file_example_holds_only_settings_that_validate(path, monkeypatch):
    environment_file = Path(read_unit(path)["Service"]["EnvironmentFile"])
    assert environment_file.parent == Path("/etc/lantian")
    example = path.with_name(environment_file.name + ".example")
    values = read_env_file(example)
    prefix = f"LANTIAN_{path.stem.removeprefix('lantian-').upper()}_"
    assert values
    assert set(values) <= accepted_names(SETTINGS[prefix], prefix)
    for key in list(os.environ):
        if key.startswith("LANTIAN_"):
            monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    assert SETTINGS[prefix]() is not None


def test_the_api_example_token_secret_is_refused_until_replaced(monkeypatch):
    values = read_env_file(ROOT / "deploy" / "systemd" / "api.env.example")
    for key in list(os.environ):
        if key.startswith("LANTIAN_"):
            monkeypatch.delenv(key)
    for key, value in values.items():
        monkeypatch.setenv(key, value)

    assert values["LANTIAN_API_JWT_SECRET"] == "change-me"  # noqa: S105 - the example's placeholder
    with pytest.raises(UnsafeSettingsError, match="LANTIAN_API_JWT_SECRET"):
        jwt_secret_of(ApiSettings())


@pytest.mark.parametrize("path", SERVER_UNITS, ids=lambda path: path.name)
def test_systemd_accepts_the_unit(path, tmp_path):
    """``systemd-analyze verify`` on a copy whose paths point at this checkout's files."""
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze (Debian package systemd) is needed"
    service = read_unit(path)["Service"]
    environment_file = Path(service["EnvironmentFile"])
    text = path.read_text(encoding="utf-8")
    text = text.replace("/opt/lantian/bin/", f"{Path(sys.executable).parent}/")
    text = text.replace(
        str(environment_file), str(path.with_name(environment_file.name + ".example"))
    )
    copy = tmp_path / path.name
    copy.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, check=False
    )
    complaints = [line for line in done.stderr.splitlines() if str(copy) in line]
    assert done.returncode == 0, done.stderr
    assert complaints == []
