"""The road network as the dashboard's base layer: node coordinates and road segments, in a
compact binary form (no map tiles from outside)."""

from __future__ import annotations

import json
import struct
from functools import cache

import numpy as np
from fastapi import APIRouter
from fastapi.responses import Response

from volta.api.auth import CallerDep
from volta.geo.features import Features, load_features
from volta.geo.graph import RoadGraph
from volta.geo.osm import default_osm_path, load_roads

router = APIRouter(prefix="/v1/map", tags=["map"])

MEDIA_TYPE = "application/vnd.volta.roads"
MAGIC = b"VRD1"


def encode_roads(graph: RoadGraph) -> bytes:
    """`VRD1`, uint32 nodes, uint32 segments (little-endian); then float32 lon, lat per node;
    then uint32 node pairs, one per road segment (both directions of a two-way road once)."""
    a = np.minimum(graph.src, graph.dst)
    b = np.maximum(graph.src, graph.dst)
    pairs = np.unique(np.stack([a, b], axis=1), axis=0).astype("<u4")
    coords = np.stack([graph.lon, graph.lat], axis=1).astype("<f4")
    header = MAGIC + struct.pack("<II", len(coords), len(pairs))
    return header + coords.tobytes() + pairs.tobytes()


@cache
def _default_roads() -> bytes:
    return encode_roads(load_roads())


@router.get(
    "/roads",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "binary road layer"}},
)
def roads(principal: CallerDep) -> Response:
    """The road network the simulated fleet drives on (© OpenStreetMap contributors, ODbL)."""
    return Response(
        _default_roads(),
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get("/features")
def features(principal: CallerDep) -> Response:
    """Water, parks, buildings (closed rings of [lon, lat]) and street-name labels of the
    shipped extract, drawn under and along the roads (© OpenStreetMap contributors, ODbL)."""
    return Response(
        _features_json(),
        media_type="application/json",
        headers={"Cache-Control": "private, max-age=3600"},
    )


@cache
def _features_json() -> bytes:
    data: Features = load_features(default_osm_path())
    return json.dumps(data, separators=(",", ":")).encode()
