"""Broker passwords: generated at random, stored only as Mosquitto's own ``$7$`` hash.

Mosquitto 2.0 reads password files of ``username:hash`` lines, where ``hash`` is what
``mosquitto_passwd`` (2.0.11, ``password_mosq.c``) writes::

    $7$<iterations>$<base64 salt>$<base64 hash>

with PBKDF2-HMAC-SHA512, a 12-byte salt and a 64-byte derived key, both in standard base64
with padding. The broker verifies with the iteration count written in the line, so the count
is ours to choose. Mosquitto checks passwords on its single event-loop thread, so every
iteration is paid by every client while a fleet reconnects; the passwords issued here carry
192 random bits, which no amount of stretching would make stronger, and the count
(:data:`PBKDF2_ITERATIONS`) only has to slow down guessing the shorter passwords a deployment
may set for service accounts (at least :data:`MIN_PASSWORD_LENGTH` characters).
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Final

HASH_PREFIX: Final = "$7$"  # Mosquitto 2.0: PBKDF2-SHA512
PBKDF2_ITERATIONS: Final = 1000
SALT_BYTES: Final = 12  # mosquitto_passwd 2.0.11: SALT_LEN
KEY_BYTES: Final = 64  # the length of one SHA-512 digest, as mosquitto_passwd derives
MIN_PASSWORD_LENGTH: Final = 16
_GENERATED_BYTES: Final = 24  # 192 bits, 32 URL-safe characters


class PasswordHashError(ValueError):
    """A stored hash that is not in Mosquitto's ``$7$`` format.

    Attributes:
        why: what is wrong with it (the hash itself is never repeated).
    """

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(f"not a Mosquitto $7$ password hash: {why}")


class WeakPasswordError(ValueError):
    """A password given for an account is shorter than :data:`MIN_PASSWORD_LENGTH`.

    Attributes:
        length: how many characters it has (the password itself is never repeated).
    """

    def __init__(self, length: int) -> None:
        self.length = length
        super().__init__(
            f"password has {length} characters; a broker password needs at least "
            f"{MIN_PASSWORD_LENGTH}"
        )


def generate_password() -> str:
    """A new random password: 32 URL-safe characters from the operating system's CSPRNG."""
    return secrets.token_urlsafe(_GENERATED_BYTES)


def check_password_strength(password: str) -> str:
    """Return ``password`` if it is long enough to be a broker password.

    Raises:
        WeakPasswordError: it has fewer than :data:`MIN_PASSWORD_LENGTH` characters.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(len(password))
    return password


def hash_password(
    password: str, *, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None
) -> str:
    """Mosquitto's ``$7$`` hash of ``password``, with a fresh random salt unless one is given."""
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, not {iterations}")
    if salt is None:
        salt = secrets.token_bytes(SALT_BYTES)
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, KEY_BYTES)
    return f"{HASH_PREFIX}{iterations}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, password_hash: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made from, as Mosquitto decides.

    Raises:
        PasswordHashError: ``password_hash`` is not in the ``$7$`` format.
    """
    iterations, salt, key = parse_hash(password_hash)
    candidate = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, len(key))
    return hmac.compare_digest(candidate, key)


def parse_hash(password_hash: str) -> tuple[int, bytes, bytes]:
    """The iteration count, salt and derived key of a ``$7$`` hash.

    Raises:
        PasswordHashError: the text is not ``$7$<iterations>$<salt>$<key>`` in base64.
    """
    if not password_hash.startswith(HASH_PREFIX):
        raise PasswordHashError(f"does not start with {HASH_PREFIX}")
    parts = password_hash[len(HASH_PREFIX) :].split("$")
    if len(parts) != 3:  # iterations, salt, key
        raise PasswordHashError("expected $7$<iterations>$<salt>$<hash>")
    count, salt_text, key_text = parts
    if not count.isdigit() or int(count) < 1:
        raise PasswordHashError("the iteration count is not a positive integer")
    try:
        salt = base64.b64decode(salt_text, validate=True)
        key = base64.b64decode(key_text, validate=True)
    except binascii.Error:
        raise PasswordHashError("salt or hash is not base64") from None
    if not salt or len(key) != KEY_BYTES:
        raise PasswordHashError(f"expected a salt and a {KEY_BYTES}-byte hash")
    return int(count), salt, key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
