"""Registry domain types and token handling: vehicles, roles, principals, secrets.

Tokens are random (32 bytes, URL-safe) with a short prefix that tells a human what they are
(`vt_` vehicle, `ot_` operator). Only an HMAC of a token is ever stored; the token itself is
shown once, when it is issued. People (operators, technicians, drivers) sign in with a name and
password (argon2 hash stored) and get a short-lived signed JWT (`volta.registry.sessions`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from volta.errors import BadRequest


class Role(StrEnum):
    """Who a principal is. Operators see the whole fleet; technicians the vehicles their
    service organisation looks after; drivers the vehicles assigned to them; a vehicle itself."""

    VEHICLE = "vehicle"
    OPERATOR = "operator"
    TECHNICIAN = "technician"
    DRIVER = "driver"


# Roles a person (a user who signs in) may have.
USER_ROLES = frozenset({Role.OPERATOR, Role.TECHNICIAN, Role.DRIVER})


TOKEN_PREFIX: dict[Role, str] = {Role.VEHICLE: "vt_", Role.OPERATOR: "ot_"}


@dataclass(frozen=True, slots=True)
class Vehicle:
    vin: str
    model: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    created_ms: int = 0
    organisation: str | None = None  # the service organisation whose technicians see it
    name: str | None = None  # what people call it ("Van 12")
    plate: str | None = None  # licence plate
    group: str | None = None  # an operator's grouping (depot, team, region)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. `credential_id` (a token's id, or a user's id for a signed-in person) and
    `user` (a name) are safe to log. `vins` is the set of vehicles a driver or technician may
    see, taken when the request authenticated."""

    role: Role
    credential_id: str
    vin: str | None = None
    user: str | None = None
    organisation: str | None = None
    vins: frozenset[str] = frozenset()

    def may_access(self, vin: str) -> bool:
        """Operators: every vehicle; a vehicle: itself; drivers: the vehicles assigned to them;
        technicians: the vehicles of their service organisation."""
        if self.role is Role.OPERATOR:
            return True
        if self.role is Role.VEHICLE:
            return self.vin == vin
        return vin in self.vins

    @property
    def sees_all(self) -> bool:
        """Whether every vehicle is visible (fleet-wide lists need no filter)."""
        return self.role is Role.OPERATOR

    @property
    def actor(self) -> str:
        """How the audit log names this principal: the user's name, else the credential id."""
        return self.user or self.credential_id


@dataclass(frozen=True, slots=True)
class User:
    """A person who signs in. The password hash never leaves the registry."""

    id: str
    name: str
    role: Role
    organisation: str | None
    created_ms: int
    disabled_ms: int | None = None
    vins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Credential:
    """An issued API token as listed to operators: never the secret, only its id."""

    id: str
    role: Role
    vin: str | None
    created_ms: int
    revoked_ms: int | None


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in user's token (a JWT) and when it expires."""

    token: str
    user: User
    expires_ms: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One state-changing action: who, what, on what, from where, with what outcome."""

    id: int
    ts_ms: int
    actor: str
    role: str
    credential_id: str | None
    action: str
    target: str | None
    client: str | None
    status: int
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of the audit log; newest first, paged with `before` (an entry id)."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    before: int | None = None
    limit: int = 100


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


def new_user_id() -> str:
    return "usr_" + secrets.token_hex(6)


def token_digest(key: bytes, token: str) -> str:
    """HMAC-SHA256 of a token: a stolen registry file alone does not let anyone check guesses."""
    return hmac.new(key, token.encode("utf-8"), hashlib.sha256).hexdigest()


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


# Operators edit these; `None` clears one. `model` names an EV model file (volta.vehicles).
VEHICLE_FIELDS = ("name", "plate", "group", "model")
# Printable: no control characters, no lone surrogates (JSON can carry them; UTF-8 cannot).
_LABEL = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]{1,64}")
_PLATE = re.compile(r"[A-Z0-9][A-Z0-9 -]{0,14}")


def check_vehicle_field(field_name: str, value: str | None) -> str | None:
    """`value` cleaned (spaces trimmed; plates upper-cased) if it is valid for a vehicle's
    `field_name`; BadRequest saying why not. Empty text clears the field (None)."""
    if field_name not in VEHICLE_FIELDS:
        raise BadRequest(
            f"unknown vehicle field {field_name!r}: one of {', '.join(VEHICLE_FIELDS)}"
        )
    if value is None or not value.strip():
        return None
    text = " ".join(value.split())
    if field_name == "plate":
        text = text.upper()
        if not _PLATE.fullmatch(text):
            raise BadRequest(f"invalid plate {value!r}: 1-15 characters A-Z, 0-9, space and -")
    elif not _LABEL.fullmatch(text):
        raise BadRequest(f"invalid {field_name} {value!r}: 1-64 printable characters")
    return text


def check_name(what: str, value: str) -> str:
    """`value` if it is a valid user or organisation name; BadRequest saying why not."""
    if not _NAME.fullmatch(value):
        raise BadRequest(
            f"invalid {what} {value!r}: 1-64 characters A-Z, a-z, 0-9 and . _ @ -,"
            " starting with a letter or digit"
        )
    return value
