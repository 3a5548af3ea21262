"""History of one vehicle: down-sampled time ranges, and raw exports as CSV or Parquet."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from volta.api.auth import PlatformDep, ReaderDep
from volta.api.csvfiles import attachment, file_name, readable_samples
from volta.api.params import parse_signals, time_range
from volta.catalog import Catalog, Signal
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


def _readable_csv(path: Path, catalog: Catalog) -> Iterator[str]:
    """The raw export at `path` as readable CSV, removing the file once read (or abandoned)."""
    try:
        with path.open(newline="", encoding="utf-8") as raw:
            yield from readable_samples(raw, catalog)
    finally:
        path.unlink(missing_ok=True)


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
) -> Response:
    """Every sample of [start, end) as a download named `volta-<VIN>-history-<day>.<ext>`. CSV
    for people: `time` (ISO 8601, UTC), `signal` (VSS path), `value`, `unit` (VSS), `ts_ms`;
    Parquet raw, for programs: vin, signal_id, ts_ms, num, txt."""
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
    download = file_name(vin, "history", start_ms, end_ms, format.value)
    if format is ExportFormat.CSV:
        return StreamingResponse(
            _readable_csv(path, platform.catalog),
            media_type="text/csv; charset=utf-8",
            headers=attachment(download),
            # the generator removes the file; this too when the client leaves before it ran
            background=BackgroundTask(path.unlink, missing_ok=True),
        )
    return FileResponse(
        path,
        media_type="application/vnd.apache.parquet",
        filename=download,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
