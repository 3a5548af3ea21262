"""`GET /v1/hazards?bbox=…`: confirmed hazards in a box as GeoJSON, for any signed-in caller."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from volta.api import create_app
from volta.config import Settings
from volta.geo.osm import default_osm_path
from volta.hazards.model import Kind, Report
from volta.hazards.sensing import RoadSensing
from volta.platform import Platform
from volta.registry import Role

from .roads import T0, drive, long_route, matcher

VIN = "JHMZZ1A1XRV000001"
HELSINKI = "24.90,60.15,24.99,60.19"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Served:
    client: TestClient
    sensing: RoadSensing
    operator: str
    vehicle: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    platform = Platform(Settings(data_dir=tmp_path, mqtt=None))
    platform.start()
    vehicle = platform.registry.add_vehicle(VIN, "Model V").token.token
    operator = platform.registry.issue_token(Role.OPERATOR).token
    app = create_app(platform)
    sensing = RoadSensing(matcher())
    app.state.road_sensing = sensing
    with TestClient(app) as client:
        yield Served(client, sensing, operator, vehicle)
    platform.stop()


def _report(sensing: RoadSensing, cars: list[str], kind: Kind = Kind.POTHOLE) -> None:
    lat, lon, heading = long_route().at(320.0)
    m = matcher().match(np.array([lat]), np.array([lon]), np.array([heading]))[0]
    assert m is not None
    now = time.time_ns() // 1_000_000
    for car in cars:
        sensing.fusion.add(Report(car, now - 1000, kind, m.lat, m.lon, m.edge, 0.0, 9.0), now)


def test_hazards_in_the_box_are_geojson_points_without_any_car(served: Served) -> None:
    _report(served.sensing, [VIN, "JHMZZ1A1XRV000002", "JHMZZ1A1XRV000003"])
    r = served.client.get(f"/v1/hazards?bbox={HELSINKI}", headers=bearer(served.vehicle))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    [feature] = body["features"]
    lat, lon, _ = long_route().at(320.0)
    assert feature["geometry"]["type"] == "Point"
    assert abs(feature["geometry"]["coordinates"][0] - lon) < 1e-4
    assert abs(feature["geometry"]["coordinates"][1] - lat) < 1e-4
    assert feature["properties"]["kind"] == "pothole" and feature["properties"]["cars"] == 3
    assert "JHMZZ1A1XRV" not in r.text


def test_a_box_elsewhere_has_no_hazards(served: Served) -> None:
    _report(served.sensing, ["a", "b", "c"])
    r = served.client.get("/v1/hazards?bbox=13.3,52.4,13.5,52.6", headers=bearer(served.operator))
    assert r.json() == {"type": "FeatureCollection", "features": []}


def test_a_hazard_seen_by_two_cars_is_not_served(served: Served) -> None:
    _report(served.sensing, ["a", "b"])
    r = served.client.get(f"/v1/hazards?bbox={HELSINKI}", headers=bearer(served.operator))
    assert r.json()["features"] == []


@pytest.mark.parametrize("bbox", ["24.9,60.1,25.0", "a,b,c,d", "25.0,60.1,24.9,60.2", "0,-91,1,1"])
def test_a_malformed_box_is_refused_with_its_reason(served: Served, bbox: str) -> None:
    r = served.client.get(f"/v1/hazards?bbox={bbox}", headers=bearer(served.operator))
    assert r.status_code in (400, 422)
    assert "bbox" in r.text


def test_without_a_token_hazards_are_not_served(served: Served) -> None:
    assert served.client.get(f"/v1/hazards?bbox={HELSINKI}").status_code == 401


def test_a_server_not_running_road_sensing_says_so(served: Served) -> None:
    del served.client.app.state.road_sensing  # type: ignore[attr-defined]
    r = served.client.get(f"/v1/hazards?bbox={HELSINKI}", headers=bearer(served.operator))
    assert r.status_code == 503
    assert "road sensing" in r.text


def test_a_server_with_roads_configured_publishes_what_three_cars_sent_over_http(
    tmp_path: Path,
) -> None:
    """The whole road: HTTP ingest → gateway → bus → the platform's road sensing → the route.
    Fails when the platform does not start road sensing for `VOLTA_ROADS`."""
    now = T0 + 600_000
    settings = Settings(data_dir=tmp_path, mqtt=None, roads=default_osm_path())
    platform = Platform(settings, clock=lambda: now)
    cars = ["JHMZZ1A1XRV000001", "JHMZZ1A1XRV000002", "JHMZZ1A1XRV000003"]
    tokens = [platform.registry.add_vehicle(vin, "Model V").token.token for vin in cars]
    operator = platform.registry.issue_token(Role.OPERATOR).token
    with TestClient(create_app(platform, run_platform=True)) as client:
        for i, (vin, token) in enumerate(zip(cars, tokens, strict=True)):
            t0 = T0 + i * 60_000
            samples = drive(long_route(), [9.0] * 30, t0, 200.0, vertical={12: 9.0})
            batch = {
                "v": 1,
                "vin": vin,
                "seq": 1,
                "ts": t0,
                "samples": [[t - t0, path, value] for t, path, value in samples],
            }
            r = client.post(f"/v1/vehicles/{vin}/telemetry", json=batch, headers=bearer(token))
            assert r.status_code == 200, r.text
        r = client.get(f"/v1/hazards?bbox={HELSINKI}", headers=bearer(operator))
    assert r.status_code == 200
    [feature] = r.json()["features"]
    assert feature["properties"]["kind"] == "pothole"
    assert VIN not in r.text
