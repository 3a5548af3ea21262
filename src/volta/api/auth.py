"""Who is calling: bearer tokens (header, or `?token=` for WebSockets) to a `Principal`.

Tokens never appear in logs or errors; a principal is logged by its credential id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from volta.errors import AuthError, Forbidden, NotFound
from volta.platform import Platform
from volta.registry import Principal, Role

_bearer = HTTPBearer(auto_error=False, description="a vehicle (vt_…) or operator (ot_…) token")


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


def authenticate(platform: Platform, token: str | None) -> Principal:
    if not token:
        raise AuthError("missing credentials: send 'Authorization: Bearer <token>'")
    principal = platform.registry.authenticate(token)
    if principal is None:
        raise AuthError("invalid or revoked token")
    return principal


async def caller(
    request: Request,
    platform: PlatformDep,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Any valid token. (`_bearer` is there so that /docs shows the security scheme.)"""
    principal = authenticate(platform, token_of(request))
    request.state.principal = principal
    return principal


CallerDep = Annotated[Principal, Depends(caller)]


async def operator(principal: CallerDep) -> Principal:
    if principal.role is not Role.OPERATOR:
        raise Forbidden("this needs an operator token")
    return principal


OperatorDep = Annotated[Principal, Depends(operator)]


def check_access(platform: Platform, principal: Principal, vin: str) -> None:
    """Forbidden for another vehicle's token (before saying whether the VIN exists), NotFound
    for an unregistered VIN."""
    if not principal.may_access(vin):
        raise Forbidden(f"this token may not access vehicle {vin}")
    if not platform.registry.has_vehicle(vin):
        raise NotFound(f"vehicle {vin} is not registered")


async def vehicle_reader(vin: str, principal: CallerDep, platform: PlatformDep) -> Principal:
    """A caller allowed to read the vehicle in the path."""
    check_access(platform, principal, vin)
    return principal


ReaderDep = Annotated[Principal, Depends(vehicle_reader)]
