"""Who is calling and what they may do: bearer tokens (header, or `?token=` for WebSockets) to
a `Principal`, and one declarative access policy per route.

Every route declares its policy through the dependency that enforces it (`Allow`,
`AllowVehicle`, `Public`, or `Declare` where a WebSocket checks in its body). `policy_of(route)`
reads it back from the route table: the route × role test and the policy table in
docs/security.md are generated from it, and a route without one fails that test.

Tokens never appear in logs or errors; a principal is logged by its credential id or user name.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute

from volta.api.limits import TokenBuckets
from volta.errors import AuthError, Forbidden, NotFound, RateLimited
from volta.platform import Platform
from volta.registry import Principal, Role

_bearer = HTTPBearer(
    auto_error=False,
    description="an API token (vehicle vt_…, operator ot_…) or a sign-in token from"
    " POST /v1/auth/token",
)
_Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

ALL_ROLES = frozenset(Role)


@dataclass(frozen=True, slots=True)
class Policy:
    """Who may call a route. `roles` empty = public (no token). `vin`: the `{vin}` in the path
    must be a vehicle the caller may see (`Principal.may_access`). `audit`: a state-changing
    call is written to the audit log (off only for high-rate telemetry)."""

    roles: frozenset[Role]
    vin: bool = False
    audit: bool = True

    @property
    def public(self) -> bool:
        return not self.roles

    def __and__(self, other: Policy) -> Policy:
        """Both policies at once (a route with two guards)."""
        if self.public or other.public:
            return other if self.public else self
        return Policy(self.roles & other.roles, self.vin or other.vin, self.audit and other.audit)

    def describe(self) -> str:
        if self.public:
            return "public"
        roles = "any role" if self.roles == ALL_ROLES else ", ".join(sorted(self.roles))
        return f"{roles}; the vehicle must be visible to the caller" if self.vin else roles

    def check_role(self, principal: Principal) -> None:
        if principal.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(
                f"a {principal.role.value} credential may not do this (allowed: {allowed})"
            )


PUBLIC = Policy(frozenset())
ANY = Policy(ALL_ROLES)
OPERATOR_ONLY = Policy(frozenset({Role.OPERATOR}))
VEHICLE_READ = Policy(ALL_ROLES, vin=True)
# The vehicle itself (its own VIN in the path), e.g. ingestion; not audited (one call a second).
VEHICLE_SELF = Policy(frozenset({Role.VEHICLE}), vin=True, audit=False)
# The vehicle itself, audited (e.g. acknowledging a command).
VEHICLE_ITSELF = Policy(frozenset({Role.VEHICLE}), vin=True)
# People who may see the vehicle (not the vehicle's own token), e.g. sending it a command.
PEOPLE_OF_VEHICLE = Policy(frozenset({Role.OPERATOR, Role.TECHNICIAN, Role.DRIVER}), vin=True)
# Operators, and a vehicle for its own records (the route filters by the caller's VIN).
OPERATOR_OR_VEHICLE = Policy(frozenset({Role.OPERATOR, Role.VEHICLE}))


def get_platform(conn: HTTPConnection) -> Platform:
    platform: Platform = conn.app.state.platform
    return platform


async def _platform(conn: HTTPConnection) -> Platform:
    # async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a hop that
    # costs more than everything else a latest-state request does.
    return get_platform(conn)


PlatformDep = Annotated[Platform, Depends(_platform)]


def token_of(conn: HTTPConnection, *, allow_query: bool = False) -> str | None:
    """The bearer token: `Authorization: Bearer …`, else, where allowed (WebSockets, since
    browsers cannot set their headers), `?token=`. Plain HTTP routes never take it from the
    URL, which proxies and access logs record."""
    header = conn.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" and value.strip() else None
    return (conn.query_params.get("token") or None) if allow_query else None


# Per-platform API limits, set by `install` (a platform serves one app).
_limits: weakref.WeakKeyDictionary[Platform, _Limits] = weakref.WeakKeyDictionary()
_counters: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()


@dataclass
class _Limits:
    buckets: TokenBuckets
    refused: Counter


def authenticate(platform: Platform, token: str | None) -> Principal:
    """The principal of a token, counted against its credential's rate limit. AuthError (401)
    without a valid token, RateLimited (429) over the limit."""
    if not token:
        raise AuthError("missing credentials: send 'Authorization: Bearer <token>'")
    principal = platform.registry.authenticate(token)
    if principal is None:
        raise AuthError("invalid or revoked token")
    limits = _limits.get(platform)
    if limits is not None:
        wait_s = limits.buckets.take(principal.credential_id)
        if wait_s > 0:
            limits.refused.labels(role=principal.role.value).inc()
            raise RateLimited(
                f"too many requests with this credential (limit {limits.buckets.rate_per_s:g}/s,"
                f" burst {limits.buckets.burst:g}); retry after {math.ceil(wait_s)} s",
                retry_after_s=wait_s,
            )
    return principal


def check_access(platform: Platform, principal: Principal, vin: str) -> None:
    """Forbidden for a vehicle the caller may not see (before saying whether the VIN exists),
    NotFound for an unregistered VIN."""
    if not principal.may_access(vin):
        raise Forbidden(f"this credential may not access vehicle {vin}")
    if not platform.registry.has_vehicle(vin):
        raise NotFound(f"vehicle {vin} is not registered")


class _Guard:
    """A dependency that carries the policy of the route it guards."""

    policy: Policy


class Allow(_Guard):
    """Authenticate, then require one of the policy's roles. Keeps the principal in
    `request.state.principal` (for the audit log)."""

    def __init__(self, policy: Policy) -> None:
        if policy.vin or policy.public:
            raise ValueError("use AllowVehicle for a vehicle's routes, Public for public ones")
        self.policy = policy

    async def __call__(self, request: Request, platform: PlatformDep, _: _Bearer) -> Principal:
        principal = authenticate(platform, token_of(request))
        request.state.principal = principal
        self.policy.check_role(principal)
        return principal


class AllowVehicle(_Guard):
    """Authenticate, require one of the policy's roles and that the caller may see `{vin}`."""

    def __init__(self, policy: Policy) -> None:
        if not policy.vin:
            raise ValueError("AllowVehicle is for policies about the vehicle in the path")
        self.policy = policy

    async def __call__(
        self, vin: str, request: Request, platform: PlatformDep, _: _Bearer
    ) -> Principal:
        return guard_vehicle(request, platform, self.policy, vin)


