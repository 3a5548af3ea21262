"""History of one vehicle: down-sampled time ranges, and raw exports as CSV or Parquet."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from volta.api.auth import PlatformDep, ReaderDep
from volta.api.params import parse_signals, time_range
from volta.catalog import Signal
from volta.store.base import ExportFormat, Series

router = APIRouter(prefix="/v1/vehicles", tags=["history"])

DAY_MS = 24 * 3600 * 1000
MAX_POINTS = 100_000


class SeriesOut(BaseModel):
    signal: str
    id: int
    unit: str | None
    downsampled: bool
    bucket_ms: int | None
    ts: list[int]
    value: list[Any]
    min: list[float | None] | None = None
    max: list[float | None] | None = None
    avg: list[float | None] | None = None
    count: list[int] | None = None


class History(BaseModel):
    vin: str
    start: int
    end: int
    max_points: int
    series: list[SeriesOut]


def present_series(sig: Signal, s: Series) -> dict[str, Any]:
    out: dict[str, Any] = {
        "signal": sig.path,
        "id": sig.id,
        "unit": sig.unit,
        "downsampled": s.downsampled,
        "bucket_ms": s.bucket_ms,
        "ts": s.ts,
        "value": [sig.from_stored(n, t) for n, t in zip(s.num, s.txt, strict=True)],
    }
    if s.downsampled:
        out.update(min=s.min, max=s.max, avg=s.avg, count=s.count)
    return out


@router.get("/{vin}/history", response_model=History)
def get_history(
    vin: str,
    principal: ReaderDep,
    platform: PlatformDep,
    signals: str | None = Query(
        None, description="comma-separated VSS paths or ids; default: every signal it has sent"
    ),
    start: str | None = Query(None, description="ISO-8601 or ms; default: end - 24 h"),
    end: str | None = Query(None, description="ISO-8601 or ms, exclusive; default: now"),
    max_points: int = Query(1000, ge=1, le=MAX_POINTS),
) -> History:
    start_ms, end_ms = time_range(start, end, platform.clock(), DAY_MS)
    if signals is None:
        sigs = [s for s in map(platform.catalog.resolve, platform.twin.get(vin)) if s is not None]
    else:
        sigs = parse_signals(platform.catalog, signals)
    by_id = {s.id: s for s in sigs}
    series = platform.store.history(vin, list(by_id), start_ms, end_ms, max_points)
    return History.model_validate(
        {
            "vin": vin,
            "start": start_ms,
            "end": end_ms,
            "max_points": max_points,
            "series": [present_series(by_id[s.signal_id], s) for s in series],
        }
    )


@router.get(
    "/{vin}/export",
    response_class=FileResponse,
    responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}},
)
def export(
    vin: str,
    principal: ReaderDep,
    platform: PlatformDep,
    format: Annotated[ExportFormat, Query(description="csv or parquet")] = ExportFormat.CSV,
    signals: str | None = Query(None, description="comma-separated paths or ids; default: all"),
    start: str | None = Query(None, description="ISO-8601 or ms; default: end - 24 h"),
    end: str | None = Query(None, description="ISO-8601 or ms, exclusive; default: now"),
) -> FileResponse:
    """Raw samples (vin, signal_id, ts_ms, num, txt) as a file download."""
    start_ms, end_ms = time_range(start, end, platform.clock(), DAY_MS)
    ids = [s.id for s in parse_signals(platform.catalog, signals)] if signals else None
    fd, name = tempfile.mkstemp(prefix="volta-export-", suffix=f".{format.value}")
    os.close(fd)
    path = Path(name)
    try:
        platform.store.export(vin, ids, start_ms, end_ms, format, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    media = "text/csv" if format is ExportFormat.CSV else "application/vnd.apache.parquet"
    return FileResponse(
        path,
        media_type=media,
        filename=f"{vin}-{start_ms}-{end_ms}.{format.value}",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
