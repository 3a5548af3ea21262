"""Places, addresses and cost on the simulated fleet-day: homes and public chargers as places
with tariffs (tests/servicekit/pipeline.py), checked against where the cars truly were."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.servicekit.pipeline import AC_TARIFF, DC_TARIFF, HOME_RADIUS_M, HOME_TARIFF, Fed
from volta.api import create_app
from volta.charging.core import Charge
from volta.drives.core import Drive
from volta.places.core import distance_m
from volta.places.roads import road_names
from volta.registry import Role

ENERGY_TOLERANCE = 0.01
_HELSINKI = ZoneInfo("Europe/Helsinki")


def _match(got: list[Charge], start_ms: int) -> Charge:
    [c] = [c for c in got if abs(c.start_ms - start_ms) <= 60_000]
    return c


def _night(ts_ms: int) -> bool:
    h = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(_HELSINKI).hour
    return h >= 22 or h < 7


def test_charges_are_tagged_with_their_place_and_priced_by_its_tariff(fed: Fed) -> None:
    truth = fed.day.truth
    chargers = {ch.osm_id: ch for ch in fed.day.fleet.graph.chargers}
    kinds = set()
    for t in truth.charges:
        got = fed.platform.derived.list("charge", Charge, vin=t.vin, limit=10_000)
        c = _match(got, t.start_ms)
        kwh = t.energy_into_battery_wh / 1000.0
        assert c.currency == "EUR" and c.cost is not None, c
        if t.charger == "home":
            kinds.add("home")
            assert (c.place, c.place_id) == ("Home", f"home-{t.vin}")
            if _night(t.start_ms) == _night(t.end_ms) and t.end_ms - t.start_ms < 9 * 3_600_000:
                price = HOME_TARIFF.price_at(t.start_ms)  # the whole session in one window
                assert abs(c.cost / (kwh * price) - 1) <= ENERGY_TOLERANCE, (c, t)
            else:
                assert 0.08 * kwh * 0.99 <= c.cost <= 0.20 * kwh * 1.01
        else:
            kinds.add("public")
            ch = chargers[t.charger]
            assert (c.place, c.place_id) == (f"Charger {ch.osm_id}", f"charger-{ch.osm_id}")
            price = (DC_TARIFF if ch.dc else AC_TARIFF).price_per_kwh
            assert abs(c.cost / (kwh * price) - 1) <= ENERGY_TOLERANCE, (c, t)
    assert kinds == {"home", "public"}


def test_drives_start_and_end_at_places_or_named_roads(fed: Fed) -> None:
    truth = fed.day.truth
    homes = {v.vin: (v.home_lat, v.home_lon) for v in truth.vehicles}
    roads = road_names()
    at_home = on_road = same_road = 0
    for t in truth.drives:
        got = fed.platform.derived.list("drive", Drive, vin=t.vin, limit=10_000)
        [d] = [d for d in got if abs(d.start_ms - t.start_ms) <= 10_000]
        if distance_m(t.end_lat, t.end_lon, *homes[t.vin]) < HOME_RADIUS_M - 10:
            at_home += 1
            assert (d.end_place, d.end_place_id) == ("Home", f"home-{t.vin}")
        elif d.end_place_id is None:
            on_road += 1
            assert d.end_place is not None, d  # the city is full of named roads
            same_road += d.end_place == roads.nearest(t.end_lat, t.end_lon)
    assert at_home >= 10 and on_road >= 10, (at_home, on_road)
    # the measured position (GPS noise) names the road the car truly stood by
    assert same_road >= 0.9 * on_road, (same_road, on_road)


def test_fleet_stats_carry_the_cost_of_charging(fed: Fed) -> None:
    token = fed.platform.registry.issue_token(Role.OPERATOR).token
    client = TestClient(create_app(fed.platform))
    rows = client.get("/v1/stats", headers={"Authorization": f"Bearer {token}"}).json()["rows"]
    charges = fed.platform.derived.list("charge", Charge, limit=100_000)
    total = sum(c.cost or 0.0 for c in charges)
    assert total > 0
    assert abs(sum(r["charge_cost"].get("EUR", 0.0) for r in rows) - total) < 1e-3
    assert sum(r["uncosted_charges"] for r in rows) == 0
