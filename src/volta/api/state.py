"""Live state: the twin of one vehicle, by request or pushed over a WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec
from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect

from volta.api.auth import (
    VEHICLE_READ,
    PlatformDep,
    ReaderDep,
    authenticate,
    check_access,
    declare,
    get_platform,
    guard_vehicle,
    policy_of,
    token_of,
)
from volta.api.errors import response_for
from volta.catalog import Catalog
from volta.errors import VoltaError
from volta.platform import Platform
from volta.twin.state import Changes, TwinValue

router = APIRouter(prefix="/v1/vehicles", tags=["state"])
log = logging.getLogger(__name__)


class SignalValue(BaseModel):
    id: int
    value: Any
    unit: str | None
    ts: int


class VehicleState(BaseModel):
    vin: str
    signals: dict[str, SignalValue]


def present(catalog: Catalog, values: dict[int, TwinValue]) -> dict[str, dict[str, Any]]:
    """Twin values by VSS path, typed by the catalog, with unit and time (ms)."""
    out: dict[str, dict[str, Any]] = {}
    for sid, tv in values.items():
        sig = catalog.resolve(sid)
        if sig is None:  # a signal the running catalog no longer has
            continue
        out[sig.path] = {
            "id": sid,
            "value": sig.from_stored(tv.num, tv.txt),
            "unit": sig.unit,
            "ts": tv.ts_ms,
        }
    return out


_encode = msgspec.json.Encoder().encode


def _state_response(platform: Platform, vin: str) -> Response:
    # Plain JSON from msgspec, without response-model validation: ~10 us for 20 signals,
    # ~70 us with JSONResponse (json.dumps).
    signals = present(platform.catalog, platform.twin.get(vin))
    return Response(_encode({"vin": vin, "signals": signals}), media_type="application/json")


async def get_state(vin: str, principal: ReaderDep, platform: PlatformDep) -> Response:
    # What the route declares (its OpenAPI operation, its policy for `policy_of`); requests
    # are served by `_get_state`, which does the same (see `_StateRoute`).
    return _state_response(platform, vin)


async def _get_state(request: Request) -> Response:
    vin: str = request.path_params["vin"]
    platform = get_platform(request)
    guard_vehicle(request, platform, VEHICLE_READ, vin)
    return _state_response(platform, vin)


class _StateRoute(APIRoute):
    """GET /state is the hot read path: it is answered by `_get_state`, without FastAPI's
    dependency solving, which cost more CPU than the rest of such a request, all of it holding
    the GIL that the ingest threads also want. The route keeps `get_state`'s signature for
    the OpenAPI document and the access model (`policy_of`); `_get_state` runs the guard
    `ReaderDep` runs (`guard_vehicle`), and the route refuses any other declared policy.
    Dependencies added where the router is included would not run: the route × role test,
    which reads each route's policy with those, would fail."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        if policy_of(self) != VEHICLE_READ:
            raise RuntimeError(f"{self.path}: _get_state enforces {VEHICLE_READ}, not this")
        return _get_state


router.add_api_route(
    "/{vin}/state",
    get_state,
    methods=["GET"],
    response_model=VehicleState,
    route_class_override=_StateRoute,
)


class LiveFeed:
    """Changes from the committer thread to one WebSocket. Pending changes are merged by
    signal, so a slow client gets the newest value of each signal, never a growing backlog."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: Changes = {}
        self._ready = asyncio.Event()

    def push(self, vin: str, changes: Changes) -> None:
        """Twin listener: runs in the committer thread."""
        with self._lock:
            wake = not self._pending
            self._pending.update(changes)
        if wake:
            with contextlib.suppress(RuntimeError):  # the loop is closing: nobody to tell
                self._loop.call_soon_threadsafe(self._ready.set)

    async def next(self) -> Changes:
        await self._ready.wait()
        with self._lock:
            self._ready.clear()
            pending, self._pending = self._pending, {}
        return pending


async def _deny(websocket: WebSocket, exc: VoltaError) -> None:
    """Refuse the handshake with the same JSON error an HTTP route gives, where the server
    supports it; otherwise close with a policy-violation code."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response_for(exc))
    else:
        await websocket.close(code=1008, reason=str(exc)[:120])


@router.websocket("/{vin}/live", dependencies=[declare(VEHICLE_READ)])  # enforced below
async def live(websocket: WebSocket, vin: str) -> None:
    """First a `snapshot` of the whole state, then an `update` with each change.
    Authenticate with `Authorization: Bearer …` or `?token=`."""
    platform = get_platform(websocket)
    try:
        principal = authenticate(platform, token_of(websocket, allow_query=True))
        check_access(platform, principal, vin)
    except VoltaError as exc:
        await _deny(websocket, exc)
        return
    await websocket.accept()
    feed = LiveFeed(asyncio.get_running_loop())
    # Subscribe before reading the snapshot so no change falls between the two.
    unsubscribe = platform.twin.subscribe(vin, feed.push)
    sender: asyncio.Task[None] | None = None
    try:
        snapshot = present(platform.catalog, platform.twin.get(vin))
        await websocket.send_json({"type": "snapshot", "vin": vin, "signals": snapshot})
        sender = asyncio.create_task(_send_changes(websocket, feed, platform.catalog, vin))
        while True:  # only to notice the client leaving; clients have nothing to say
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except WebSocketDisconnect:
        pass
    finally:
        unsubscribe()
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
        log.debug("live feed of %s closed (credential %s)", vin, principal.credential_id)


async def _send_changes(websocket: WebSocket, feed: LiveFeed, catalog: Catalog, vin: str) -> None:
    while True:
        changes = await feed.next()
        await websocket.send_json(
            {"type": "update", "vin": vin, "signals": present(catalog, changes)}
        )
