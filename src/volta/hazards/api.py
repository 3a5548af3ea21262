"""`GET /v1/hazards?bbox=…`: the confirmed road hazards in a box, as GeoJSON.

Open to every signed-in role, vehicles included (the cars behind are who hazards are for): a
published hazard carries no VIN, no track and 15-minute times (`volta.hazards.fusion`), so it
is safe to show to anyone who may use the API. The hazards come from the `RoadSensing` the
server runs, `app.state.road_sensing`; a server without one answers 503. The GeoJSON comes
from a `HazardLayer` kept in `app.state.hazard_layer` until the published hazards change.
"""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from volta.api.auth import CallerDep, PlatformDep
from volta.errors import BadRequest, Unavailable
from volta.hazards.layer import HazardLayer
from volta.hazards.model import Hazard

__all__ = ["HazardSource", "parse_bbox", "router"]

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


@router.get("", response_class=Response, responses={200: {"content": {MEDIA_TYPE: {}}}})
def hazards(
    request: Request,
    principal: CallerDep,
    platform: PlatformDep,
    bbox: Annotated[str, Query(description="min_lon,min_lat,max_lon,max_lat (degrees)")],
) -> Response:
    """Confirmed hazards (seen by at least 3 distinct cars) inside the box, as GeoJSON."""
    box = parse_bbox(bbox)
    source: HazardSource | None = getattr(request.app.state, "road_sensing", None)
    if source is None:
        raise Unavailable(
            "road sensing is off on this server: set VOLTA_ROADS to an OSM extract (.osm.pbf)"
        )
    published = source.hazards(platform.clock())
    layer: HazardLayer | None = getattr(request.app.state, "hazard_layer", None)
    if layer is None or not layer.same(published):  # built again only when hazards change
        layer = request.app.state.hazard_layer = HazardLayer(published)
    return Response(layer.geojson(box), media_type=MEDIA_TYPE)
