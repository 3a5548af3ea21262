"""A vehicle's planned trips as stored (the derived store's kind "trip", keyed by VIN and the
time it was planned) and what the live check last found.

The newest trip of a vehicle, planned less than `ACTIVE_MS` ago and not arrived, is the one it
is on: `planner.watch` checks it against the twin. The record keeps the request (to replan
with the same preferences), the answer as the API gave it, and the route as `TripRoute` holds it.
"""

from __future__ import annotations

import msgspec
import numpy as np

from volta.planner.live import TripRoute

__all__ = ["ACTIVE_MS", "KIND", "CheckRecord", "Replanned", "TripRecord", "route_of"]

KIND = "trip"
ACTIVE_MS = 24 * 3600 * 1000  # a trip planned longer ago than this is no longer followed


class Replanned(msgspec.Struct, frozen=True, kw_only=True):
    """The plan from where the car is now, when the planned one no longer holds."""

    total_min: float
    arrival_soc: float
    stops: list[str]  # charger names, in order
    stop_soc: list[tuple[float, float]]  # (arrival, departure) SoC at each
    replan_ms: float  # wall time the replan took
    error: str | None = None  # why no plan exists from here


class CheckRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One check of a trip under way against the twin."""

    checked_ms: int
    sample_ms: int  # the newest of the twin's position and SoC samples used
    lat: float
    lon: float
    soc: float
    position: int  # route position reached
    off_route_m: float
    target_name: str
    predicted_soc: float
    planned_soc: float
    min_soc: float
    as_planned: bool
    message: str  # "" when as planned
    replanned: Replanned | None = None


class TripRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A trip planned for a vehicle. `start_ms` = `end_ms` = when it was planned."""

    id: str
    vin: str
    start_ms: int
    end_ms: int
    model: str
    energy_factor: float
    request: dict[str, object]  # the API body as given (JSON), to replan alike
    answer: bytes  # the API's answer (JSON) when it was planned
    nodes: list[int]
    energy_to_wh: list[float]
    targets: list[int]
    target_names: list[str]
    planned_soc: list[float]
    min_soc: list[float]
    departure_soc: list[float]
    full_wh: float
    status: str = "active"  # "active" | "arrived"
    check: CheckRecord | None = None


def route_of(t: TripRecord) -> TripRoute:
    return TripRoute(
        nodes=np.asarray(t.nodes, dtype=np.int64),
        energy_to_wh=np.asarray(t.energy_to_wh, dtype=np.float64),
        targets=tuple(t.targets),
        target_names=tuple(t.target_names),
        planned_soc=tuple(t.planned_soc),
        min_soc=tuple(t.min_soc),
        departure_soc=tuple(t.departure_soc),
        full_wh=t.full_wh,
    )
