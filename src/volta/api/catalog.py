"""The signal catalog (COVESA VSS): search, and one signal's metadata."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from volta.api.auth import CallerDep, PlatformDep
from volta.api.params import signal_key
from volta.catalog import Signal
from volta.errors import NotFound, UnknownSignal

router = APIRouter(prefix="/v1/catalog", tags=["catalog"])


class SignalOut(BaseModel):
    path: str
    id: int
    kind: str
    datatype: str
    unit: str | None
    min: float | int | None
    max: float | int | None
    allowed: list[Any] | None
    description: str

    @classmethod
    def of(cls, s: Signal) -> SignalOut:
        return cls(
            path=s.path,
            id=s.id,
            kind=s.kind,
            datatype=s.datatype,
            unit=s.unit,
            min=s.min,
            max=s.max,
            allowed=list(s.allowed) if s.allowed is not None else None,
            description=s.description,
        )


class SignalList(BaseModel):
    signals: list[SignalOut]


@router.get("", response_model=SignalList)
def search(
    principal: CallerDep,
    platform: PlatformDep,
    q: str = Query("", description="part of a path, or an id; empty lists signals in path order"),
    limit: int = Query(50, ge=1, le=5000),
) -> SignalList:
    return SignalList(signals=[SignalOut.of(s) for s in platform.catalog.search(q, limit)])


@router.get("/{key:path}", response_model=SignalOut)
def get_signal(key: str, principal: CallerDep, platform: PlatformDep) -> SignalOut:
    """One signal by VSS path (`Vehicle.Speed`) or numeric id."""
    try:
        return SignalOut.of(platform.catalog.get(signal_key(key)))
    except UnknownSignal as exc:
        raise NotFound(str(exc)) from None
