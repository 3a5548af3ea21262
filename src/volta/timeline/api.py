"""`/v1/vehicles/{vin}/timeline`: states as intervals, with the vampire drain of the range."""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
from fastapi import APIRouter, Query

from volta.api.auth import PlatformDep, ReaderDep
from volta.api.params import time_range
from volta.charging.core import Charge
from volta.derived.columns import PATHS
from volta.drives.core import Drive
from volta.errors import BadRequest
from volta.timeline.core import timeline, vampire

router = APIRouter(prefix="/v1/vehicles", tags=["timeline"])

DAY_MS = 86_400_000
MAX_SPAN_MS = 31 * DAY_MS
_HEARTBEAT = ("speed", "power", "soc", "energy")


@router.get("/{vin}/timeline")
def get_timeline(
    vin: str,
    principal: ReaderDep,
    platform: PlatformDep,
    start: str | None = Query(None, description="ISO-8601 or ms; default: end - 24 h"),
    end: str | None = Query(None, description="ISO-8601 or ms, exclusive; default: now"),
) -> dict[str, Any]:
    """Driving, charging, parked, asleep and offline intervals covering [start, end)."""
    start_ms, end_ms = time_range(start, end, platform.clock(), DAY_MS)
    if end_ms - start_ms > MAX_SPAN_MS:
        raise BadRequest("timeline: at most 31 days at a time")
    args = (vin, start_ms, end_ms, 10_000)
    drives = platform.derived.list("drive", Drive, *args)
    charges = platform.derived.list("charge", Charge, *args)
    ids = {n: platform.catalog.get(PATHS[n]).id for n in _HEARTBEAT}
    scanned = platform.store.scan(vin, list(ids.values()), start_ms - DAY_MS, end_ms + DAY_MS)
    beats = np.unique(np.concatenate([scanned[i][0] for i in ids.values()]))
    intervals = timeline(drives, charges, beats, start_ms, end_ms)
    drain = vampire(intervals, scanned[ids["energy"]])
    return {
        "vin": vin,
        "start": start_ms,
        "end": end_ms,
        "intervals": msgspec.to_builtins(intervals),
        "vampire": msgspec.to_builtins(drain),
    }
