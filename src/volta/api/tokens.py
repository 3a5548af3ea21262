"""API tokens for machines (operators' `ot_…`, vehicles' `vt_…`): issue, list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from volta.api.auth import OperatorDep, PlatformDep
from volta.registry import Credential, Role

router = APIRouter(prefix="/v1/tokens", tags=["security"])


class NewToken(BaseModel):
    role: Role = Field(description="operator, or vehicle (with vin)")
    vin: str | None = Field(None, description="the vehicle, for a vehicle token")


class IssuedOut(BaseModel):
    token: str = Field(description="the bearer token; shown only this once")
    credential_id: str = Field(description="its id, to revoke it; safe to log")
    role: Role
    vin: str | None


class CredentialOut(BaseModel):
    id: str
    role: Role
    vin: str | None
    created_ms: int
    revoked_ms: int | None

    @classmethod
    def of(cls, c: Credential) -> CredentialOut:
        return cls(
            id=c.id, role=c.role, vin=c.vin, created_ms=c.created_ms, revoked_ms=c.revoked_ms
        )


class CredentialList(BaseModel):
    tokens: list[CredentialOut]
    next_after: str | None = Field(None, description="pass as `after` for the next page")


@router.post("", response_model=IssuedOut, status_code=201)
def create_token(body: NewToken, principal: OperatorDep, platform: PlatformDep) -> IssuedOut:
    """Issue an API token (operators only). The token is in this answer and nowhere else."""
    issued = platform.registry.issue_token(body.role, body.vin)
    p = issued.principal
    return IssuedOut(token=issued.token, credential_id=p.credential_id, role=p.role, vin=p.vin)


@router.get("", response_model=CredentialList)
def list_tokens(
    principal: OperatorDep,
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: str | None = None,
) -> CredentialList:
    """Issued tokens by id (never the secrets), revoked ones with `revoked_ms`."""
    found = platform.registry.list_credentials(limit, after)
    next_after = found[-1].id if len(found) == limit else None
    return CredentialList(tokens=[CredentialOut.of(c) for c in found], next_after=next_after)


@router.delete("/{credential_id}", status_code=204, response_class=Response)
def revoke_token(credential_id: str, principal: OperatorDep, platform: PlatformDep) -> Response:
    """Revoke a token: it stops working at once. 404 if there is no such active token."""
    platform.registry.revoke(credential_id)
    return Response(status_code=204)
