"""Accounts in the SQL store and the ``lantian-api user`` and ``api-key`` commands."""

import hashlib

import pytest
from sqlalchemy import select
from tests.api.conftest import ENT_A, PASSWORD, make_client, sign_in

from api.cli import main
from store.sql import (
    AccountNotFoundError,
    AccountStore,
    DuplicateUsernameError,
    InvalidAccountError,
    InvalidApiKeyError,
    Role,
    UnknownEnterpriseError,
)
from store.sql.models import ApiKeyRow

pytestmark = pytest.mark.integration


@pytest.fixture
def accounts(city_sql):
    return AccountStore(city_sql)


def add(accounts, username="li", role=Role.BUREAU_ADMIN, enterprise=None, **changes):
    values = {"display_name": "Li Na", "password_hash": "$argon2id$stub"} | changes
    return accounts.add_user(username, role=role, enterprise_id=enterprise, **values)


# --- the store ------------------------------------------------------------------------------


def test_a_user_is_stored_with_role_enterprise_and_no_sign_in_yet(accounts):
    add(accounts, "zhang", Role.ENTERPRISE_USER, ENT_A)

    user = accounts.user("zhang")
    assert (user.username, user.role, user.enterprise, user.active) == (
        "zhang",
        Role.ENTERPRISE_USER,
        ENT_A,
        True,
    )
    assert user.last_login_at is None
    assert user.created_at.tzinfo is not None


def test_a_taken_username_is_refused(accounts):
    add(accounts)

    with pytest.raises(DuplicateUsernameError, match="user 'li' already exists"):
        add(accounts, display_name="Another Li")
    assert [user.display_name for user in accounts.users()] == ["Li Na"]


@pytest.mark.parametrize(
    ("role", "enterprise", "error", "message"),
    [
        (Role.ENTERPRISE_USER, None, InvalidAccountError, "enterprise: required"),
        (Role.BUREAU_ADMIN, ENT_A, InvalidAccountError, "enterprise: not allowed"),
        (Role.BUREAU_VIEWER, ENT_A, InvalidAccountError, "enterprise: not allowed"),
        (Role.ENTERPRISE_USER, "ent-nowhere", UnknownEnterpriseError, "no enterprise"),
        ("root", None, InvalidAccountError, "role: one of bureau_admin"),
    ],
)
def test_a_role_without_the_enterprise_it_needs_is_refused(
    accounts, role, enterprise, error, message
):
    with pytest.raises(error, match=message):
        add(accounts, role=role, enterprise=enterprise)
    with pytest.raises(error, match=message):
        accounts.create_api_key("k", role=role, enterprise_id=enterprise)
    assert accounts.users() == []
    assert accounts.api_keys() == []


@pytest.mark.parametrize("username", ["", "Li", "key:1", "ent/zhang", "-li", "l" * 121, "li na"])
def test_a_username_that_cannot_name_an_actor_is_refused(accounts, username):
    with pytest.raises(InvalidAccountError, match="username"):
        add(accounts, username)


def test_unknown_users_and_keys_are_named(accounts):
    with pytest.raises(AccountNotFoundError, match="no user 'ghost'"):
        accounts.user("ghost")
    with pytest.raises(AccountNotFoundError, match="no API key 77"):
        accounts.revoke_api_key(77)


def test_only_the_hash_of_a_key_is_stored(accounts, city_sql):
    record, key = accounts.create_api_key("scada", role=Role.BUREAU_VIEWER)

    with city_sql.connect() as connection:
        row = connection.execute(select(ApiKeyRow)).one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {str(value) for value in row}
    assert key.startswith(f"lantian_{record.prefix}_")
    assert accounts.api_key_for(key) == record


def test_a_revoked_key_stays_revoked_at_its_first_revocation(accounts):
    record, key = accounts.create_api_key("scada", role=Role.BUREAU_VIEWER)

    first = accounts.revoke_api_key(record.id)
    again = accounts.revoke_api_key(record.id)

    assert first.revoked_at is not None
    assert again.revoked_at == first.revoked_at
    with pytest.raises(InvalidApiKeyError, match="revoked"):
        accounts.api_key_for(key)


