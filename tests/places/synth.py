"""Synthetic samples for the places tests."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

LAT, LON = 60.17, 24.94


def charge_cols(
    start_ms: int, end_ms: int, kw: float
) -> dict[str, tuple[NDArray[np.int64], NDArray[np.float64]]]:
    """A car standing still, charging at `kw` from start to end: 10 s samples, then off."""
    ts = np.arange(start_ms - 600_000, end_ms + 600_000, 10_000, dtype=np.int64)
    on = (ts >= start_ms) & (ts < end_ms)
    power = np.where(on, kw * 1000.0, -50.0)
    # the energy stored at each sample: what flowed in before it (charging power, then drain)
    energy = 20.0 + np.r_[0.0, np.cumsum(power[:-1] * 10 / 3.6e6)]
    return {
        "power": (ts, power),
        "charging": (ts, on.astype(np.float64)),
        "speed": (ts, np.zeros(len(ts))),
        "energy": (ts, energy),
        "soc": (ts, energy / 60.0 * 100.0),
        "lat": (ts, np.full(len(ts), LAT)),
        "lon": (ts, np.full(len(ts), LON)),
    }
