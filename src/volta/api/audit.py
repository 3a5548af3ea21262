"""The audit log: every state-changing request (who, what, on what, from where, outcome) is
recorded by `AuditMiddleware`; operators read it with `GET /v1/audit`."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from volta.api.auth import OperatorDep, PlatformDep, Policy, policy_of
from volta.api.params import parse_time
from volta.api.redact import redact
from volta.platform import Platform
from volta.registry import AuditEntry, AuditQuery, Principal
from volta.wire.batch import INT64_MAX, INT64_MIN

router = APIRouter(prefix="/v1/audit", tags=["security"])
log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Path parameters that name what an action is about, most specific first.
_TARGETS = ("credential_id", "vin", "name", "alert_id")


class AuditMiddleware:
    """Records each state-changing HTTP request that reached a route after it is answered.
    Routes whose policy says `audit=False` (telemetry) are skipped. Only names and ids are
    recorded, never bodies, so no secret reaches the log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Policies are fixed once the app is built; walking a route's dependencies per request
        # would cost every telemetry POST (the busiest route, not audited) for nothing.
        self._policies: dict[int, Policy | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            await self._record(scope, status)

    async def _record(self, scope: Scope, status: int) -> None:
        route = scope.get("route")
        if route is None:  # no such route (404/405): nothing was changed
            return
        if id(route) not in self._policies:
            self._policies[id(route)] = policy_of(route)
        policy = self._policies[id(route)]
        if policy is not None and not policy.audit:
            return
        state: dict[str, Any] = scope.get("state") or {}
        principal: Principal | None = state.get("principal")
        params: dict[str, Any] = scope.get("path_params") or {}
        # Redacted: someone may paste a token where a credential id belongs.
        target = next((redact(str(params[k])) for k in _TARGETS if k in params), None)
        client = scope.get("client")
        entry: dict[str, Any] = {
            "actor": principal.actor if principal else state.get("audit_actor", "anonymous"),
            "role": principal.role.value if principal else "none",
            "credential_id": principal.credential_id if principal else None,
            "action": f"{scope['method']} {getattr(route, 'path', scope.get('path', ''))}",
            "target": target,
            "client": client[0] if client else None,
            "status": status,
            "detail": {k: redact(str(v)) for k, v in params.items()},
        }
        platform: Platform = scope["app"].state.platform
        try:
            # A small SQLite write, but it may wait for the disk: not on the event loop.
            await asyncio.to_thread(platform.registry.record, **entry)
        except Exception:  # the action happened; losing its record must not fail it
            log.exception("audit: could not record %s by %s", entry["action"], entry["actor"])


class AuditOut(BaseModel):
    id: int
    ts: int = Field(description="ms since the epoch")
    actor: str = Field(description="user name, or the credential id of an API token")
    role: str
    credential_id: str | None
    action: str = Field(description="method and route, e.g. 'POST /v1/users'")
    target: str | None = Field(description="the VIN, user or credential acted on")
    client: str | None = Field(description="the client's address")
    status: int = Field(description="the HTTP status it was answered with")
    detail: dict[str, Any]

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        return cls(
            id=e.id,
            ts=e.ts_ms,
            actor=e.actor,
            role=e.role,
            credential_id=e.credential_id,
            action=e.action,
            target=e.target,
            client=e.client,
            status=e.status,
            detail=e.detail,
        )


class AuditList(BaseModel):
    entries: list[AuditOut] = Field(description="newest first")
    next_before: int | None = Field(None, description="pass as `before` for the next page")


@router.get("", response_model=AuditList)
def list_audit(
    principal: OperatorDep,
    platform: PlatformDep,
    actor: Annotated[str | None, Query(description="user name or credential id")] = None,
    action: Annotated[str | None, Query(description="prefix: 'DELETE', 'POST /v1/users'")] = None,
    target: Annotated[str | None, Query(description="a VIN, user name or credential id")] = None,
    since: Annotated[str | None, Query(description="ISO-8601 or ms, inclusive")] = None,
    until: Annotated[str | None, Query(description="ISO-8601 or ms, exclusive")] = None,
    before: Annotated[
        int | None,
        Query(ge=INT64_MIN, le=INT64_MAX, description="only entries with a smaller id"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditList:
    """Who did what, when, from where: state-changing calls, newest first (operators only)."""
    query = AuditQuery(
        actor=actor,
        action=action,
        target=target,
        since_ms=parse_time("since", since) if since else None,
        until_ms=parse_time("until", until) if until else None,
        before=before,
        limit=limit,
    )
    entries = platform.registry.audit(query)
    next_before = entries[-1].id if len(entries) == limit else None
    return AuditList(entries=[AuditOut.of(e) for e in entries], next_before=next_before)
