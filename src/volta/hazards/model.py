"""The types of road sensing: what one car reports, what it drove, what is published."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import msgspec
import numpy as np
from numpy.typing import NDArray

__all__ = ["Candidate", "DropReason", "Hazard", "Kind", "Report", "Trace"]


class Kind(StrEnum):
    """What a hazard is. Speed bumps are recognised by detection but are never a hazard."""

    POTHOLE = "pothole"
    ROUGH_ROAD = "rough_road"
    SLIPPERY = "slippery"
    SLOWDOWN = "slowdown"


class DropReason(StrEnum):
    """Why a sample or a report was not used; counted, never silent."""

    BAD_POSITION = "bad_position"  # outside the Earth's ranges or (0, 0)
    POSITION_JUMP = "position_jump"  # faster than any car from the previous fix
    BAD_TIME = "bad_time"  # before 2000, or later than the caller's now allows
    TIME_BACKWARDS = "time_backwards"  # older than what this car already sent
    OFF_ROAD = "off_road"  # too far from every road of the graph
    STALE = "stale"  # a report older than fusion keeps


@dataclass(frozen=True, slots=True)
class Report:
    """One car's observation of a possible hazard, snapped onto a road segment (edge)."""

    car: str  # the car's identity inside the platform; never published
    ts_ms: int
    kind: Kind
    lat: float  # on the road (snapped)
    lon: float
    edge: int  # directed edge of the road graph
    offset_m: float  # from the edge's start
    value: float  # peak vertical m/s² (pothole, rough), speed before m/s (slowdown), °C (slippery)


@dataclass(frozen=True, slots=True)
class Trace:
    """Where one car drove in a stretch of samples: the negative evidence that expires hazards."""

    car: str
    ts_ms: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Hazard:
    """A confirmed hazard as published: no car, no track, times coarsened to `bucket_ms`.

    `first_seen_ms`/`last_seen_ms` are floored to the bucket; `cars` is at least k."""

    hazard_id: str
    kind: Kind
    lat: float
    lon: float
    edge: int
    osm_way: int
    confidence: float  # 0..1
    cars: int
    first_seen_ms: int
    last_seen_ms: int
    value: float  # median of the cars' values
    # the direction of travel it stands on, degrees clockwise from north, for a kind that
    # concerns one carriageway (a queue); None: both directions of the road
    direction_deg: float | None = None


class Candidate(msgspec.Struct, frozen=True):
    """What fusion knows of one candidate hazard, confirmed or not: what is kept across a
    restart (`volta.hazards.store`). It names cars, so it is never published."""

    hazard_id: str
    kind: Kind
    lat: float
    lon: float
    first_ms: int
    bearing: float  # of the road it lies on (in its direction of travel), degrees
    votes: dict[str, tuple[int, float, float, float]]  # car -> its latest (ts, lat, lon, value)
    missed: dict[str, int]  # car -> ts of its pass without a report since the last one
