"""Maintenance windows: whether a car may install now, from its latest state. Pure.

hawkBit's windows are a schedule only; a car installing while driving, or on a nearly empty
battery, is what an operator actually fears. `closed_because` reads the car's latest values
(the twin's, by VSS path, each with its time) and says why the window is closed, or None when
the car may install: parked (speed 0), not charging or charging above `charging_above_pct`,
state of charge above `min_soc_pct`, and, if the window names hours, the car's local time
within them (local by the car's longitude: solar time to the nearest hour, which is what
"night" means for a car whatever its country's time zone rules). A value older than
`max_age_ms`, or missing, closes the window: an unknown state is not a safe one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from volta.errors import BadRequest

__all__ = ["CHARGING", "LONGITUDE", "SOC", "SPEED", "MaintenanceWindow", "closed_because"]

SPEED = "Vehicle.Speed"
CHARGING = "Vehicle.Powertrain.TractionBattery.Charging.IsCharging"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
LONGITUDE = "Vehicle.CurrentLocation.Longitude"
HOUR_MS = 3_600_000

# (time in ms, value) of a signal
Sample = tuple[int, float | bool | str | None]


@dataclass(frozen=True)
class MaintenanceWindow:
    """When a car may install: every condition set must hold."""

    parked: bool = True
    charging_above_pct: float | None = None  # None: never while charging
    min_soc_pct: float = 0.0
    start_hour: int | None = None  # local hours [start, end), e.g. 22 to 5; None: any time
    end_hour: int | None = None
    max_age_ms: int = 15 * 60_000

    def __post_init__(self) -> None:
        if (self.start_hour is None) != (self.end_hour is None):
            raise BadRequest("a maintenance window names both start_hour and end_hour, or none")
        for h in (self.start_hour, self.end_hour):
            if h is not None and not 0 <= h <= 23:
                raise BadRequest(f"hour {h} is not between 0 and 23")
        for name in ("charging_above_pct", "min_soc_pct"):
            v = getattr(self, name)
            if v is not None and not 0 <= v <= 100:
                raise BadRequest(f"{name} {v} is not a percentage")
        if self.max_age_ms <= 0:
            raise BadRequest("max_age_ms must be > 0")


def _fresh(state: Mapping[str, Sample], path: str, now_ms: int, max_age_ms: int) -> Sample | None:
    sample = state.get(path)
    if sample is None or sample[1] is None or now_ms - sample[0] > max_age_ms:
        return None
    return sample


def local_hour(now_ms: int, longitude: float) -> int:
    """The hour of the day at `longitude`, by solar time to the nearest hour."""
    return (now_ms // HOUR_MS + round(longitude / 15)) % 24


def closed_because(
    window: MaintenanceWindow, state: Mapping[str, Sample], now_ms: int
) -> str | None:
    """Why the car may not install now (None: it may)."""
    age = window.max_age_ms

    def value(path: str, what: str) -> float | str:
        sample = _fresh(state, path, now_ms, age)
        if sample is None:
            raise _Closed(f"{what} unknown (no {path} in the last {age // 60_000} min)")
        return sample[1]  # type: ignore[return-value]

    try:
        soc = float(value(SOC, "state of charge"))
        if window.parked and float(value(SPEED, "speed")) > 0:
            return "the vehicle is moving"
        charging = value(CHARGING, "charging") in (True, 1, 1.0, "true")
        if charging and window.charging_above_pct is None:
            return "the vehicle is charging"
        if charging and soc <= (window.charging_above_pct or 0):
            return f"charging at {soc:.0f} %, not above {window.charging_above_pct:.0f} %"
        if soc <= window.min_soc_pct:
            return f"state of charge {soc:.0f} %, not above {window.min_soc_pct:.0f} %"
        if window.start_hour is not None and window.end_hour is not None:
            hour = local_hour(now_ms, float(value(LONGITUDE, "location")))
            start, end = window.start_hour, window.end_hour
            inside = start <= hour < end if start <= end else (hour >= start or hour < end)
            if not inside:
                return f"local hour {hour}, outside {start}:00-{end}:00"
    except _Closed as closed:
        return str(closed)
    return None


class _Closed(Exception):
    pass
