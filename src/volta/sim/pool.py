"""One flat buffer holding the 1 s profiles of all drives in progress.

Keeping every drive in the same arrays lets the fleet gather the current window of thousands
of drives with one fancy-indexing operation instead of a Python loop per vehicle.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from volta.sim.trips import DriveProfile

__all__ = ["ProfilePool"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

STATE_FIELDS = ("speed", "dist", "lat", "lon", "heading", "lat_acc", "vert_acc", "adas")
INTERVAL_FIELDS = ("vmean", "accel", "grade")


class ProfilePool:
    """Append-only arrays of drive profiles; `compact` drops finished drives when full."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        self.capacity = capacity
        self.size = 0
        self.speed = np.zeros(capacity)
        self.dist = np.zeros(capacity)
        self.lat = np.zeros(capacity)
        self.lon = np.zeros(capacity)
        self.heading = np.zeros(capacity)
        self.lat_acc = np.zeros(capacity)
        self.vert_acc = np.zeros(capacity)
        self.adas = np.zeros(capacity)  # ABS/ESC/TCS bits; 0 unless volta.sim.surface is on
        self.vmean = np.zeros(capacity)
        self.accel = np.zeros(capacity)
        self.grade = np.zeros(capacity)

    def fits(self, n: int) -> bool:
        return self.size + n <= self.capacity

    def add(self, p: DriveProfile) -> int:
        """Store a profile (n + 1 entries; interval fields padded with a final 0); return offset."""
        n = p.duration_s + 1
        if not self.fits(n):
            raise MemoryError("pool full: compact() first")
        off = self.size
        for name in STATE_FIELDS:
            values = getattr(p, name)
            getattr(self, name)[off : off + n] = 0.0 if values is None else values
        for name in INTERVAL_FIELDS:
            arr = getattr(self, name)
            arr[off : off + n - 1] = getattr(p, name)
            arr[off + n - 1] = 0.0
        self.size += n
        return off

    def compact(self, offsets: IntArray, lengths: IntArray, need: int) -> IntArray:
        """Keep only the live segments (offset, length), growing if needed; return new offsets."""
        live = int(lengths.sum())
        cap = self.capacity
        while live + need > cap // 2:
            cap *= 2
        new_off = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        src = (
            (np.repeat(offsets, lengths) + np.arange(live) - np.repeat(new_off, lengths))
            if live
            else None
        )
        for name in STATE_FIELDS + INTERVAL_FIELDS:
            old = getattr(self, name)
            new = np.zeros(cap)
            if src is not None:
                new[:live] = old[src]
            setattr(self, name, new)
        self.capacity = cap
        self.size = live
        return new_off
