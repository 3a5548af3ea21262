"""What was not stored as telemetry, and why: newest first, paged with `before`."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from volta.api.auth import OperatorOrVehicleDep, PlatformDep
from volta.errors import Forbidden
from volta.registry import Role
from volta.store.base import StoredQuarantine
from volta.wire.batch import INT64_MAX, INT64_MIN

router = APIRouter(prefix="/v1/quarantine", tags=["quarantine"])


class QuarantineOut(BaseModel):
    id: int
    received_ms: int
    code: str
    reason: str
    vin: str | None
    seq: int | None
    sample_index: int | None
    signal: str | None
    raw: str = Field(description="the offending sample or (bounded) batch, UTF-8 or base64")
    raw_encoding: str = Field(description="'utf-8' or 'base64'")

    @classmethod
    def of(cls, q: StoredQuarantine) -> QuarantineOut:
        r = q.record
        try:
            raw, encoding = r.raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            raw, encoding = base64.b64encode(r.raw).decode("ascii"), "base64"
        return cls(
            id=q.id,
            received_ms=r.received_ms,
            code=r.code,
            reason=r.reason,
            vin=r.vin,
            seq=r.seq,
            sample_index=r.sample_index,
            signal=r.signal,
            raw=raw,
            raw_encoding=encoding,
        )


class QuarantineList(BaseModel):
    records: list[QuarantineOut]
    next_before: int | None = Field(None, description="pass as `before` for the next page")


@router.get("", response_model=QuarantineList)
def list_quarantine(
    principal: OperatorOrVehicleDep,
    platform: PlatformDep,
    vin: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    before: int | None = Query(
        None, ge=INT64_MIN, le=INT64_MAX, description="only records with a smaller id"
    ),
) -> QuarantineList:
    """Operators see every vehicle's; a vehicle token sees its own."""
    if principal.role is Role.VEHICLE:
        if vin is not None and vin != principal.vin:
            raise Forbidden(f"this token may not access vehicle {vin}")
        vin = principal.vin
    records = platform.store.quarantined(vin=vin, limit=limit, before_id=before)
    next_before = records[-1].id if len(records) == limit else None
    return QuarantineList(records=[QuarantineOut.of(q) for q in records], next_before=next_before)
