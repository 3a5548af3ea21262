"""`HazardLayer`: the GeoJSON of the published hazards cut to a box, built once per change."""

from __future__ import annotations

import dataclasses
import json

from volta.hazards.layer import HazardLayer
from volta.hazards.model import Hazard, Kind

T0 = 1_774_000_000_000


def _hazard(i: int, lon: float, lat: float) -> Hazard:
    return Hazard(f"h{i}", Kind.POTHOLE, lat, lon, i, 7, 0.6, 3, T0, T0, 8.0)


HAZARDS = [_hazard(0, 24.95, 60.17), _hazard(1, 24.90, 60.15), _hazard(2, 24.99, 60.19)]


def _ids(body: bytes) -> list[str]:
    doc = json.loads(body)
    assert doc["type"] == "FeatureCollection"
    return [f["id"] for f in doc["features"]]


def test_a_box_holds_exactly_the_hazards_inside_it_edges_included() -> None:
    layer = HazardLayer(HAZARDS)
    assert _ids(layer.geojson((24.90, 60.15, 24.99, 60.19))) == ["h1", "h0", "h2"]
    assert _ids(layer.geojson((24.91, 60.15, 24.99, 60.18))) == ["h0"]
    assert _ids(layer.geojson((24.90, 60.16, 24.96, 60.19))) == ["h0"]  # h1 is south of it
    assert _ids(layer.geojson((10.0, 50.0, 11.0, 51.0))) == []
    [feature] = json.loads(layer.geojson((24.94, 60.16, 24.96, 60.18)))["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [24.95, 60.17]}
    assert feature["properties"] == {
        "kind": "pothole",
        "confidence": 0.6,
        "cars": 3,
        "first_seen_ms": T0,
        "last_seen_ms": T0,
        "value": 8.0,
        "osm_way": 7,
        "direction_deg": None,
    }


def test_a_layer_is_the_same_until_a_hazard_changes() -> None:
    layer = HazardLayer(HAZARDS)
    assert layer.same(list(HAZARDS)) and layer.same([dataclasses.replace(h) for h in HAZARDS])
    assert not layer.same(HAZARDS[:2])
    assert not layer.same([*HAZARDS[:2], dataclasses.replace(HAZARDS[2], confidence=0.7)])
