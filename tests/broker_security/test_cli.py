"""``lantian-api broker-account`` and ``broker-files`` on a real SQLite store."""

import pytest

from api.cli import main
from store.broker import BrokerAccounts, verify_password


@pytest.fixture
def cli(sqlite_url, sqlite_engine, monkeypatch, capsys):
    """Runs ``lantian-api`` with the store in the environment; returns (status, out, err)."""
    monkeypatch.setenv("LANTIAN_API_SQL_URL", sqlite_url)

    def run(*argv):
        status = main(list(argv))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


def test_issue_gateway_prints_the_password_once_and_stores_its_hash(cli, sqlite_engine):
    status, out, err = cli("broker-account", "issue", "gateway", "gw-0001")

    assert (status, err) == (0, "")
    username_line, password_line = out.splitlines()
    assert username_line == "username gw-0001"
    password = password_line.removeprefix("password ")
    assert verify_password(password, BrokerAccounts(sqlite_engine).get("gw-0001").password_hash)


def test_issue_enterprise(cli, sqlite_engine):
    status, out, _err = cli("broker-account", "issue", "enterprise", "e-huagong")

    assert status == 0
    assert out.startswith("username ent@e-huagong\npassword ")
    assert BrokerAccounts(sqlite_engine).get("ent@e-huagong").active


def test_service_password_from_an_environment_variable_is_not_printed(
    cli, sqlite_engine, monkeypatch
):
    monkeypatch.setenv("INGEST_MQTT_PASSWORD", "from-the-dot-env-file")

    status, out, _err = cli(
        "broker-account", "issue", "service", "ingest", "--password-env", "INGEST_MQTT_PASSWORD"
    )

    assert (status, out) == (0, "username svc-ingest\n")
    stored = BrokerAccounts(sqlite_engine).get("svc-ingest").password_hash
    assert verify_password("from-the-dot-env-file", stored)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (("issue", "gateway", "gw-9999"), {}, "no gateway 'gw-9999'"),
        (("issue", "enterprise", "e-nowhere"), {}, "no enterprise 'e-nowhere'"),
        (("issue", "service", "admin"), {}, "unknown service role"),
        (("issue", "service", "rules", "--password-env", "UNSET_VAR"), {}, "UNSET_VAR is not set"),
        (
            ("issue", "service", "rules", "--password-env", "SHORT"),
            {"SHORT": "fifteen-chars-x"},
            "password has 15 characters",
        ),
        (
            ("issue", "gateway", "gw-0001", "--password-env", "SHORT"),
            {"SHORT": "long-enough-password"},
            "--password-env is for service accounts only",
        ),
        (("revoke", "gw-0003"), {}, "no broker account 'gw-0003'"),
    ],
)
def test_refusals_are_one_clear_line_and_write_nothing(
    cli, sqlite_engine, monkeypatch, argv, env, message
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    status, out, err = cli("broker-account", *argv)

    assert (status, out) == (1, "")
    assert err.startswith("lantian-api broker-account: ")
    assert message in err
    assert err.count("\n") == 1
    assert "fifteen-chars-x" not in err
    assert BrokerAccounts(sqlite_engine).accounts(include_revoked=True) == []


def test_revoke_then_broker_files_leave_the_account_out(cli, tmp_path):
    cli("broker-account", "issue", "gateway", "gw-0001")
    cli("broker-account", "issue", "gateway", "gw-0002")

    status, out, _err = cli("broker-account", "revoke", "gw-0001")
    assert (status, out) == (0, "revoked gw-0001; run broker-files to apply\n")

    status, out, _err = cli("broker-files", "--out", str(tmp_path / "broker"))
    assert status == 0
    assert "for 1 accounts" in out
    passwords = (tmp_path / "broker" / "passwords").read_text()
    assert [line.split(":")[0] for line in passwords.splitlines()] == ["gw-0002"]
    assert "8883" not in (tmp_path / "broker" / "mosquitto.conf").read_text()


def test_broker_files_with_a_pid_file_of_no_process_fails_after_writing(cli, tmp_path):
    pid_file = tmp_path / "mosquitto.pid"
    pid_file.write_text("not a pid\n")

    status, _out, err = cli(
        "broker-files", "--out", str(tmp_path / "b"), "--reload-pid", str(pid_file)
    )

    assert status == 1
    assert "is not a process id" in err
    assert (tmp_path / "b" / "acl").exists()


def test_a_database_never_migrated_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LANTIAN_API_SQL_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")

    status = main(["broker-files", "--out", str(tmp_path / "b")])

    assert status == 1
    assert "run store.sql.migrate" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