def guard_vehicle(request: Request, platform: Platform, policy: Policy, vin: str) -> Principal:
    """What `AllowVehicle(policy)` does, callable without FastAPI's dependency solving (most
    of the CPU of a small request) by a hot route that serves requests itself (GET /state):
    the same checks in the same order, so the same answers."""
    principal = authenticate(platform, token_of(request))
    request.state.principal = principal
    policy.check_role(principal)
    check_access(platform, principal, vin)
    return principal


class Public(_Guard):
    """No token needed (liveness, sign-in, the dashboard's entry)."""

    policy = PUBLIC

    async def __call__(self) -> None:
        return None


class Declare(_Guard):
    """Declares the policy of a route that enforces it in its body (a WebSocket, which must
    answer a refused handshake itself). The route × role test checks the body keeps to it."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    async def __call__(self) -> None:
        return None


def declare(policy: Policy) -> Any:
    """`Depends(...)` declaring the policy of a route that enforces it in its body."""
    return Depends(Declare(policy))


def allow(policy: Policy) -> Any:
    """`Depends(...)` of the guard for a policy: `principal: Annotated[Principal, allow(p)]`."""
    if policy.public:
        return Depends(Public())
    return Depends(AllowVehicle(policy) if policy.vin else Allow(policy))


caller = Allow(ANY)
operator = Allow(OPERATOR_ONLY)
vehicle_reader = AllowVehicle(VEHICLE_READ)
vehicle_self = AllowVehicle(VEHICLE_SELF)
vehicle_itself = AllowVehicle(VEHICLE_ITSELF)
vehicle_commander = AllowVehicle(PEOPLE_OF_VEHICLE)
operator_or_vehicle = Allow(OPERATOR_OR_VEHICLE)
public = Public()

CallerDep = Annotated[Principal, Depends(caller)]
OperatorDep = Annotated[Principal, Depends(operator)]
ReaderDep = Annotated[Principal, Depends(vehicle_reader)]
VehicleSelfDep = Annotated[Principal, Depends(vehicle_self)]
VehicleItselfDep = Annotated[Principal, Depends(vehicle_itself)]
CommanderDep = Annotated[Principal, Depends(vehicle_commander)]
OperatorOrVehicleDep = Annotated[Principal, Depends(operator_or_vehicle)]
PUBLIC_ROUTE = Depends(public)  # for `dependencies=[PUBLIC_ROUTE]`


def policy_of(route: object) -> Policy | None:
    """The policy a route declares (all its guards together), or None if it declares none."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    found: list[Policy] = []
    stack = [dependant]
    while stack:
        d = stack.pop()
        if isinstance(d.call, _Guard):
            found.append(d.call.policy)
        stack.extend(d.dependencies)
    if not found:
        return None
    policy = found[0]
    for p in found[1:]:
        policy = policy & p
    return policy


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """One route of the app as the access model sees it."""

    path: str
    methods: tuple[str, ...]  # ("WS",) for a WebSocket
    policy: Policy | None
    route: Any

    @property
    def websocket(self) -> bool:
        return self.methods == ("WS",)


def route_table(routes: Iterable[BaseRoute]) -> list[RouteInfo]:
    """The routes of the app's own code (not the docs pages or static files), through included
    routers, each with its declared policy."""
    out: list[RouteInfo] = []
    for ctx in iter_route_contexts(list(routes)):
        original = ctx.original_route
        if isinstance(original, APIWebSocketRoute):
            methods: tuple[str, ...] = ("WS",)
        elif isinstance(original, APIRoute):
            methods = tuple(sorted(ctx.methods or ()))
        else:
            continue
        out.append(RouteInfo(str(ctx.path), methods, policy_of(ctx), ctx))
    return out


def install(app: FastAPI, platform: Platform) -> None:
    """Per-token limits for this platform, and each route's policy in its OpenAPI operation
    (`x-volta-access`)."""
    settings = platform.settings
    counter = _counters.get(platform.metrics_registry)
    if counter is None:
        counter = Counter(
            "volta_api_rate_limited",
            "API requests refused (429) for going over their credential's limit",
            ["role"],
            registry=platform.metrics_registry,
        )
        _counters[platform.metrics_registry] = counter
    _limits[platform] = _Limits(TokenBuckets(settings.api_rate_per_s, settings.api_burst), counter)
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        schema = default_openapi()
        paths = schema.get("paths", {})
        for info in route_table(app.routes):
            for method in info.methods:
                operation = paths.get(info.path, {}).get(method.lower())
                if operation is not None and info.policy is not None:
                    operation["x-volta-access"] = info.policy.describe()
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
