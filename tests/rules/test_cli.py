"""``lantian-rules check`` and ``run``: problems named by file and line, a clean stop on SIGTERM."""

import os
import signal
import subprocess
import sys

import httpx
import pytest
from tests.rules.conftest import wait_for

from devstack.servers import free_port
from rules.cli import main

GOOD = """
version: "2026.1"
rules:
  - {id: pm25-spike, kind: threshold, metric: pm25, above: 150, for: 10m, clear_below: 115}
  - {id: quiet, kind: no_data, for: 15m}
"""

BROKEN = """
rules:
  - {id: pm25-spike, kind: threshold, metric: pm2.5, above: 150}
  - id: quiet
    kind: no_data
    for: 15 minutes
  - {id: offline, kind: gateway_offline, fro: 5m}
"""


def test_check_prints_ok_for_a_good_file(tmp_path, capsys):
    path = tmp_path / "city.yaml"
    path.write_text(GOOD)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK {path}: version 2026.1+")
    assert out.endswith(", 2 rule(s) enabled\n")


def test_check_prints_every_problem_as_file_line_rule_field_message(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        (
            f"{path}:3: rule pm25-spike: rules[0].metric: Value error, 'pm2.5' is not in "
            "the telemetry catalog (got 'pm2.5')"
        ),
        (
            f"{path}:6: rule quiet: rules[1].for: Value error, a duration such as 30s, 10m, "
            "2h or 1d (got '15 minutes')"
        ),
        f"{path}:7: rule offline: rules[2].fro: Extra inputs are not permitted",
    ]


def test_check_reports_an_id_used_in_two_files_and_an_unreadable_file(tmp_path, capsys):
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text(GOOD)
    second.write_text("rules: [{id: quiet, kind: no_data, for: 1h}]")
    missing = tmp_path / "missing.yaml"
    assert main(["check", str(first), str(second), str(missing)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{missing}:?: <document>: [Errno 2]")
    assert err[1:] == [
        f"{second}: rule quiet: id: used by another rule file already; this rule is not in force"
    ]


def test_run_stops_cleanly_on_sigterm(tmp_path, mosquitto, sqlite_url):
    path = tmp_path / "city.yaml"
    path.write_text(GOOD)
    port = free_port()
    env_file = tmp_path / "rules.env"
    env_file.write_text(
        f"LANTIAN_RULES_RULE_FILES={path}\n"
        f"LANTIAN_RULES_MQTT_PORT={mosquitto.port}\n"
        f"LANTIAN_RULES_SQL_URL={sqlite_url}\n"
        f"LANTIAN_RULES_METRICS_PORT={port}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "rules.cli", "run", "--env-file", str(env_file)],
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("LANTIAN_")},
    )
    try:
        wait_for(lambda: _subscribed(port))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = process.stderr.read() if process.stderr else ""
    assert "stream rules in force: pm25-spike, quiet" in log
    assert "stopping" in log


def test_run_refuses_settings_without_rule_files(tmp_path, capsys, monkeypatch):
    for name in [k for k in os.environ if k.startswith("LANTIAN_RULES_")]:
        monkeypatch.delenv(name)
    env_file = tmp_path / "rules.env"
    env_file.write_text("LANTIAN_RULES_MQTT_PORT=1\n")
    assert main(["run", "--env-file", str(env_file)]) == 1
    assert capsys.readouterr().err == "LANTIAN_RULES_RULE_FILES: Field required\n"


def _subscribed(port: int) -> bool:
    try:
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
    except httpx.TransportError:
        return False
    return "lantian_rules_subscribed 1.0" in metrics


pytestmark = pytest.mark.integration


def test_run_only_windows_judges_no_stream_rule(tmp_path, mosquitto, sqlite_url):
    path = tmp_path / "city.yaml"
    path.write_text(GOOD)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTIAN_")}
    env |= {
        "LANTIAN_RULES_RULE_FILES": str(path),
        "LANTIAN_RULES_MQTT_PORT": str(mosquitto.port),
        "LANTIAN_RULES_SQL_URL": sqlite_url,
        "LANTIAN_RULES_METRICS_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "rules.cli", "run", "--only", "windows"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        wait_for(lambda: _subscribed(port))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = process.stderr.read() if process.stderr else ""
    assert "stream rules in force: none" in log
    assert "subscribing" in log  # to note late readings
    assert "delivering notices" not in log  # the stream process delivers
