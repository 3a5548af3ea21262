"""`POST /v1/vehicles/{vin}/trips` on the shipped Helsinki extract: trips from the car's own
position and charge, charging stops from a charger file, the road each leg follows, and the
answers when no trip can be planned.

Helsinki's extract is 1.5 km across, so the car that must stop is a Kona with battery and
charging power scaled down together (256 Wh, same C-rate), registered with its model file.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import SOC, batch, bearer
from volta.api import create_app
from volta.clock import wall_ms
from volta.config import Settings
from volta.drives.core import Drive
from volta.geo.distance import haversine_m
from volta.geo.graph import RoadGraph
from volta.geo.osm import default_osm_path, load_roads
from volta.planner.calibration import calibrate, predicted_wh
from volta.planner.scenarios import scaled
from volta.planner.service import TripPlanner, server_planner
from volta.planner.trips import KIND, TripRecord
from volta.platform import Platform
from volta.registry import Role
from volta.vehicles.model import load_model
from volta.vehicles.model_file import model_toml

KONA = "hyundai_kona_electric_2021"
CAR = "JHMZZ1A1XRV000001"  # a real Kona that has reported where it is
SMALL = "JHMZZ1A1XRV000002"  # the scaled-down Kona
NO_MODEL = "JHMZZ1A1XRV000003"
SILENT = "JHMZZ1A1XRV000004"  # a Kona that never reported
UNKNOWN_MODEL = "JHMZZ1A1XRV000005"  # registered with a model name no file has
LAT = "Vehicle.CurrentLocation.Latitude"
LON = "Vehicle.CurrentLocation.Longitude"
BERLIN = {"lat": 52.52, "lon": 13.405}


@dataclass
class Trips:
    client: TestClient
    graph: RoadGraph
    operator: str
    driver_of_small: str
    west: dict[str, float]  # the map's westernmost and easternmost road nodes
    east: dict[str, float]
    stations: dict[str, tuple[float, float]]  # name -> (lat, lon) of the DC stations in the file


def _point(g: RoadGraph, node: int) -> dict[str, float]:
    return {"lat": float(g.lat[node]), "lon": float(g.lon[node])}


@pytest.fixture(scope="module")
def trips(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trips]:
    tmp = tmp_path_factory.mktemp("trips")
    g = load_roads(default_osm_path())
    rng = np.random.default_rng(7)
    stations = {f"DC {i}": (float(g.lat[n]), float(g.lon[n])) for i, n in
                enumerate(rng.choice(len(g.lat), 8, replace=False))}  # fmt: skip
    # DC 0-3 have CCS, 4-7 CHAdeMO; even ones are network Alpha, odd ones Beta; DC 0, 1, 4, 5
    # give 50 kW, the others 150 kW (the scaled car's own peak is far below either)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "amenity": "charging_station", "name": name,
                f"socket:{'ccs' if i < 4 else 'chademo'}": "1",
                f"socket:{'ccs' if i < 4 else 'chademo'}:output": "50 kW" if i % 4 < 2 else
                "150 kW", "network": "Alpha" if i % 2 == 0 else "Beta",
            },
        }
        for i, (name, (lat, lon)) in enumerate([*stations.items(), ("Berlin", (52.52, 13.405))])
    ]  # fmt: skip
    chargers = tmp / "chargers.geojson"
    chargers.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    small = tmp / "small-kona.toml"
    small.write_text(model_toml(scaled(load_model(KONA), 0.004)))
    settings = Settings(
        data_dir=tmp / "data", mqtt=None, roads=default_osm_path(), chargers=chargers
    )
    platform = Platform(settings)
    platform.start()
    reg = platform.registry
    car = reg.add_vehicle(CAR, KONA).token.token
    reg.add_vehicle(SMALL, str(small))
    reg.add_vehicle(NO_MODEL, None)
    reg.add_vehicle(SILENT, KONA)
    reg.add_vehicle(UNKNOWN_MODEL, "Model V")
    operator = reg.issue_token(Role.OPERATOR).token
    reg.add_user("sam", Role.DRIVER, "a long enough password")
    reg.assign("sam", SMALL)
    west, east = int(np.argmin(g.lon)), int(np.argmax(g.lon))
    with TestClient(create_app(platform)) as client:
        samples = [[0, LAT, float(g.lat[west])], [0, LON, float(g.lon[west])], [0, SOC, 64.5]]
        r = client.post(
            f"/v1/vehicles/{CAR}/telemetry",
            content=batch(samples, vin=CAR),
            headers={**bearer(car), "Content-Type": "application/json"},
        )
        assert r.status_code == 200 and '"rejected":[]' in r.text.replace(" ", ""), r.text
        r = client.post(
            "/v1/auth/token", json={"username": "sam", "password": "a long enough password"}
        )
        assert r.status_code == 200, r.text
        driver = r.json()["access_token"]
        yield Trips(client, g, operator, driver, _point(g, west), _point(g, east), stations)
    platform.stop()


def _plan(t: Trips, vin: str, token: str | None = None, **body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = t.client.post(f"/v1/vehicles/{vin}/trips", json=body, headers=bearer(token or t.operator))
    return r.status_code, r.json()


def test_a_trip_starts_where_the_car_is_with_the_charge_it_has(trips: Trips) -> None:
    status, body = _plan(trips, CAR, destination=trips.east)
    assert status == 200, body
    assert body["origin"] == trips.west and body["start_soc"] == 64.5
    assert body["model"] == KONA and body["stops"] == []  # 1.5 km in a 64 kWh car
    [leg] = body["legs"]
    line = leg["geometry"]
    assert line[0] == [trips.west["lon"], trips.west["lat"]]
    assert line[-1] == [trips.east["lon"], trips.east["lat"]]
    # the line is the road driven: its length is the leg's distance (edges follow the nodes)
    along = sum(haversine_m(a[1], a[0], b[1], b[0]) for a, b in itertools.pairwise(line))
    assert along == pytest.approx(leg["distance_km"] * 1000.0, rel=0.02)
    assert body["arrival_soc"] < 64.5 and body["energy_kwh"] > 0
    assert body["total_min"] == pytest.approx(body["drive_min"])


def test_a_small_battery_stops_at_the_file_s_chargers(trips: Trips) -> None:
    status, body = _plan(
        trips, SMALL, trips.driver_of_small, origin=trips.west, destination=trips.east,
        start_soc=30, min_arrival_soc=10, min_charger_soc=5,
    )  # fmt: skip
    assert status == 200, body
    assert body["stops"], "a 256 Wh battery at 30 % cannot cross the map without charging"
    assert len(body["legs"]) == len(body["stops"]) + 1
    for stop, leg_in, leg_out in zip(body["stops"], body["legs"], body["legs"][1:], strict=False):
        assert stop["name"] in trips.stations
        assert (stop["lat"], stop["lon"]) == trips.stations[stop["name"]]
        # the leg ends where the stop is, and the next starts there
        assert leg_in["geometry"][-1] == leg_out["geometry"][0] == [stop["lon"], stop["lat"]]
        assert stop["arrival_soc"] >= 5 - 1e-6 and stop["departure_soc"] > stop["arrival_soc"]
        assert stop["charge_min"] > 0
    assert body["arrival_soc"] >= 10 - 1e-6
    assert body["charge_min"] == pytest.approx(sum(s["charge_min"] for s in body["stops"]),
                                               abs=0.05)  # fmt: skip


def test_points_off_the_map_and_impossible_trips_are_422_with_the_reason(trips: Trips) -> None:
    status, body = _plan(trips, CAR, destination=BERLIN)
    assert status == 422 and body["error"] == "off_road"
    assert "m from the nearest road node" in body["message"]
    status, body = _plan(trips, SMALL, origin=trips.west, destination=trips.east, start_soc=3,
                         min_charger_soc=5)  # fmt: skip
    assert status == 422 and body["error"] == "no_plan", body
    assert "minimum SoC" in body["message"]
    status, body = _plan(trips, CAR, destination=trips.east, min_arrival_soc=150)
    assert status == 422 and body["error"] == "invalid_request"


def test_what_the_server_cannot_know_is_named(trips: Trips) -> None:
    status, body = _plan(trips, NO_MODEL, origin=trips.west, destination=trips.east, start_soc=50)
    assert status == 400 and "no model registered" in body["message"]
    status, body = _plan(trips, UNKNOWN_MODEL, origin=trips.west, destination=trips.east,
                         start_soc=50)  # fmt: skip
    assert status == 400 and "unknown vehicle model 'Model V'" in body["message"], body
    status, body = _plan(trips, SILENT, destination=trips.east)
    assert status == 400 and "not reported a position" in body["message"]
    status, body = _plan(trips, SILENT, origin=trips.west, destination=trips.east)
    assert status == 400 and "state of charge" in body["message"]
    status, body = _plan(trips, "JHMZZ1A1XRV000099", destination=trips.east)
    assert status == 404


def test_a_driver_plans_only_for_their_own_car(trips: Trips) -> None:
    status, _ = _plan(trips, CAR, trips.driver_of_small, destination=trips.east)
    assert status in (403, 404)


def test_a_server_without_roads_answers_503(tmp_path: Path) -> None:
    platform = Platform(Settings(data_dir=tmp_path, mqtt=None))
    platform.start()
    try:
        platform.registry.add_vehicle(CAR, KONA)
        operator = platform.registry.issue_token(Role.OPERATOR).token
        with TestClient(create_app(platform)) as client:
            body = {"destination": BERLIN, "origin": BERLIN, "start_soc": 50}
            r = client.post(f"/v1/vehicles/{CAR}/trips", headers=bearer(operator), json=body)
        assert r.status_code == 503 and "VOLTA_ROADS" in r.json()["message"]
    finally:
        platform.stop()


def test_stations_far_from_the_roads_are_left_out_and_named(trips: Trips) -> None:
    settings = trips.client.app.state.platform.settings  # type: ignore[attr-defined]
    planner = server_planner(settings)
    assert planner.unsnapped == ["osm:52.520000,13.405000"]
    names = {s.name for s in planner.sites}
    assert set(trips.stations) <= names  # and the extract's own (AC) stations
    assert sum(n.startswith("OSM charging station") for n in names) == len(trips.graph.chargers)


def test_each_leg_s_geometry_is_edges_of_the_graph_summing_to_its_distance(trips: Trips) -> None:
    g = trips.graph
    planner = TripPlanner(g, ())
    where = {(float(a), float(b)): i for i, (a, b) in enumerate(zip(g.lat, g.lon, strict=True))}
    model = scaled(load_model(KONA), 0.004)
    trip = planner.plan(model, (trips.west["lat"], trips.west["lon"]),
                        (trips.east["lat"], trips.east["lon"]), start_soc=90)  # fmt: skip
    for leg, line in zip(trip.plan.legs, trip.geometry, strict=True):
        nodes = np.array([where[p] for p in line])
        edges = planner.net.edge_index(nodes[:-1], nodes[1:])  # raises if not an edge
        assert float(planner.net.length_m[edges].sum()) == pytest.approx(leg.distance_m)


def test_charger_filters_choose_the_stops_and_name_themselves_when_no_plan_is_left(
    trips: Trips,
) -> None:
    base: dict[str, Any] = {"origin": trips.west, "destination": trips.east, "start_soc": 30,
            "min_arrival_soc": 10, "min_charger_soc": 5}  # fmt: skip
    cases: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
        ({"networks": ["alpha"]}, lambda s: s["network"] == "Alpha"),
        ({"connectors": ["chademo"]}, lambda s: "chademo" in s["connectors"]),
        ({"min_power_kw": 100}, lambda s: s["power_kw"] >= 100),
    ]  # fmt: skip
    for prefs, ok in cases:
        status, body = _plan(trips, SMALL, **base, **prefs)
        assert status == 200, body
        assert body["stops"] and all(ok(s) for s in body["stops"]), (prefs, body["stops"])
    status, body = _plan(trips, SMALL, **base, networks=["Nobody"])
    assert status == 422 and body["error"] == "no_plan", body
    assert "charger filters (network nobody; 0 of 12 chargers match)" in body["message"]
    assert body["message"].endswith("without the filters the trip can be made")
    status, body = _plan(trips, SMALL, **base, connectors=["plug"])
    assert status == 422 and body["error"] == "invalid_request"


def test_prefer_fewer_stops_never_adds_a_stop(trips: Trips) -> None:
    base: dict[str, Any] = {"origin": trips.west, "destination": trips.east, "start_soc": 12,
            "min_arrival_soc": 10, "min_charger_soc": 5}  # fmt: skip
    _, fastest = _plan(trips, SMALL, **base)
    status, fewer = _plan(trips, SMALL, **base, prefer_fewer_stops=True)
    assert status == 200, fewer
    assert 1 <= len(fewer["stops"]) <= len(fastest["stops"])
    assert fewer["total_min"] >= fastest["total_min"] - 0.01


def test_close_alternatives_come_with_their_own_stops_and_roads(trips: Trips) -> None:
    status, body = _plan(
        trips, SMALL, origin=trips.west, destination=trips.east, start_soc=30,
        min_arrival_soc=10, min_charger_soc=5, alternatives_within_pct=10,
    )  # fmt: skip
    assert status == 200, body
    alts = body["alternatives"]
    assert alts, "the map's 12 chargers give this trip another sequence within 10 %"
    names = [tuple(s["name"] for s in p["stops"]) for p in [body, *alts]]
    assert len(set(names)) == len(names)
    for alt in alts:
        assert body["total_min"] - 0.01 <= alt["total_min"] <= body["total_min"] * 1.1 + 0.01
        assert len(alt["legs"]) == len(alt["stops"]) + 1 and alt["legs"][0]["geometry"]
    _, none = _plan(trips, SMALL, origin=trips.west, destination=trips.east, start_soc=30,
                    min_arrival_soc=10, min_charger_soc=5, alternatives_within_pct=0)  # fmt: skip
    assert none["alternatives"] == []


def test_planning_for_a_car_uses_its_own_consumption_from_its_drives(trips: Trips) -> None:
    platform = trips.client.app.state.platform  # type: ignore[attr-defined]
    model = load_model(KONA)
    # six finished drives in which the car used 40 % more than its model predicts
    drives = []
    for i in range(6):
        wh = predicted_wh(model, 3000.0, 30.0, 5.0) * 1.4
        drives.append(Drive(
            id=f"{CAR}-{i}", vin=CAR, start_ms=1_000_000 * i, end_ms=1_000_000 * i + 600_000,
            final=True, start_lat=None, start_lon=None, end_lat=None, end_lon=None,
            odometer_start_m=None, odometer_end_m=None, distance_m=3000.0, energy_wh=wh,
            regen_wh=0.0, efficiency_wh_per_km=wh / 3, avg_speed_kmh=30.0, max_speed_kmh=50.0,
            soc_start=None, soc_end=None, outside_temp_c=5.0,
        ))  # fmt: skip
    platform.derived.upsert("drive", drives)
    try:
        want = calibrate(model, drives)
        assert want.factor == pytest.approx(1.0 + 0.4 * 6 / 8)  # 2 drives' worth of prior
        _, own = _plan(trips, CAR, destination=trips.east)
        _, plain = _plan(trips, CAR, destination=trips.east, calibrated=False)
        assert own["calibration"] == {"factor": round(want.factor, 4), "drives": 6, "km": 18.0}
        assert plain["calibration"] == {"factor": 1.0, "drives": 0, "km": 0.0}
        assert own["energy_kwh"] == pytest.approx(plain["energy_kwh"] * want.factor, rel=0.02)
        assert own["arrival_soc"] < plain["arrival_soc"]
    finally:
        platform.derived.replace_from("drive", CAR, 0, [])


def _reporter(trips: Trips, vin: str, token: str) -> Callable[[float, float, float], None]:
    """report(lat, lon, soc): one telemetry batch from the car, a second after the last."""
    seq, ts = itertools.count(1), itertools.count(wall_ms() - 60_000, 1000)

    def report(lat: float, lon: float, soc: float) -> None:
        samples = [[0, LAT, lat], [0, LON, lon], [0, SOC, soc]]
        r = trips.client.post(
            f"/v1/vehicles/{vin}/telemetry",
            content=batch(samples, seq=next(seq), vin=vin, ts=next(ts)),
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        assert r.status_code == 200 and '"rejected":[]' in r.text.replace(" ", ""), r.text

    return report


LIVE = "JHMZZ1A1XRV000006"  # a scaled-down Kona that drives its planned trip


def test_a_trip_under_way_is_checked_from_the_twin_alerted_and_replanned(trips: Trips) -> None:
    platform = trips.client.app.state.platform  # type: ignore[attr-defined]
    small = platform.registry.get_vehicle(SMALL).model
    report = _reporter(trips, LIVE, platform.registry.add_vehicle(LIVE, small).token.token)

    def check(trip_id: str) -> dict[str, Any]:
        r = trips.client.post(f"/v1/vehicles/{LIVE}/trips/{trip_id}/check",
                              headers=bearer(trips.operator))  # fmt: skip
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out

    report(trips.west["lat"], trips.west["lon"], 30.0)
    status, plan = _plan(trips, LIVE, destination=trips.east, min_arrival_soc=10,
                         min_charger_soc=5)  # fmt: skip
    assert status == 200 and plan["stops"], plan
    r = trips.client.get(f"/v1/vehicles/{LIVE}/trips", headers=bearer(trips.operator))
    [stored] = r.json()
    assert stored["id"] == plan["id"] and stored["active"] and stored["check"] is None
    assert stored["plan"]["stops"] == plan["stops"]
    # half way along the first leg with the charge it left with: as planned
    line = plan["legs"][0]["geometry"]
    lon, lat = line[len(line) // 2]
    report(lat, lon, 30.0)
    state = check(plan["id"])
    first = plan["stops"][0]
    assert state["check"]["as_planned"] and state["check"]["target_name"] == first["name"]
    assert state["check"]["predicted_soc"] > first["arrival_soc"]
    # there with far less: it will not reach the stop with the planned SoC
    report(lat, lon, 6.0)
    state = check(plan["id"])
    c = state["check"]
    assert not c["as_planned"] and c["predicted_soc"] < first["arrival_soc"] - 3
    assert c["message"].startswith(f"will reach {first['name']} with")
    assert c["replanned"]["replan_ms"] < 500
    platform.alerts.sync()

    def trip_alerts() -> list[Any]:
        return [a for a in platform.registry.open_alerts()
                if a.facts.vin == LIVE and a.facts.kind == "trip_soc"]  # fmt: skip

    [alert] = trip_alerts()
    assert first["name"] in alert.facts.message and alert.facts.message.startswith("Trip: will")
    # the charge was misreported: back to as planned, the alert clears
    report(lat, lon, 30.0)
    assert check(plan["id"])["check"]["as_planned"]
    platform.alerts.sync()
    assert trip_alerts() == []
    # arrived: no longer the trip it is on
    report(trips.east["lat"], trips.east["lon"], 12.0)
    state = check(plan["id"])
    assert state["status"] == "arrived" and not state["active"]
    r = trips.client.post(f"/v1/vehicles/{LIVE}/trips/{plan['id']}/check",
                          headers=bearer(trips.operator))  # fmt: skip
    assert r.status_code == 409
    # a driver sees only their own cars' trips
    r = trips.client.get(f"/v1/vehicles/{LIVE}/trips", headers=bearer(trips.driver_of_small))
    assert r.status_code in (403, 404)
    r = trips.client.get(f"/v1/vehicles/{LIVE}/trips/{plan['id']}",
                         headers=bearer(trips.driver_of_small))  # fmt: skip
    assert r.status_code in (403, 404)
    r = trips.client.get(f"/v1/vehicles/{SMALL}/trips/{plan['id']}",
                         headers=bearer(trips.driver_of_small))  # fmt: skip
    assert r.status_code == 404  # not a trip of this car


def test_named_places_resolve_and_a_driver_never_gets_another_car_s_home(trips: Trips) -> None:
    """Origin and destination by name: the car's own saved place ("home", its driver's, never
    another car's), a charger, a street typed without its accents; several places or none
    are a 422 naming the candidates; the stored trip keeps the point for its replans."""
    c, g = trips.client, trips.graph
    mid = _point(g, int(np.argsort(g.lon)[len(g.lon) // 2]))
    homes = {SMALL: trips.east, CAR: mid}
    for vin, where in homes.items():
        r = c.post(f"/v1/vehicles/{vin}/places", headers=bearer(trips.operator),
                   json={"name": "Home", "radius_m": 50, **where})  # fmt: skip
        assert r.status_code == 201, r.text
    status, body = _plan(trips, SMALL, trips.driver_of_small, origin="toolonlahdenkatu",
                         destination="HOME", start_soc=90)  # fmt: skip
    assert status == 200, body
    assert body["destination"] == trips.east
    assert body["destination_place"] == {"name": "Home", "kind": "saved place", **trips.east}
    assert body["origin_place"]["name"] == "Töölönlahdenkatu"
    assert body["origin_place"]["kind"] == "street"
    assert body["legs"][0]["geometry"][-1] == [trips.east["lon"], trips.east["lat"]]
    stored = c.app.state.platform.derived.get(KIND, TripRecord, body["id"])  # type: ignore[attr-defined]
    assert stored.request["destination"] == trips.east  # what a replan under way drives to
    # the car's own "Home" for the operator planning for CAR
    status, body = _plan(trips, CAR, destination="home")
    assert status == 200 and body["destination"] == mid, body
    # a charger by its name
    name, (lat, lon) = next(iter(trips.stations.items()))
    status, body = _plan(trips, CAR, destination=name.lower())
    assert status == 200, body
    assert body["destination_place"]["kind"] == "charger"
    assert haversine_m(lat, lon, body["destination"]["lat"], body["destination"]["lon"]) < 500
    # several places or none
    status, body = _plan(trips, CAR, destination="Hesburger")
    assert status == 422 and body["error"] == "ambiguous_place", body
    assert len(body["candidates"]) == 3 and {p["kind"] for p in body["candidates"]} == {"fast_food"}
    assert "'Hesburger' names 3 places: Hesburger (fast_food, 60.1" in body["message"]
    status, body = _plan(trips, CAR, destination="no such place at all")
    assert status == 422 and body["error"] == "unknown_place"
    assert body["message"] == "no place named 'no such place at all'"
    # an address, as people write it; a number the map lacks names the street's nearest ones
    status, body = _plan(trips, CAR, destination="Kaivokatu 1, 00100 Helsinki")
    assert status == 200, body
    place = body["destination_place"]
    assert (place["name"], place["kind"]) == ("Kaivokatu 1", "address")
    assert haversine_m(60.17132, 24.94146, place["lat"], place["lon"]) < 20
    status, body = _plan(trips, CAR, destination="Kaivokatu 99")
    assert status == 422 and body["error"] == "unknown_place", body
    assert body["candidates"][0]["name"] == "Kaivokatu 12"
    assert "on that street it knows Kaivokatu 12, Kaivokatu 11" in body["message"]
    # the search: the driver's car's home, not the other car's; another car's search is 403
    r = c.get(f"/v1/vehicles/{SMALL}/places/search", params={"q": "hom"},
              headers=bearer(trips.driver_of_small))  # fmt: skip
    assert r.status_code == 200, r.text
    found = r.json()["candidates"]
    assert found[0] == {"name": "Home", "kind": "saved place", **trips.east}
    assert all((p["lat"], p["lon"]) != (mid["lat"], mid["lon"]) for p in found)
    r = c.get(f"/v1/vehicles/{CAR}/places/search", params={"q": "home"},
              headers=bearer(trips.driver_of_small))  # fmt: skip
    assert r.status_code == 403
    r = c.get(f"/v1/vehicles/{SMALL}/places/search", params={"q": "kiasm", "limit": 5},
              headers=bearer(trips.driver_of_small))  # fmt: skip
    assert [p["name"] for p in r.json()["candidates"]] == ["Kiasma", "Kiasma kaupunkipyöräasema"]


def test_a_model_plans_without_a_car_as_a_car_of_that_model_would(trips: Trips) -> None:
    """`POST /v1/trips/plan`: the same plan as a car of the model (uncalibrated) from the same
    point and charge, for every person but not a vehicle's token; nothing stored; the fleet's
    places resolve, a car's own never; a model the server lacks, a missing start SoC and an
    unplannable trip are 422 with the reason."""
    c, platform = trips.client, trips.client.app.state.platform  # type: ignore[attr-defined]
    models = c.get("/v1/models", headers=bearer(trips.driver_of_small)).json()
    assert {"name": KONA, "display_name": "2021 Hyundai Kona Electric 64 kWh"} in [
        {k: m[k] for k in ("name", "display_name")} for m in models
    ]

    def plan(token: str | None = None, **body: object) -> tuple[int, dict[str, Any]]:
        r = c.post("/v1/trips/plan", json=body, headers=bearer(token or trips.operator))
        return r.status_code, r.json()

    # so little charge that the trip needs a stop: the model's answer is the car's
    ask: dict[str, Any] = {"origin": trips.west, "destination": trips.east, "start_soc": 11,
           "min_arrival_soc": 11, "alternatives_within_pct": 50}  # fmt: skip
    stored = len(platform.derived.list(KIND, TripRecord, limit=1000))
    status, by_model = plan(trips.driver_of_small, model=KONA, **ask)
    assert status == 200, by_model
    _, by_car = _plan(trips, CAR, **ask, calibrated=False)
    assert by_model["stops"] and by_model["stops"] == by_car["stops"]
    same = ("legs", "profile", "total_min", "alternatives", "origin", "destination", "model")
    assert {k: by_model[k] for k in same} == {k: by_car[k] for k in same}
    assert "id" not in by_model and "vin" not in by_model
    assert len(platform.derived.list(KIND, TripRecord, limit=1000)) == stored + 1  # the car's
    vehicle = platform.registry.issue_token(Role.VEHICLE, vin=CAR).token
    assert plan(vehicle, model=KONA, **ask)[0] == 403
    # names: a fleet place and a charger resolve; a car's own place is not the model's
    r = c.post("/v1/places", headers=bearer(trips.operator),
               json={"name": "Volta Depot", "radius_m": 50, **trips.east})  # fmt: skip
    assert r.status_code == 201, r.text
    r = c.post(f"/v1/vehicles/{CAR}/places", headers=bearer(trips.operator),
               json={"name": "Volta Garage", "radius_m": 50, **trips.east})  # fmt: skip
    assert r.status_code == 201, r.text
    status, body = plan(model=KONA, origin=next(iter(trips.stations)), destination="volta dep",
                        start_soc=80)  # fmt: skip
    assert status == 200, body
    assert body["destination_place"] == {"name": "Volta Depot", "kind": "fleet place",
                                         **trips.east}  # fmt: skip
    assert body["origin_place"]["kind"] == "charger"
    status, body = plan(model=KONA, origin=trips.west, destination="volta garage", start_soc=80)
    assert status == 422 and body["error"] == "unknown_place", body
    r = c.get("/v1/trips/places", params={"q": "volta"}, headers=bearer(trips.driver_of_small))
    assert [p["name"] for p in r.json()["candidates"]] == ["Volta Depot"]
    # what cannot be planned
    status, body = plan(model="Model V", **ask)
    assert status == 422 and body["error"] == "invalid_request"
    assert "unknown vehicle model 'Model V'; known: " in body["message"] and KONA in body["message"]
    small = platform.registry.get_vehicle(SMALL).model  # a model file's path: never read
    assert plan(model=small, **ask)[0] == 422
    status, body = plan(model=KONA, origin=trips.west, destination=trips.east)
    assert status == 422 and "start_soc: Field required" in body["message"], body
    status, body = plan(model=KONA, destination=trips.east, start_soc=50)
    assert status == 422 and "origin" in body["message"]
    status, body = plan(model=KONA, origin=trips.west, destination=BERLIN, start_soc=50)
    assert status == 422 and body["error"] == "off_road"
    status, body = plan(model=KONA, **ask | {"networks": ["Nobody"]})
    assert status == 422 and body["error"] == "no_plan" and "charger filters" in body["message"]


def test_a_cold_day_and_a_load_cost_energy_for_a_car_and_a_model_alike(trips: Trips) -> None:
    """`ambient_c` adds the cabin's heating for the whole drive time; `payload_kg` adds mass;
    both routes (a car's, a model's) plan with them the same way."""
    ask: dict[str, Any] = {"origin": trips.west, "destination": trips.east, "start_soc": 80}
    r = trips.client.post("/v1/trips/plan", json={"model": KONA, **ask},
                          headers=bearer(trips.operator))  # fmt: skip
    mild = r.json()
    r = trips.client.post("/v1/trips/plan", json={"model": KONA, **ask, "ambient_c": -10},
                          headers=bearer(trips.operator))  # fmt: skip
    cold = r.json()
    assert r.status_code == 200 and cold["drive_min"] == mild["drive_min"]  # the same road
    # Kona: setpoint 21 °C, dead band 3 K, 120 W/K + 150 W base = 3.51 kW over the drive
    heating_kwh = (120.0 * (21 + 10 - 3) + 150.0) / 1000.0 * cold["drive_min"] / 60.0
    assert cold["energy_kwh"] - mild["energy_kwh"] == pytest.approx(heating_kwh, rel=0.03)
    _, car = _plan(trips, CAR, **ask, ambient_c=-10, calibrated=False)
    assert car["energy_kwh"] == cold["energy_kwh"] and car["legs"] == cold["legs"]
    # a replan under way keeps the cold: arriving with less than without it
    platform = trips.client.app.state.platform  # type: ignore[attr-defined]
    stored = platform.derived.get(KIND, TripRecord, car["id"])
    warm = msgspec.structs.replace(stored, request=stored.request | {"ambient_c": 20})
    start = (trips.west["lat"], trips.west["lon"], 80.0)
    planner = server_planner(platform.settings)
    again_cold, again_warm = (platform.trips.replan(planner, t, *start) for t in (stored, warm))
    assert again_cold.arrival_soc == cold["arrival_soc"] < again_warm.arrival_soc
    _, loaded = _plan(trips, CAR, **ask, payload_kg=600, calibrated=False)
    assert loaded["energy_kwh"] > mild["energy_kwh"]
    status, body = _plan(trips, CAR, **ask, ambient_c=-60)
    assert status == 422 and "ambient_c" in body["message"]


CHOOSER = "JHMZZ1A1XRV000007"  # a scaled-down Kona whose driver follows an alternative


def test_following_an_alternative_makes_the_live_check_compare_with_it(trips: Trips) -> None:
    platform = trips.client.app.state.platform  # type: ignore[attr-defined]
    small = platform.registry.get_vehicle(SMALL).model
    report = _reporter(trips, CHOOSER, platform.registry.add_vehicle(CHOOSER, small).token.token)
    ops = bearer(trips.operator)

    def follow(trip_id: str, k: object, who: dict[str, str] = ops) -> Any:
        return trips.client.post(f"/v1/vehicles/{CHOOSER}/trips/{trip_id}/follow",
                                 json={"alternative": k}, headers=who)  # fmt: skip

    report(trips.west["lat"], trips.west["lon"], 30.0)
    status, plan = _plan(trips, CHOOSER, destination=trips.east, min_arrival_soc=10,
                         min_charger_soc=5, alternatives_within_pct=10)  # fmt: skip
    assert status == 200 and plan["alternatives"], plan
    alt = plan["alternatives"][0]
    via = [s["name"] for s in alt["stops"]]
    r = follow(plan["id"], 0)
    assert r.status_code == 200, r.text
    state = r.json()
    followed = state["plan"]
    assert [s["name"] for s in followed["stops"]] == via and state["active"]
    for key in ("stops", "legs", "profile", "total_min", "arrival_soc"):
        assert followed[key] == alt[key], key
    # the plan followed before is an alternative now; the trip's own fields are kept
    fastest = {k: plan[k] for k in alt}
    assert fastest in followed["alternatives"]
    assert followed["id"] == plan["id"] and followed["calibration"] == plan["calibration"]
    r = trips.client.get(f"/v1/vehicles/{CHOOSER}/trips/{plan['id']}", headers=ops)
    assert r.json()["plan"] == followed
    # the live check compares the car with the alternative: its road, its first stop's SoC
    line = alt["legs"][0]["geometry"]
    lon, lat = line[len(line) // 2]
    report(lat, lon, 30.0)
    r = trips.client.post(f"/v1/vehicles/{CHOOSER}/trips/{plan['id']}/check", headers=ops)
    c = r.json()["check"]
    assert c["off_route_m"] < 150 and c["target_name"] == via[0]
    assert c["planned_soc"] == pytest.approx(alt["stops"][0]["arrival_soc"], abs=0.01)
    # an index out of range names the valid ones; an unknown trip is 404; another car's
    # driver cannot choose
    n = len(followed["alternatives"])
    r = follow(plan["id"], n)
    assert r.status_code == 422 and f"0 to {n - 1}" in r.text, r.text
    assert follow(f"{CHOOSER}-1", 0).status_code == 404
    assert follow(plan["id"], 0, bearer(trips.driver_of_small)).status_code in (403, 404)
    # following the fastest again is the trip as planned
    back = follow(plan["id"], followed["alternatives"].index(fastest)).json()["plan"]
    assert back == plan
    # arrived: no longer the trip the car is on
    report(trips.east["lat"], trips.east["lon"], 12.0)
    trips.client.post(f"/v1/vehicles/{CHOOSER}/trips/{plan['id']}/check", headers=ops)
    assert follow(plan["id"], 0).status_code == 409
