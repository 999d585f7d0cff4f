"""Sign-in, tokens and API keys over real SQLite and PostgreSQL: who gets in, and who does not."""

import secrets
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from argon2 import PasswordHasher
from tests.api.conftest import ENT_A, JWT_SECRET, PASSWORD, make_client, settings, sign_in

from api.cli import main
from api.security import tokens
from api.security.passwords import hash_password, hasher_of
from api.settings import ApiSettings, UnsafeSettingsError
from store.sql import Role

pytestmark = pytest.mark.integration

ME = "/v1/auth/me"


def claims_of(headers):
    token = headers["Authorization"].removeprefix("Bearer ")
    return jwt.decode(token, JWT_SECRET, algorithms=["HS256"], audience="lantian-api")


def forged(**changes):
    """A token as the API would issue for zhang now, with some claims changed.

    A timedelta for ``exp`` is taken from now; ``None`` leaves a claim out.
    """
    now = datetime.now(UTC)
    claims = {
        "sub": "zhang",
        "role": "enterprise_user",
        "enterprise": ENT_A,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": "lantian",
        "aud": "lantian-api",
    }
    key = changes.pop("key", JWT_SECRET)
    algorithm = changes.pop("algorithm", "HS256")
    claims.update(changes)
    if isinstance(claims["exp"], timedelta):
        claims["exp"] = now + claims["exp"]
    claims = {name: value for name, value in claims.items() if value is not None}
    return {"Authorization": f"Bearer {jwt.encode(claims, key, algorithm=algorithm)}"}


def assert_401(response, *words):
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="lantian"')
    detail = response.json()["detail"]
    for word in words:
        assert word.lower() in detail.lower()


# --- signing in -----------------------------------------------------------------------------


def test_a_user_signs_in_and_the_token_says_who_for_how_long(api, people):
    before = datetime.now(UTC).replace(microsecond=0)
    headers = sign_in(api, "zhang")

    claims = claims_of(headers)
    assert {k: claims[k] for k in ("sub", "role", "enterprise", "iss", "aud")} == {
        "sub": "zhang",
        "role": "enterprise_user",
        "enterprise": ENT_A,
        "iss": "lantian",
        "aud": "lantian-api",
    }
    assert claims["exp"] - claims["iat"] == 900
    assert claims["iat"] >= before.timestamp()
    assert people.user("zhang").last_login_at >= before
    me = api.get(ME, headers=headers)
    assert me.status_code == 200
    assert me.json() == {
        "name": "zhang",
        "role": "enterprise_user",
        "enterprise": ENT_A,
        "credential": "token",
    }


@pytest.mark.parametrize(("username", "password"), [("zhang", "wrong"), ("nobody", PASSWORD)])
def test_a_wrong_password_and_an_unknown_user_get_the_same_refusal(api, username, password):
    response = api.post("/v1/auth/token", data={"username": username, "password": password})

    assert response.status_code == 400
    assert response.json() == {"detail": "wrong username or password"}


def test_sign_in_without_a_password_is_422_naming_the_field(api):
    response = api.post("/v1/auth/token", data={"username": "zhang"})

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", "password"]]


def test_a_disabled_account_cannot_sign_in_and_its_tokens_stop_working(api, people):
    headers = sign_in(api, "zhang")
    people.set_active("zhang", active=False)

    refused = api.post("/v1/auth/token", data={"username": "zhang", "password": PASSWORD})

    assert refused.status_code == 400
    assert refused.json() == {"detail": "the account is disabled"}
    assert_401(api.get(ME, headers=headers), "disabled")


def test_an_outdated_hash_is_replaced_at_sign_in(api, people, city_sql):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    people.add_user(
        "old", display_name="Old", password_hash=weak.hash(PASSWORD), role=Role.BUREAU_VIEWER
    )

    sign_in(api, "old")

    stored = people.user("old").password_hash
    assert stored.startswith("$argon2id$")
    assert "m=8192" not in stored
    assert not hasher_of(settings()).check_needs_rehash(stored)
    hasher_of(settings()).verify(stored, PASSWORD)
    sign_in(api, "old")  # the new hash still lets the user in


# --- tokens refused -------------------------------------------------------------------------


def test_no_credential_is_401_with_a_challenge(api):
    response = api.get(ME)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="lantian"'
    assert "/v1/auth/token" in response.json()["detail"]


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        (None, "invalid token"),
        ({"exp": timedelta(minutes=-1)}, "expired"),
        ({"aud": "grafana"}, "audience"),
        ({"iss": "someone-else"}, "issuer"),
        ({"key": secrets.token_urlsafe(48)}, "Signature"),
        ({"algorithm": "HS512"}, "alg value"),
        ({"exp": None}, "exp"),
        ({"sub": "nobody"}, "no longer exists"),
        ({"role": "bureau_admin", "enterprise": None}, "role has changed"),
        ({"role": "emperor"}, "role"),
    ],
    ids=[
        "garbage",
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "other-key",
        "other-algorithm",
        "no-expiry",
        "unknown-user",
        "raised-role",
        "unknown-role",
    ],
)
def test_a_bad_token_is_401_saying_why(api, changes, why):
    headers = {"Authorization": "Bearer not-a-jwt"} if changes is None else forged(**changes)

    assert_401(api.get(ME, headers=headers), why)


