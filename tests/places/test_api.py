"""`/v1/places` and `/v1/vehicles/{vin}/places`: who may do what, validation, and stored
drives and charges following a change of places (tags and cost)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from volta.api import create_app
from volta.charging.core import detect_charges
from volta.config import Settings
from volta.places.roads import road_names
from volta.platform import Platform
from volta.registry import Role

from .synth import LAT, LON, charge_cols

VIN = "JHMZZ1A1XRV000001"
VIN2 = "JHMZZ1A1XRV000002"
TARIFF: dict[str, Any] = {
    "price_per_kwh": 0.2,
    "currency": "EUR",
    "timezone": "Europe/Helsinki",
    "windows": [{"start": "22:00", "end": "07:00", "price_per_kwh": 0.05}],
}
HOME: dict[str, Any] = {"name": "Home", "lat": LAT, "lon": LON, "radius_m": 80, "tariff": TARIFF}


@dataclass
class Api:
    client: TestClient
    platform: Platform
    operator: dict[str, str]
    vehicle: dict[str, str]
    other: dict[str, str]


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    platform = Platform(Settings(data_dir=tmp_path, mqtt=None))
    vehicle = platform.registry.add_vehicle(VIN, "renault_zoe_ze50_2022").token.token
    other = platform.registry.add_vehicle(VIN2, "renault_zoe_ze50_2022").token.token
    operator = platform.registry.issue_token(Role.OPERATOR).token
    with TestClient(create_app(platform)) as client:
        yield Api(client, platform, _h(operator), _h(vehicle), _h(other))
    platform.stop()


def _store_a_charge(api: Api) -> None:
    """A 2 h, 11 kW charge at (LAT, LON) from 21:30 Helsinki time, stored untagged."""
    start = int(datetime(2026, 1, 5, 19, 30, tzinfo=UTC).timestamp() * 1000)
    [c] = detect_charges(VIN, charge_cols(start, start + 7_200_000, 11.0), 2**62)
    api.platform.derived.upsert("charge", [c])


def _charges(api: Api) -> list[dict[str, Any]]:
    r = api.client.get(f"/v1/vehicles/{VIN}/charges", headers=api.operator)
    assert r.status_code == 200
    return r.json()["charges"]  # type: ignore[no-any-return]


def test_a_drivers_home_tags_and_prices_its_stored_charges(api: Api) -> None:
    _store_a_charge(api)
    [before] = _charges(api)
    assert before["place_id"] is None and before["cost"] is None
    assert before["place"] is None  # stored before any tagging
    r = api.client.post(f"/v1/vehicles/{VIN}/places", json=HOME, headers=api.vehicle)
    assert r.status_code == 201, r.text
    place = r.json()
    assert place["vin"] == VIN and place["retagged"] == 1
    [after] = _charges(api)
    assert after["place"] == "Home" and after["place_id"] == place["id"]
    expected = 5.5 * 0.20 + 16.5 * 0.05
    assert after["cost"] == pytest.approx(expected, abs=1e-4) and after["currency"] == "EUR"
    stats = api.client.get(f"/v1/vehicles/{VIN}/stats", headers=api.vehicle).json()
    assert stats["rows"][0]["charge_cost"] == {"EUR": pytest.approx(expected, abs=1e-4)}
    # moved away: the charge is no longer at home, and is priced no more
    moved = {**HOME, "lat": LAT + 0.01}
    r = api.client.put(f"/v1/vehicles/{VIN}/places/{place['id']}", json=moved, headers=api.vehicle)
    assert r.status_code == 200 and r.json()["retagged"] == 1
    [again] = _charges(api)
    assert again["place_id"] is None and again["cost"] is None
    road = road_names().nearest(LAT, LON)
    assert road is not None and again["place"] == road  # the nearest named road instead
    assert (
        api.client.delete(
            f"/v1/vehicles/{VIN}/places/{place['id']}", headers=api.vehicle
        ).status_code
        == 200
    )
    assert api.client.get(f"/v1/vehicles/{VIN}/places", headers=api.vehicle).json()["places"] == []


def test_fleet_places_are_for_operators_and_seen_by_every_vehicle(api: Api) -> None:
    _store_a_charge(api)
    depot = {**HOME, "name": "Depot", "radius_m": 300}
    assert api.client.post("/v1/places", json=depot, headers=api.vehicle).status_code == 403
    r = api.client.post("/v1/places", json=depot, headers=api.operator)
    assert r.status_code == 201 and r.json()["vin"] is None and r.json()["retagged"] == 1
    pid = r.json()["id"]
    assert _charges(api)[0]["place"] == "Depot"
    for h, vin in ((api.vehicle, VIN), (api.other, VIN2)):
        names = [
            p["name"]
            for p in api.client.get(f"/v1/vehicles/{vin}/places", headers=h).json()["places"]
        ]
        assert names == ["Depot"]
    # a vehicle token cannot change or delete a fleet place, nor read another car's places
    assert (
        api.client.delete(f"/v1/vehicles/{VIN}/places/{pid}", headers=api.vehicle).status_code
        == 404
    )
    assert api.client.get(f"/v1/vehicles/{VIN2}/places", headers=api.vehicle).status_code == 403
    # the car's own home wins over the depot that also holds the point
    api.client.post(f"/v1/vehicles/{VIN}/places", json=HOME, headers=api.vehicle)
    assert _charges(api)[0]["place"] == "Home"
    listed = api.client.get("/v1/places", headers=api.operator).json()["places"]
    assert sorted(p["name"] for p in listed) == ["Depot", "Home"]
    assert api.client.delete(f"/v1/places/{pid}", headers=api.operator).status_code == 200
    assert api.client.get(f"/v1/places/{pid}", headers=api.operator).status_code == 404


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"radius_m": 0}, "radius_m"),
        ({"lat": 91}, "lat"),
        ({"tariff": {**TARIFF, "timezone": "Nowhere/City"}}, "time zone"),
        (
            {
                "tariff": {
                    **TARIFF,
                    "windows": [{"start": "22:05", "end": "06:00", "price_per_kwh": 0.1}],
                }
            },
            "quarter-hour",
        ),
        ({"vin": VIN2}, "not the path"),
    ],
)
def test_a_bad_place_is_refused_with_its_reason(
    api: Api, change: dict[str, Any], reason: str
) -> None:
    r = api.client.post(f"/v1/vehicles/{VIN}/places", json={**HOME, **change}, headers=api.vehicle)
    assert r.status_code in (400, 422), r.text
    assert reason in r.text
    assert api.platform.places.list() == []
