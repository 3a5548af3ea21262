"""Broker secrets and their Mosquitto password-file hashes.

Mosquitto 2.0 reads `username:$7$<iterations>$<salt b64>$<hash b64>`: PBKDF2-HMAC-SHA512 with a
12-byte salt and a 64-byte hash (what `mosquitto_passwd` writes; the tests check ours against
both `mosquitto_passwd` and the broker). Writing it here keeps provisioning free of a Mosquitto
install on the machine that runs it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from volta.errors import ConfigError

SECRET_PREFIX = "mq_"
SALT_BYTES = 12
HASH_BYTES = 64
# mosquitto_passwd's default. Key stretching protects guessable passwords; ours carry 256
# random bits, so more rounds would add nothing but broker CPU on every connect (a fleet
# reconnecting after a broker restart authenticates thousands of clients at once).
ITERATIONS = 101
_SCHEME = "7"


def new_secret() -> str:
    """A random broker password: 32 bytes, URL-safe (it can go in `mqtt://user:pw@host`)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_password(secret: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    """The `$7$…` hash of `secret` that Mosquitto's `password_file` accepts."""
    if len(salt) != SALT_BYTES:
        raise ConfigError(f"salt must be {SALT_BYTES} bytes, got {len(salt)}")
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode("utf-8"), salt, iterations, HASH_BYTES)
    return f"${_SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def new_hash(secret: str) -> str:
    """`hash_password` with a fresh random salt."""
    return hash_password(secret, os.urandom(SALT_BYTES))


def verify_password(secret: str, encoded: str) -> bool:
    """True if `secret` matches a `$7$` hash (ours or `mosquitto_passwd`'s)."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] or parts[1] != _SCHEME or not parts[2].isdigit():
        raise ConfigError("not a Mosquitto $7$ (PBKDF2-SHA512) password hash")
    salt, expected = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    digest = hashlib.pbkdf2_hmac(
        "sha512", secret.encode("utf-8"), salt, int(parts[2]), len(expected)
    )
    return hmac.compare_digest(digest, expected)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
