"""`GET /v1/hazards?bbox=…`: the confirmed road hazards in a box, as GeoJSON.

Open to every signed-in role, vehicles included (the cars behind are who hazards are for): a
published hazard carries no VIN, no track and 15-minute times (`volta.hazards.fusion`), so it
is safe to show to anyone who may use the API. The hazards come from the `RoadSensing` the
server runs, `app.state.road_sensing`; a server without one answers 503.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from volta.api.auth import CallerDep, PlatformDep
from volta.errors import BadRequest, Unavailable
from volta.hazards.model import Hazard

__all__ = ["HazardSource", "feature_collection", "parse_bbox", "router"]

router = APIRouter(prefix="/v1/hazards", tags=["hazards"])
MEDIA_TYPE = "application/geo+json"


class HazardSource(Protocol):
    """What the route reads: the hazards published at a time (ms since the epoch)."""

    def hazards(self, now_ms: int) -> list[Hazard]: ...


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """`min_lon,min_lat,max_lon,max_lat` (GeoJSON's order, RFC 7946) to four floats."""
    parts = text.split(",")
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError:
        raise BadRequest(
            f"bbox must be min_lon,min_lat,max_lon,max_lat in degrees, got {text!r}"
        ) from None
    if not (-180.0 <= w <= e <= 180.0 and -90.0 <= s <= n <= 90.0):
        raise BadRequest(
            f"bbox {text!r}: need -180 <= min_lon <= max_lon <= 180 and the same for lat"
        )
    return w, s, e, n


def feature_collection(
    hazards: list[Hazard], bbox: tuple[float, float, float, float]
) -> dict[str, Any]:
    """The hazards inside bbox as a GeoJSON FeatureCollection of points (lon, lat)."""
    w, s, e, n = bbox
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": h.hazard_id,
                "geometry": {"type": "Point", "coordinates": [h.lon, h.lat]},
                "properties": {
                    "kind": h.kind.value,
                    "confidence": h.confidence,
                    "cars": h.cars,
                    "first_seen_ms": h.first_seen_ms,
                    "last_seen_ms": h.last_seen_ms,
                    "value": h.value,
                    "osm_way": h.osm_way,
                    "direction_deg": h.direction_deg,
                },
            }
            for h in hazards
            if w <= h.lon <= e and s <= h.lat <= n
        ],
    }


@router.get("", response_class=JSONResponse, responses={200: {"content": {MEDIA_TYPE: {}}}})
def hazards(
    request: Request,
    principal: CallerDep,
    platform: PlatformDep,
    bbox: Annotated[str, Query(description="min_lon,min_lat,max_lon,max_lat (degrees)")],
) -> JSONResponse:
    """Confirmed hazards (seen by at least 3 distinct cars) inside the box, as GeoJSON."""
    box = parse_bbox(bbox)
    source: HazardSource | None = getattr(request.app.state, "road_sensing", None)
    if source is None:
        raise Unavailable(
            "road sensing is off on this server: set VOLTA_ROADS to an OSM extract (.osm.pbf)"
        )
    body = feature_collection(source.hazards(platform.clock()), box)
    return JSONResponse(body, media_type=MEDIA_TYPE)
