"""The dashboard's routes: the whole fleet in one response, the road layer."""

from __future__ import annotations

import struct

import msgspec
import numpy as np

from volta.api.fleet import AWAKE_MS, OFFLINE_MS, FleetSignals, VehicleState, positions, states_of
from volta.catalog import default_catalog
from volta.clock import wall_ms
from volta.geo.osm import load_roads
from volta.store.base import LatestValue
from volta.twin.state import Twin

from .conftest import SOC, SPEED, VIN, VIN2, Api, batch, bearer

LAT = "Vehicle.CurrentLocation.Latitude"
LON = "Vehicle.CurrentLocation.Longitude"
HEADING = "Vehicle.CurrentLocation.Heading"
CHARGING = "Vehicle.Powertrain.TractionBattery.Charging.IsCharging"


def test_fleet_positions_are_columns_of_every_vehicle(api: Api) -> None:
    body = batch(
        [[0, LAT, 60.17], [0, LON, 24.94], [0, HEADING, 90.0], [0, SPEED, 42.5], [0, SOC, 80.1]]
    )
    assert api.post_batch(body).status_code == 200
    r = api.client.get("/v1/fleet/positions", headers=bearer(api.operator))
    assert r.status_code == 200
    p = r.json()
    assert p["vin"] == [VIN, VIN2]
    assert (p["lat"], p["lon"], p["heading"], p["speed"], p["soc"]) == (
        [60.17, None],
        [24.94, None],
        [90.0, None],
        [42.5, None],
        [80.1, None],
    )
    assert p["states"][p["state"][0]] == "driving"
    assert p["now"] - p["last_seen"][0] < 60_000


def test_a_registered_vehicle_that_never_reported_is_in_the_fleet(api: Api) -> None:
    p = api.client.get("/v1/fleet/positions", headers=bearer(api.operator)).json()
    assert p["vin"] == [VIN, VIN2]
    assert [p["states"][s] for s in p["state"]] == ["never seen", "never seen"]
    assert p["last_seen"] == [None, None] and p["lat"] == [None, None]


def test_an_offline_vehicle_keeps_its_position_but_has_no_live_speed() -> None:
    catalog = default_catalog()
    now = wall_ms()
    twin = Twin()
    twin.load_values(  # as after a restart: the car last spoke two days ago, driving
        LatestValue(VIN, catalog.get(path).id, now - 2 * 86_400_000, value, None)
        for path, value in ((LAT, 60.17), (LON, 24.94), (SPEED, 33.0))
    )
    p = msgspec.json.decode(positions(twin, [VIN, VIN2], FleetSignals.of(catalog), now, {}))
    assert [p["states"][s] for s in p["state"]] == ["offline", "never seen"]
    assert (p["lat"][0], p["lon"][0], p["speed"][0]) == (60.17, 24.94, None)


def test_fleet_positions_leave_unknown_values_empty(api: Api) -> None:
    assert api.post_batch(batch([[0, CHARGING, True]])).status_code == 200
    p = api.client.get("/v1/fleet/positions", headers=bearer(api.operator)).json()
    assert p["lat"] == [None, None] and p["soc"] == [None, None]
    assert p["states"][p["state"][0]] == "charging"


def test_fleet_positions_need_an_operator(api: Api) -> None:
    r = api.client.get("/v1/fleet/positions", headers=bearer(api.vehicle))
    assert r.status_code == 403
    assert api.client.get("/v1/fleet/positions").status_code == 401


def test_states_follow_motion_charging_and_silence() -> None:
    now, nan = wall_ms(), float("nan")
    cases = [  # (last seen, speed, gear, charging) -> state
        ((now, 30.0, nan, nan), VehicleState.DRIVING),
        ((now, 0.0, 127, nan), VehicleState.DRIVING),
        ((now, 0.0, 126, 1.0), VehicleState.CHARGING),
        ((now, 0.0, 126, 0.0), VehicleState.PARKED),
        ((now, nan, nan, nan), VehicleState.PARKED),
        ((now - AWAKE_MS - 1, 30.0, nan, nan), VehicleState.ASLEEP),
        ((now - OFFLINE_MS - 1, nan, nan, nan), VehicleState.OFFLINE),
        ((-1, nan, nan, nan), VehicleState.NEVER_SEEN),
    ]
    last, speed, gear, charging = (np.array(c) for c in zip(*(c for c, _ in cases), strict=True))
    got = states_of(now, last.astype(np.int64), speed, gear, charging)
    assert got.tolist() == [int(s) for _, s in cases]


def test_road_layer_holds_every_node_and_segment(api: Api) -> None:
    assert api.client.get("/v1/map/roads").status_code == 401
    r = api.client.get("/v1/map/roads", headers=bearer(api.vehicle))
    assert r.status_code == 200
    data = r.content
    assert data[:4] == b"VRD1"
    n, m = struct.unpack_from("<II", data, 4)
    graph = load_roads()
    assert n == graph.n_nodes
    assert len(data) == 12 + n * 8 + m * 8
    coords = np.frombuffer(data, "<f4", n * 2, 12).reshape(n, 2)
    assert np.allclose(coords[:, 0], graph.lon, atol=1e-5)
    assert np.allclose(coords[:, 1], graph.lat, atol=1e-5)
    pairs = np.frombuffer(data, "<u4", m * 2, 12 + n * 8).reshape(m, 2)
    undirected = {(min(a, b), max(a, b)) for a, b in zip(graph.src, graph.dst, strict=True)}
    assert {tuple(p) for p in pairs.tolist()} == undirected


def test_root_and_ui_serve_the_dashboard(api: Api) -> None:
    r = api.client.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/ui/"
    page = api.client.get("/ui/")
    assert page.status_code == 200 and 'src="js/app.js"' in page.text
    assert api.client.get("/ui/js/fleet.js").headers["content-type"].startswith("text/javascript")


def test_feature_layer_has_areas_and_street_labels(api: Api) -> None:
    assert api.client.get("/v1/map/features").status_code == 401
    r = api.client.get("/v1/map/features", headers=bearer(api.vehicle))
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"water", "park", "building", "labels"}
    assert all(len(body[c]) > 0 for c in ("water", "park", "building", "labels"))
    ring = body["building"][0]
    assert ring[0] == ring[-1]
    assert {"name", "lon", "lat", "angle"} <= set(body["labels"][0])
