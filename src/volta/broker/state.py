"""Who has a broker credential: the provisioning state (hashes only) and how a run changes it.

`plan` is pure: it takes the current state, the request, what the registry knows, a secret
generator, a hasher and the time, and returns the next state plus the secrets issued in this
run. Nothing is written and no secret is kept: the caller shows the secrets once and stores
only the state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import msgspec

from volta.broker.acl import DEFAULT_GATEWAY_USER, check_service_name, check_username
from volta.errors import ConfigError, NotFound
from volta.wire import is_valid_vin
from volta.wire.vin import vin_reason


class UserRole(StrEnum):
    VEHICLE = "vehicle"
    GATEWAY = "gateway"


class BrokerUser(msgspec.Struct, frozen=True, kw_only=True):
    """One broker login. `password_hash` is Mosquitto's `$7$` line; the secret is never kept."""

    role: UserRole
    password_hash: str
    created_ms: int
    rotated_ms: int | None = None


class CredentialState(msgspec.Struct, frozen=True, kw_only=True):
    """Every active broker user, and when each revoked one was revoked."""

    version: int = 1
    users: dict[str, BrokerUser] = msgspec.field(default_factory=dict)
    revoked: dict[str, int] = msgspec.field(default_factory=dict)

    def hashes(self) -> dict[str, str]:
        return {name: u.password_hash for name, u in self.users.items()}

    def with_role(self, role: UserRole) -> list[str]:
        return sorted(name for name, u in self.users.items() if u.role is role)


@dataclass(frozen=True, slots=True)
class ProvisionRequest:
    """What one `volta vehicles provision` run asks for (see `plan`)."""

    vins: tuple[str, ...] = ()
    all_registered: bool = False
    rotate: tuple[str, ...] = ()
    revoke: tuple[str, ...] = ()
    gateway_user: str = DEFAULT_GATEWAY_USER


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    """A secret issued in this run: shown once, then only its hash exists."""

    username: str
    role: UserRole
    password: str = field(repr=False)
    replaced: bool  # True when it replaced an earlier secret (rotation or re-issue)


@dataclass(frozen=True, slots=True)
class Plan:
    state: CredentialState
    issued: list[IssuedSecret]
    revoked: list[str]
    kept: list[str]  # active users whose secret did not change


def plan(
    state: CredentialState,
    request: ProvisionRequest,
    *,
    is_registered: Callable[[str], bool],
    registered_vins: Callable[[], Iterable[str]],
    new_secret: Callable[[], str],
    hasher: Callable[[str], str],
    now_ms: int,
) -> Plan:
    """The next state for `request`, in this order: revoke, rotate, provision.

    - `revoke`: the user's line leaves the password file (revoking twice is harmless).
    - `rotate`: a new secret replacing the current or a revoked one.
    - `vins`: registered vehicles get a secret unless they have one; naming a revoked
      vehicle here re-issues it.
    - `all_registered`: every registered vehicle without a secret, except revoked ones.
    - the gateway user is issued once, unless it was revoked (`rotate` brings it back).
    Every check runs before anything changes, so a refused request changes nothing."""
    gateway = check_service_name(request.gateway_user)
    _check(state, request)
    unregistered = [v for v in request.vins if not is_registered(v)]
    if unregistered:
        raise NotFound(
            f"not registered: {', '.join(unregistered)}; add them with `volta vehicles add`"
        )

    users = dict(state.users)
    revoked = dict(state.revoked)
    issued: list[IssuedSecret] = []
    revoked_now: list[str] = []

    def issue(name: str, role: UserRole) -> None:
        old = users.get(name)
        secret = new_secret()
        users[name] = BrokerUser(
            role=role,
            password_hash=hasher(secret),
            created_ms=old.created_ms if old else now_ms,
            rotated_ms=now_ms if old else None,
        )
        issued.append(IssuedSecret(name, role, secret, replaced=old is not None or name in revoked))
        revoked.pop(name, None)

    for name in dict.fromkeys(request.revoke):
        if users.pop(name, None) is not None:
            revoked[name] = now_ms
            revoked_now.append(name)
    for name in dict.fromkeys(request.rotate):
        old = users.get(name)
        issue(name, old.role if old else _role_of(name))
    for vin in request.vins:
        if vin not in users:
            issue(vin, UserRole.VEHICLE)
    if request.all_registered:
        for vin in registered_vins():
            if vin not in users and vin not in revoked:
                issue(vin, UserRole.VEHICLE)
    if gateway not in users and gateway not in revoked:
        issue(gateway, UserRole.GATEWAY)

    fresh = {s.username for s in issued}
    kept = sorted(name for name in users if name not in fresh)
    next_state = CredentialState(version=state.version, users=users, revoked=revoked)
    return Plan(next_state, issued, revoked_now, kept)


def _check(state: CredentialState, request: ProvisionRequest) -> None:
    for vin in request.vins:
        if not is_valid_vin(vin):
            raise ConfigError(vin_reason(vin))
    for name in (*request.rotate, *request.revoke):
        check_username(name)
    both = set(request.revoke) & (set(request.rotate) | set(request.vins))
    if both:
        raise ConfigError(f"both revoked and issued in one run: {', '.join(sorted(both))}")
    unknown = [n for n in request.revoke if n not in state.users and n not in state.revoked]
    unknown += [n for n in request.rotate if n not in state.users and n not in state.revoked]
    if unknown:
        raise NotFound(
            f"no broker credential for {', '.join(unknown)}; provision it first with --vin"
        )


def _role_of(name: str) -> UserRole:
    return UserRole.VEHICLE if is_valid_vin(name) else UserRole.GATEWAY
