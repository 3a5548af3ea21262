"""Registry domain types and token handling: vehicles, roles, principals, secrets.

Tokens are random (32 bytes, URL-safe) with a short prefix that tells a human what they are
(`vt_` vehicle, `ot_` operator). Only an HMAC of a token is ever stored; the token itself is
shown once, when it is issued.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    VEHICLE = "vehicle"
    OPERATOR = "operator"


TOKEN_PREFIX: dict[Role, str] = {Role.VEHICLE: "vt_", Role.OPERATOR: "ot_"}


@dataclass(frozen=True, slots=True)
class Vehicle:
    vin: str
    model: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    created_ms: int = 0


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a vehicle (with its VIN) or an operator. `credential_id` is safe to log."""

    role: Role
    credential_id: str
    vin: str | None = None

    def may_access(self, vin: str) -> bool:
        """Operators see every vehicle; a vehicle sees only itself."""
        return self.role is Role.OPERATOR or self.vin == vin


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly issued secret. `token` exists only here: the registry keeps its HMAC."""

    token: str
    principal: Principal
    created_ms: int


@dataclass(frozen=True, slots=True)
class Enrollment:
    vehicle: Vehicle
    token: IssuedToken


def new_token(role: Role) -> str:
    return TOKEN_PREFIX[role] + secrets.token_urlsafe(32)


def new_credential_id() -> str:
    return "cred_" + secrets.token_hex(6)


def token_digest(key: bytes, token: str) -> str:
    """HMAC-SHA256 of a token: a stolen registry file alone does not let anyone check guesses."""
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()
