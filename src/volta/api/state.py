"""Live state: the twin of one vehicle, by request or pushed over a WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

import msgspec
from fastapi import APIRouter, WebSocket
from fastapi.responses import Response
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
    token_of,
)
from volta.api.errors import response_for
from volta.catalog import Catalog
from volta.errors import VoltaError
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


@router.get("/{vin}/state", response_model=VehicleState)
async def get_state(vin: str, principal: ReaderDep, platform: PlatformDep) -> Response:
    # Built as plain JSON (skipping response-model validation): this is the hot read path.
    # A response of 20 signals (~2 KB) costs ~10 us with msgspec, ~70 us with JSONResponse
    # (json.dumps), all of it holding the GIL that the ingest thread also wants.
    signals = present(platform.catalog, platform.twin.get(vin))
    return Response(_encode({"vin": vin, "signals": signals}), media_type="application/json")


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
