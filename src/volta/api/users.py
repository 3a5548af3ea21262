"""People and sign-in: `POST /v1/auth/token` (name + password → a short-lived JWT),
`GET /v1/me`, and the operators' user administration (create, list, disable, assign vehicles
to drivers, a vehicle's service organisation)."""

from __future__ import annotations

import math
import weakref
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from volta.api.auth import (
    PUBLIC_ROUTE,
    CallerDep,
    OperatorDep,
    PlatformDep,
    Policy,
    allow,
    token_of,
)
from volta.api.limits import TokenBuckets
from volta.errors import AuthError, NotFound, RateLimited
from volta.platform import Platform
from volta.registry import USER_ROLES, Principal, Role, Session, User

router = APIRouter(tags=["security"])

# Sign-in attempts per client address: a password guesser gets 1 a second after a burst of 10.
SIGNIN_RATE_PER_S = 1.0
SIGNIN_BURST = 10
_signin_buckets: weakref.WeakKeyDictionary[Platform, TokenBuckets] = weakref.WeakKeyDictionary()


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    access_token: str = Field(description="send as 'Authorization: Bearer …'")
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until it expires; sign in again then")
    expires_at: int = Field(description="ms since the epoch")
    role: Role
    user: str


class UserOut(BaseModel):
    id: str
    name: str
    role: Role
    organisation: str | None
    vehicles: list[str] = Field(description="VINs assigned (drivers)")
    created_ms: int
    disabled_ms: int | None

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(
            id=u.id,
            name=u.name,
            role=u.role,
            organisation=u.organisation,
            vehicles=list(u.vins),
            created_ms=u.created_ms,
            disabled_ms=u.disabled_ms,
        )


class UserList(BaseModel):
    users: list[UserOut]
    next_after: str | None = Field(None, description="pass as `after` for the next page")


class NewUser(BaseModel):
    name: str = Field(description="1-64 characters A-Z, a-z, 0-9 and . _ @ -")
    role: Role = Field(description="operator, technician or driver")
    password: str = Field(min_length=1, max_length=1024, description="at least 10 characters")
    organisation: str | None = Field(None, description="a technician's service organisation")


class Me(BaseModel):
    role: Role
    credential_id: str
    user: str | None
    organisation: str | None
    vin: str | None = Field(description="a vehicle token's own VIN")
    all_vehicles: bool = Field(description="true for operators: every vehicle is visible")
    vehicles: list[str] = Field(description="the VINs visible (empty when all_vehicles)")


class Organisation(BaseModel):
    organisation: str | None = Field(description="service organisation; null for none")


class VehicleOrganisation(BaseModel):
    vin: str
    organisation: str | None


def _session_out(session: Session, platform: Platform) -> SessionOut:
    return SessionOut(
        access_token=session.token,
        expires_in=platform.settings.session_ttl_s,
        expires_at=session.expires_ms,
        role=session.user.role,
        user=session.user.name,
    )


@router.post(
    "/v1/auth/token",
    response_model=SessionOut,
    dependencies=[PUBLIC_ROUTE],
    responses={401: {"description": "wrong name or password"}, 429: {"description": "slow down"}},
)
def sign_in(body: SignIn, request: Request, platform: PlatformDep) -> SessionOut:
    """Sign in with a user name and password; the answer's token lasts `expires_in` seconds."""
    client = request.client.host if request.client else "unknown"
    buckets = _signin_buckets.setdefault(platform, TokenBuckets(SIGNIN_RATE_PER_S, SIGNIN_BURST))
    wait_s = buckets.take(client)
    if wait_s > 0:
        raise RateLimited(
            f"too many sign-in attempts from this address; retry after {math.ceil(wait_s)} s",
            retry_after_s=wait_s,
        )
    try:
        session = platform.registry.sign_in(
            body.username, body.password, platform.settings.session_ttl_s
        )
    except AuthError:
        # Name the attempt in the audit log only if such a user exists: people type their
        # password into the name field, and that must not end up in the log.
        try:
            platform.registry.get_user(body.username)
            request.state.audit_actor = body.username
        except NotFound:
            request.state.audit_actor = "unknown user"
        raise
    request.state.audit_actor = session.user.name
    return _session_out(session, platform)


@router.post("/v1/auth/refresh", response_model=SessionOut)
def refresh(
    request: Request,
    principal: Annotated[Principal, allow(Policy(USER_ROLES))],
    platform: PlatformDep,
) -> SessionOut:
    """A new sign-in token for the one sent (before it expires), without the password, up to
    12 h after the password was checked. API tokens need no refresh (400)."""
    session = platform.registry.refresh(token_of(request) or "", platform.settings.session_ttl_s)
    return _session_out(session, platform)


@router.get("/v1/me", response_model=Me)
def me(principal: CallerDep) -> Me:
    """Who this credential is and which vehicles it may see (the dashboard's navigation)."""
    vins = set(principal.vins)
    if principal.vin is not None:
        vins.add(principal.vin)
    return Me(
        role=principal.role,
        credential_id=principal.credential_id,
        user=principal.user,
        organisation=principal.organisation,
        vin=principal.vin,
        all_vehicles=principal.sees_all,
        vehicles=[] if principal.sees_all else sorted(vins),
    )


@router.get("/v1/users", response_model=UserList)
def list_users(
    principal: OperatorDep,
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: str | None = None,
) -> UserList:
    users = platform.registry.list_users(limit, after)
    next_after = users[-1].name if len(users) == limit else None
    return UserList(users=[UserOut.of(u) for u in users], next_after=next_after)


@router.post("/v1/users", response_model=UserOut, status_code=201)
def add_user(body: NewUser, principal: OperatorDep, platform: PlatformDep) -> UserOut:
    """Create a user who signs in with this password (operators only)."""
    return UserOut.of(
        platform.registry.add_user(body.name, body.role, body.password, body.organisation)
    )


@router.get("/v1/users/{name}", response_model=UserOut)
def get_user(name: str, principal: OperatorDep, platform: PlatformDep) -> UserOut:
    return UserOut.of(platform.registry.get_user(name))


@router.delete("/v1/users/{name}", status_code=204, response_class=Response)
def disable_user(name: str, principal: OperatorDep, platform: PlatformDep) -> Response:
    """Disable a user: no more sign-ins, and their current tokens stop working at once."""
    platform.registry.disable_user(name)
    return Response(status_code=204)


@router.put("/v1/users/{name}/vehicles/{vin}", response_model=UserOut)
def assign_vehicle(name: str, vin: str, principal: OperatorDep, platform: PlatformDep) -> UserOut:
    """Let a driver see a vehicle."""
    return UserOut.of(platform.registry.assign(name, vin))


@router.delete("/v1/users/{name}/vehicles/{vin}", response_model=UserOut)
def unassign_vehicle(name: str, vin: str, principal: OperatorDep, platform: PlatformDep) -> UserOut:
    return UserOut.of(platform.registry.unassign(name, vin))


@router.put("/v1/vehicles/{vin}/organisation", response_model=VehicleOrganisation)
def set_organisation(
    vin: str, body: Organisation, principal: OperatorDep, platform: PlatformDep
) -> VehicleOrganisation:
    """Which service organisation's technicians see the vehicle."""
    vehicle = platform.registry.set_organisation(vin, body.organisation)
    return VehicleOrganisation(vin=vehicle.vin, organisation=vehicle.organisation)