# --- the commands ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch, sql_url, city_sql):
    monkeypatch.setenv("LANTIAN_API_SQL_URL", sql_url)
    monkeypatch.setenv("LANTIAN_USER_PASSWORD", PASSWORD)
    return sql_url


def test_user_add_then_the_user_signs_in(cli_env, city_sql, capsys):
    code = main(
        [
            *["user", "add", "zhang", "--role", "enterprise_user", "--enterprise", ENT_A],
            *["--password-env", "LANTIAN_USER_PASSWORD", "--display-name", "Zhang Wei"],
        ]
    )

    assert code == 0
    assert capsys.readouterr().out == f"added user zhang (enterprise_user of {ENT_A})\n"
    user = AccountStore(city_sql).user("zhang")
    assert (user.display_name, user.role, user.enterprise) == (
        "Zhang Wei",
        "enterprise_user",
        ENT_A,
    )
    assert PASSWORD not in user.password_hash
    with make_client(city_sql) as api:
        sign_in(api, "zhang")


def test_user_add_reads_the_password_from_a_prompt(cli_env, city_sql, monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda _prompt: next(answers))

    assert main(["user", "add", "li", "--role", "bureau_admin"]) == 0
    with make_client(city_sql) as api:
        sign_in(api, "li")


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (["--role", "bureau_admin", "--password-env", "NOT_SET_ANYWHERE"], 2, "has no NOT_SET"),
        (["--role", "enterprise_user", "--enterprise", "ent-nowhere"], 1, "no enterprise"),
        (["--role", "enterprise_user"], 1, "enterprise: required"),
        (["--role", "superuser"], 2, "invalid choice"),
    ],
)
def test_user_add_refuses_with_a_clear_message(cli_env, capsys, arguments, code, message):
    if "--password-env" not in arguments:
        arguments = [*arguments, "--password-env", "LANTIAN_USER_PASSWORD"]

    assert main(["user", "add", "li", *arguments]) == code

    assert message in capsys.readouterr().err


def test_a_short_password_is_refused(cli_env, monkeypatch, capsys, city_sql):
    monkeypatch.setenv("LANTIAN_USER_PASSWORD", "1234567")

    code = main(
        ["user", "add", "li", "--role", "bureau_admin", "--password-env", "LANTIAN_USER_PASSWORD"]
    )

    assert code == 2
    assert "at least 8 characters" in capsys.readouterr().err
    assert AccountStore(city_sql).users() == []


def test_api_key_create_prints_the_key_once_and_revoke_ends_it(cli_env, city_sql, capsys):
    assert (
        main(["api-key", "create", "scada", "--role", "enterprise_user", "--enterprise", ENT_A])
        == 0
    )
    heading, key = capsys.readouterr().out.splitlines()
    [record] = AccountStore(city_sql).api_keys()
    assert heading == f"API key {record.id} (scada, enterprise_user of {ENT_A}); shown only now:"
    with make_client(city_sql) as api:
        assert api.get("/v1/auth/me", headers={"X-API-Key": key}).status_code == 200

        assert main(["api-key", "revoke", str(record.id)]) == 0
        assert capsys.readouterr().out.startswith(f"revoked API key {record.id} (scada) at ")
        assert api.get("/v1/auth/me", headers={"X-API-Key": key}).status_code == 401


def test_revoking_an_unknown_key_is_1(cli_env, capsys):
    assert main(["api-key", "revoke", "999"]) == 1
    assert "no API key 999" in capsys.readouterr().err


def test_the_commands_refuse_a_database_not_migrated(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LANTIAN_API_SQL_URL", f"sqlite:///{tmp_path / 'fresh.db'}")

    assert main(["api-key", "create", "k", "--role", "bureau_viewer"]) == 1
    assert "store.sql.migrate" in capsys.readouterr().err
