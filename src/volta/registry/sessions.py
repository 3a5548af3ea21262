"""Passwords (argon2id) and sign-in tokens (JWT, HS256): the pure parts of signing in.

A session token carries `sub` (the user id), `role`, `iat`, `exp` and a random `jti`. The user is
looked up again on every request, so disabling a user ends their sessions at once and a role
change applies at the next request; the `role` claim is informative only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from volta.errors import AuthError, BadRequest, ConfigError
from volta.registry.keys import load_or_create_key

ALGORITHM = "HS256"
ISSUER = "volta"
SIGNING_KEY_FILE = "jwt.key"
DEFAULT_TTL_S = 15 * 60
# A session may be refreshed (a new token for a valid one) up to this long after the password
# was checked; then the user signs in again.
MAX_SESSION_S = 12 * 3600
LEEWAY_S = 10  # clock skew tolerated between the signer and a checker (one process: little)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes anything; a bound keeps a request from costing seconds

_hasher = PasswordHasher()
# Checked when the user name is unknown, so that a wrong name costs as long as a wrong
# password and response times do not tell which names exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash (salted, with its parameters). BadRequest for a too short password."""
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"a password may have at most {MAX_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    """Whether `password` matches; with `hashed=None` (no such user) it still does the work."""
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return _hasher.verify(hashed or _DUMMY_HASH, password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str) -> bool:
    return _hasher.check_needs_rehash(hashed)


def load_signing_key(data_dir: Path) -> bytes:
    """The JWT signing key of a data dir, created (mode 0600) on first use. Removing it signs
    every user out."""
    return load_or_create_key(
        data_dir / SIGNING_KEY_FILE, "remove it to sign every user out and start afresh"
    )


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: str
    role: str
    issued_s: int
    expires_s: int
    jti: str
    auth_time_s: int  # when the password was checked (kept across refreshes)


def looks_like_jwt(token: str) -> bool:
    """Our API tokens have a `vt_`/`ot_` prefix and no dots; a JWT has exactly two dots."""
    return token.count(".") == 2 and token.startswith("ey")


def issue(
    key: bytes,
    user_id: str,
    role: str,
    now_ms: int,
    ttl_s: int,
    auth_time_s: int | None = None,
) -> tuple[str, int]:
    """A signed session token for a user and its expiry (ms since the epoch). `auth_time_s`:
    when the password was checked, if earlier than now (a refresh)."""
    if ttl_s <= 0:
        raise ConfigError(f"a session lifetime must be positive, got {ttl_s} s")
    iat = now_ms // 1000
    exp = iat + ttl_s
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": user_id,
        "role": role,
        "iat": iat,
        "exp": exp,
        "jti": secrets.token_hex(8),
        "auth_time": iat if auth_time_s is None else auth_time_s,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), exp * 1000


def verify(key: bytes, token: str, now_ms: int, leeway_s: int = LEEWAY_S) -> Claims:
    """The claims of a valid session token. AuthError with a reason otherwise; the reason never
    contains the token. Times are checked against `now_ms` (the registry's clock), not the
    library's, so that one clock rules issuing and checking."""
    try:
        raw = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],  # fixed: never trust the token's own `alg`
            issuer=ISSUER,
            options={
                "require": ["sub", "iat", "exp", "jti", "iss"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidTokenError:
        raise AuthError("invalid token") from None
    try:
        claims = Claims(
            user_id=str(raw["sub"]),
            role=str(raw.get("role", "")),
            issued_s=int(raw["iat"]),
            expires_s=int(raw["exp"]),
            jti=str(raw["jti"]),
            auth_time_s=int(raw.get("auth_time", raw["iat"])),
        )
    except (TypeError, ValueError):
        raise AuthError("invalid token") from None
    now_s = now_ms / 1000
    if now_s >= claims.expires_s + leeway_s:
        raise AuthError("token expired")
    if claims.issued_s > now_s + leeway_s:
        raise AuthError("invalid token: issued in the future")
    return claims
