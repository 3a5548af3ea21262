"""HTTP ingestion: `POST /v1/vehicles/{vin}/telemetry` with the vehicle's own token."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from volta.api.auth import VEHICLE_SELF, CallerDep, PlatformDep, declare
from volta.api.errors import error_response, status_of
from volta.errors import (
    BadRequest,
    DecodeError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    VoltaError,
)
from volta.ingest.commit import IngestResult
from volta.platform import Platform
from volta.registry import Role

router = APIRouter(tags=["ingest"])

CONTENT_TYPES = frozenset(
    {"application/json", "application/msgpack", "application/x-msgpack", "application/vnd.msgpack"}
)
# The gateway's refusal codes as the errors the API table knows.
REFUSALS: dict[str, type[VoltaError]] = {
    "undecodable": DecodeError,
    "too_large": PayloadTooLarge,
    "vin_mismatch": Forbidden,
    "unknown_vehicle": NotFound,
    "rate_limited": RateLimited,
    "store_unavailable": Unavailable,
    "gateway_stopped": Unavailable,
    "timeout": Unavailable,
}
INGEST_TIMEOUT_S = 10.0


class RejectedSample(BaseModel):
    index: int | None
    signal: str | None
    code: str
    reason: str


class IngestAnswer(BaseModel):
    accepted: int
    rejected: list[RejectedSample]
    duplicate: bool
    seq: int | None


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over `limit` bytes: from
    Content-Length before reading, else while streaming it."""
    length = request.headers.get("content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):  # "²".isdigit() is True
            raise BadRequest("Content-Length is not a number")
        if len(length) > 18 or int(length) > limit:
            raise PayloadTooLarge(f"batch of {int(length)} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"batch is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def ingest_async(platform: Platform, body: bytes, vin: str) -> IngestResult:
    """Hand the batch to the gateway without holding a thread while the group commit runs."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[IngestResult] = loop.create_future()

    def settle(result: IngestResult) -> None:
        if not future.done():
            future.set_result(result)

    def on_done(result: IngestResult) -> None:  # in the committer thread
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(settle, result)

    platform.gateway.submit(body, vin, on_done)
    try:
        return await asyncio.wait_for(future, INGEST_TIMEOUT_S)
    except TimeoutError:
        raise Unavailable("the store did not confirm the batch in time; send it again") from None


@router.post(
    "/v1/vehicles/{vin}/telemetry",
    response_model=IngestAnswer,
    summary="Send one telemetry batch (wire format v1, JSON or MessagePack)",
    dependencies=[declare(VEHICLE_SELF)],  # enforced below, with ingestion's own messages
)
async def post_telemetry(
    vin: str, request: Request, principal: CallerDep, platform: PlatformDep
) -> IngestAnswer | JSONResponse:
    if principal.role is not Role.VEHICLE:
        raise Forbidden("telemetry is sent with the vehicle's own token")
    if principal.vin != vin:
        raise Forbidden(f"this token belongs to another vehicle, not {vin}")
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if media not in CONTENT_TYPES:
        raise BadRequest(f"Content-Type {media!r}: send application/json or application/msgpack")
    body = await read_body(request, platform.settings.max_batch_bytes)
    result = await ingest_async(platform, body, vin)
    if result.error is not None:
        # The status comes from the one table; the code stays the gateway's precise one.
        status, _ = status_of(REFUSALS.get(result.error, BadRequest))
        return error_response(
            status, result.error, result.reason or result.error, result.retry_after_s
        )
    return IngestAnswer(
        accepted=result.accepted,
        rejected=[
            RejectedSample(index=r.index, signal=r.signal, code=r.code, reason=r.reason)
            for r in result.rejected
        ],
        duplicate=result.duplicate,
        seq=result.seq,
    )
