"""A vehicle's planned trips as stored (the derived store's kind "trip", keyed by VIN and the
time it was planned) and what the live check last found.

The newest trip of a vehicle, planned less than `ACTIVE_MS` ago and not arrived, is the one it
is on: `planner.watch` checks it against the twin. The record keeps the request (to replan
with the same preferences), the answer as the API gave it, and the route as `TripRoute` holds it,
for the plan followed and for each of the answer's alternatives: `follow` makes one of those the
plan followed (the driver's choice), the one followed before becoming an alternative.
"""

from __future__ import annotations

import msgspec
import numpy as np

from volta.errors import Conflict, ValidationError
from volta.planner.live import TripRoute

__all__ = [
    "ACTIVE_MS",
    "KIND",
    "CheckRecord",
    "NoSuchAlternative",
    "Replanned",
    "RouteRecord",
    "TripRecord",
    "follow",
    "route_of",
]

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


class RouteRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An alternative's route as `TripRoute` holds it (the trip's `full_wh` is shared)."""

    nodes: list[int]
    energy_to_wh: list[float]
    targets: list[int]
    target_names: list[str]
    planned_soc: list[float]
    min_soc: list[float]
    departure_soc: list[float]


ROUTE_FIELDS = RouteRecord.__struct_fields__  # TripRecord inherits them: the route followed


def route_record(route: TripRoute) -> RouteRecord:
    return RouteRecord(
        nodes=route.nodes.tolist(), energy_to_wh=route.energy_to_wh.tolist(),
        targets=list(route.targets), target_names=list(route.target_names),
        planned_soc=list(route.planned_soc), min_soc=list(route.min_soc),
        departure_soc=list(route.departure_soc),
    )  # fmt: skip


class TripRecord(RouteRecord, frozen=True, kw_only=True):
    """A trip planned for a vehicle, with the route it follows (the inherited fields; stored
    by field name, so records written before the split load as they are). `start_ms` =
    `end_ms` = when it was planned."""

    id: str
    vin: str
    start_ms: int
    end_ms: int
    model: str
    energy_factor: float
    request: dict[str, object]  # the API body as given (JSON), to replan alike
    answer: bytes  # the API's answer (JSON) when it was planned
    full_wh: float
    status: str = "active"  # "active" | "arrived"
    check: CheckRecord | None = None
    # the routes of the answer's alternatives, in its order (empty for a trip stored before
    # they were kept: it cannot follow one)
    alternatives: list[RouteRecord] = []


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


class NoSuchAlternative(ValidationError):
    """The trip has no alternative of that index (the message names the valid ones)."""


def follow(t: TripRecord, k: int) -> TripRecord:
    """The trip following its alternative `k` (the answer's `alternatives[k]`): that plan
    becomes the answer's and the route checked; the one followed so far joins the
    alternatives, which stay fastest first. The last check is dropped (its position is on the
    old route): the next one starts from the route's start. `NoSuchAlternative` for a `k` out
    of range, `Conflict` for a trip stored without its alternatives' routes."""
    answer = msgspec.json.decode(t.answer)
    alts = answer.get("alternatives") or []
    if len(t.alternatives) != len(alts):
        raise Conflict(
            f"trip {t.id} was stored without its alternatives' routes: plan it again to choose one"
        )
    if not 0 <= k < len(alts):
        valid = f"0 to {len(alts) - 1}" if alts else "none: the trip has no alternatives"
        raise NoSuchAlternative(f"trip {t.id} has no alternative {k} (valid: {valid})")
    chosen = alts[k]
    followed = {key: answer[key] for key in chosen}  # the plan's own fields, as alternatives have
    route = RouteRecord(**{f: getattr(t, f) for f in ROUTE_FIELDS})
    others = [
        *((a, r) for j, (a, r) in enumerate(zip(alts, t.alternatives, strict=True)) if j != k),
        (followed, route),
    ]
    others.sort(key=lambda ar: float(ar[0]["total_min"]))
    new_answer = answer | chosen | {"alternatives": [a for a, _ in others]}
    new_route = t.alternatives[k]
    return msgspec.structs.replace(
        t,
        answer=msgspec.json.encode(new_answer),
        alternatives=[r for _, r in others],
        check=None,
        **{f: getattr(new_route, f) for f in ROUTE_FIELDS},
    )
