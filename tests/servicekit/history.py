"""Hand-made per-second histories of one vehicle, for the edge cases of the cores and the
processor."""

from __future__ import annotations

import numpy as np

from volta.derived.columns import Series

VIN = "JHMZZ1A1XRV000001"
MIDNIGHT = 1_767_657_600_000  # 2026-01-06T00:00Z
FOREVER = 2**62


def history(
    seconds: int, drive: list[tuple[int, int]], charge: list[tuple[int, int]], t0: int = MIDNIGHT
) -> dict[str, Series]:
    """1 Hz samples: 36 km/h (10 m/s) while driving, 7 kW in while charging, 200 W out parked."""
    sec = np.arange(seconds)
    driving = np.zeros(seconds, bool)
    charging = np.zeros(seconds, bool)
    for a, b in drive:
        driving[a:b] = True
    for a, b in charge:
        charging[a:b] = True
    speed = np.where(driving, 36.0, 0.0)
    power = np.where(driving, -8000.0, np.where(charging, 7000.0, -200.0))
    energy = 30.0 + np.cumsum(power) / 3.6e6
    vals = {
        "speed": speed,
        "odometer": np.floor(1000.0 + np.cumsum(speed / 3.6) - speed / 3.6),
        "power": power,
        "gear": driving.astype(float),
        "charging": charging.astype(float),
        "energy": energy,
        "soc": energy / 60.0 * 100.0,
    }
    ts = t0 + sec.astype(np.int64) * 1000
    return {k: (ts, v.astype(np.float64)) for k, v in vals.items()}


def cut(cols: dict[str, Series], a_s: int, b_s: int, t0: int = MIDNIGHT) -> dict[str, Series]:
    """Remove every sample in [a_s, b_s) seconds: a connectivity hole never filled."""
    out = {}
    for k, (ts, v) in cols.items():
        keep = (ts < t0 + a_s * 1000) | (ts >= t0 + b_s * 1000)
        out[k] = (ts[keep], v[keep])
    return out
