"""`/v1/vehicles/{vin}/timeline`: states as intervals, with the vampire drain of the range."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
from fastapi import APIRouter, Query
from numpy.typing import NDArray

from volta.api.auth import PlatformDep, ReaderDep
from volta.api.params import time_range
from volta.charging.core import Charge
from volta.derived.columns import PATHS
from volta.drives.core import Drive
from volta.errors import BadRequest
from volta.platform import Platform
from volta.timeline.core import timeline, vampire

router = APIRouter(prefix="/v1/vehicles", tags=["timeline"])

DAY_MS = 86_400_000
MAX_SPAN_MS = 31 * DAY_MS
_HEARTBEAT = ("speed", "power", "soc", "energy")


def _first_sample(
    platform: Platform, vin: str, ids: list[int], beats: NDArray[np.int64], start_ms: int
) -> int | None:
    """The vehicle's first sample if it falls after `start_ms` (the end of time if it has
    none), else None: up to it the timeline says "no data". `beats` are the sample times
    from a day before `start_ms`; anything older is asked for in one bucket per signal."""
    if len(beats) and beats[0] <= start_ms:
        return None
    older = platform.store.history(vin, ids, 0, start_ms - DAY_MS, max_points=1)
    if any(series.ts for series in older):
        return None
    return int(beats[0]) if len(beats) else 2**62


@router.get("/{vin}/timeline")
def get_timeline(
    vin: str,
    principal: ReaderDep,
    platform: PlatformDep,
    start: str | None = Query(None, description="ISO-8601 or ms; default: end - 24 h"),
    end: str | None = Query(None, description="ISO-8601 or ms, exclusive; default: now"),
) -> dict[str, Any]:
    """Driving, charging, parked, asleep and offline intervals covering [start, end); "no
    data" before the vehicle's first sample."""
    start_ms, end_ms = time_range(start, end, platform.clock(), DAY_MS)
    if end_ms - start_ms > MAX_SPAN_MS:
        raise BadRequest("timeline: at most 31 days at a time")
    args = (vin, start_ms, end_ms, 10_000)
    drives = platform.derived.list("drive", Drive, *args)
    charges = platform.derived.list("charge", Charge, *args)
    ids = {n: platform.catalog.get(PATHS[n]).id for n in _HEARTBEAT}
    heartbeat = list(ids.values())
    scanned = platform.store.scan(vin, heartbeat, start_ms - DAY_MS, end_ms + DAY_MS)
    beats = np.unique(np.concatenate([scanned[i][0] for i in heartbeat]))
    intervals = timeline(
        drives,
        charges,
        beats,
        start_ms,
        end_ms,
        _first_sample(platform, vin, heartbeat, beats, start_ms),
    )
    drain = vampire(intervals, scanned[ids["energy"]])
    return {
        "vin": vin,
        "start": start_ms,
        "end": end_ms,
        "intervals": msgspec.to_builtins(intervals),
        "vampire": msgspec.to_builtins(drain),
    }
