"""The statistics routes: per vehicle and per fleet, against the drives, charges and truth."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.servicekit.http import bearer, busiest
from tests.servicekit.pipeline import Fed
from volta.registry import Role


def test_stats_per_day_add_up_to_the_drives_and_charges(fed: Fed, fed_client: TestClient) -> None:
    vin = busiest(fed)
    op = bearer(fed.platform.registry.issue_token(Role.OPERATOR).token)
    drives = fed_client.get(f"/v1/vehicles/{vin}/drives", headers=op).json()["drives"]
    rows = fed_client.get(f"/v1/vehicles/{vin}/stats", headers=op).json()["rows"]
    assert sum(r["drives"] for r in rows) == len(drives)
    assert abs(sum(r["distance_m"] for r in rows) - sum(d["distance_m"] for d in drives)) < 1
    fleet = fed_client.get("/v1/stats", headers=op, params={"period": "month"}).json()["rows"]
    assert sum(r["drives"] for r in fleet) == len(fed.day.truth.drives)
    assert sum(r["charges"] for r in fleet) == len(fed.day.truth.charges)
    dc = sum(c.energy_into_battery_wh for c in fed.day.truth.charges if c.dc)
    assert abs(sum(r["dc_energy_wh"] for r in fleet) / dc - 1) < 0.01
    mine = bearer(fed.platform.registry.issue_token(Role.VEHICLE, vin).token)
    assert fed_client.get("/v1/stats", headers=mine).status_code == 403