def test_an_unsigned_token_is_refused(api):
    now = datetime.now(UTC)
    claims: dict[str, object] = {"sub": "admin", "role": "bureau_admin", "enterprise": None}
    claims |= {
        "iss": "lantian",
        "aud": "lantian-api",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    unsigned = jwt.encode(claims, None, algorithm="none")

    assert_401(api.get(ME, headers={"Authorization": f"Bearer {unsigned}"}), "invalid token")


def test_a_token_expires_after_the_configured_time(city_sql, people):
    issued = datetime.now(UTC) - timedelta(seconds=70)  # past 60 s and the 5 s leeway
    short = settings(token_ttl_s=60)
    token = tokens.issue(
        short, username="zhang", role=Role.ENTERPRISE_USER, enterprise=ENT_A, now=issued
    )
    fresh = tokens.issue(short, username="zhang", role=Role.ENTERPRISE_USER, enterprise=ENT_A)

    with make_client(city_sql, short) as api:
        assert_401(api.get(ME, headers={"Authorization": f"Bearer {token}"}), "expired")
        assert api.get(ME, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


# --- API keys -------------------------------------------------------------------------------


def test_an_api_key_authenticates_a_machine_until_it_is_revoked(api, people):
    record, key = people.create_api_key("scada", role=Role.ENTERPRISE_USER, enterprise_id=ENT_A)

    me = api.get(ME, headers={"X-API-Key": key})

    assert me.status_code == 200
    assert me.json() == {
        "name": f"key:{record.id}",
        "role": "enterprise_user",
        "enterprise": ENT_A,
        "credential": "api_key",
    }
    people.revoke_api_key(record.id)
    assert_401(api.get(ME, headers={"X-API-Key": key}), "revoked")


@pytest.mark.parametrize(
    "key",
    ["", "lantian_000000000000_" + "A" * 43, "lantian_abc_def", "Bearer x"],
    ids=["empty", "unknown", "malformed", "not-a-key"],
)
def test_a_bad_api_key_is_401(api, key):
    response = api.get(ME, headers={"X-API-Key": key})
    if key == "":  # an empty header is no credential at all
        assert response.status_code == 401
        return
    assert_401(response, "API key refused")


def test_a_key_with_one_character_changed_is_unknown(api, people):
    _, key = people.create_api_key("scada", role=Role.BUREAU_VIEWER)
    changed = key[:-1] + ("A" if key[-1] != "A" else "B")

    assert_401(api.get(ME, headers={"X-API-Key": changed}), "unknown key")
    assert api.get(ME, headers={"X-API-Key": key}).status_code == 200


def test_a_token_and_a_key_together_are_refused(api, people):
    _, key = people.create_api_key("scada", role=Role.BUREAU_VIEWER)
    headers = sign_in(api, "viewer") | {"X-API-Key": key}

    assert_401(api.get(ME, headers=headers), "not both")


# --- the secret -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        (None, "not set"),
        ("short-but-random-Q8f", "at least 32"),
        ("changeme-changeme-changeme-changeme", "default or example"),
        ("my-example-jwt-secret-for-the-docs-01234", "default or example"),
        ("ab" * 32, "default or example"),
    ],
    ids=["missing", "short", "changeme", "example", "repetitive"],
)
def test_the_api_refuses_to_start_with_an_unsafe_secret(city_sql, secret, why):
    with pytest.raises(UnsafeSettingsError, match=why):
        make_client(city_sql, settings(jwt_secret=secret))


def test_the_cli_exits_2_naming_the_problem(monkeypatch, capsys, sqlite_url):
    monkeypatch.setenv("LANTIAN_API_JWT_SECRET", "changeme")
    monkeypatch.setenv("LANTIAN_API_SQL_URL", sqlite_url)
    monkeypatch.setenv("LANTIAN_API_PORT", "0")

    assert main(["serve"]) == 2

    error = capsys.readouterr().err
    assert "refusing to start" in error
    assert "LANTIAN_API_JWT_SECRET" in error
    assert "changeme" not in error  # the secret itself is never echoed


def test_a_safe_secret_lets_the_api_start(city_sql):
    with make_client(city_sql, settings(jwt_secret=secrets.token_urlsafe(32))) as api:
        assert api.get(ME).status_code == 401  # it answers; nobody is signed in


def test_passwords_are_hashed_with_the_settings_argon2_parameters():
    chosen = settings(password_time_cost=2, password_memory_kib=2048, password_parallelism=1)

    stored = hash_password(PASSWORD, hasher_of(chosen))

    assert "$m=2048,t=2,p=1$" in stored
    assert hasher_of(chosen).verify(stored, PASSWORD)
    assert "$m=65536,t=3,p=4$" in hash_password(PASSWORD, hasher_of(ApiSettings()))
