"""Mosquitto's ``$7$`` password hashes, checked against a line written by mosquitto_passwd."""

# ruff: noqa: S105 - the passwords here are test values, not secrets

import base64

import pytest

from store.broker import (
    MIN_PASSWORD_LENGTH,
    PasswordHashError,
    WeakPasswordError,
    generate_password,
    hash_password,
    verify_password,
)
from store.broker.passwords import check_password_strength, parse_hash

# Written by `mosquitto_passwd -c -b FILE alice 'correct horse battery'` (Mosquitto 2.0.11).
MOSQUITTO_PASSWD_LINE = (
    "alice:$7$101$MjKgMsXMMYSMOw4N$yD1/NPL/xyr21zKQ5eWsSDlIzhdH/nu8lQboACcf+OiVDzj06W08beXhj9d"
    "qyNjkil2lnNK6Mk5BibqgY1EUcw=="
)
SALT = base64.b64decode("MjKgMsXMMYSMOw4N")


def test_a_hash_written_by_mosquitto_passwd_verifies():
    _user, stored = MOSQUITTO_PASSWD_LINE.split(":", 1)

    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)


def test_same_salt_and_count_give_mosquitto_passwd_s_hash_byte_for_byte():
    _user, stored = MOSQUITTO_PASSWD_LINE.split(":", 1)

    assert hash_password("correct horse battery", iterations=101, salt=SALT) == stored


def test_new_hash_has_mosquitto_s_shape_and_a_fresh_salt():
    first = hash_password("a-long-enough-password")
    second = hash_password("a-long-enough-password")

    iterations, salt, key = parse_hash(first)
    assert first.startswith("$7$1000$")
    assert (iterations, len(salt), len(key)) == (1000, 12, 64)
    assert first != second
    assert verify_password("a-long-enough-password", first)
    assert verify_password("a-long-enough-password", second)


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        ("$6$rounds=5000$salt$hash", "does not start with $7$"),
        ("$7$101$onlysalt", "expected $7$<iterations>$<salt>$<hash>"),
        ("$7$abc$MjKgMsXMMYSMOw4N$AAAA", "not a positive integer"),
        ("$7$0$MjKgMsXMMYSMOw4N$AAAA", "not a positive integer"),
        ("$7$101$not base64!$AAAA", "not base64"),
        ("$7$101$MjKgMsXMMYSMOw4N$AAAA", "64-byte hash"),
    ],
)
def test_malformed_hash_is_refused_with_the_reason(stored, why):
    with pytest.raises(PasswordHashError, match="not a Mosquitto") as caught:
        verify_password("anything", stored)

    assert why in caught.value.why


def test_generated_passwords_are_long_random_and_distinct():
    passwords = {generate_password() for _ in range(200)}

    assert len(passwords) == 200
    assert {len(p) for p in passwords} == {32}  # 24 random bytes in URL-safe base64
    assert all(p.replace("-", "").replace("_", "").isalnum() for p in passwords)


def test_short_password_is_refused_without_repeating_it():
    with pytest.raises(WeakPasswordError) as caught:
        check_password_strength("x" * (MIN_PASSWORD_LENGTH - 1))

    assert caught.value.length == MIN_PASSWORD_LENGTH - 1
    assert "xxx" not in str(caught.value)
    assert check_password_strength("y" * MIN_PASSWORD_LENGTH) == "y" * MIN_PASSWORD_LENGTH
