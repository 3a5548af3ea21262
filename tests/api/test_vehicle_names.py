"""Operators name vehicles over the API (PATCH /v1/vehicles/{vin}): name, plate, group."""

from __future__ import annotations

from .conftest import VIN, VIN2, Api, bearer


def test_an_operator_names_a_vehicle_and_everyone_who_sees_it_reads_the_name(api: Api) -> None:
    h = bearer(api.operator)
    body = {"name": "Van 12", "plate": "abc-123", "group": "Depot North"}
    r = api.client.patch(f"/v1/vehicles/{VIN}", json=body, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["plate"], r.json()["group"]) == (
        "Van 12",
        "ABC-123",
        "Depot North",
    )
    own = api.client.get(f"/v1/vehicles/{VIN}", headers=bearer(api.vehicle)).json()
    assert own["name"] == "Van 12" and own["model"] == "Model V"
    listed = api.client.get("/v1/vehicles", headers=h).json()["vehicles"]
    assert [(v["vin"], v["group"]) for v in listed] == [(VIN, "Depot North"), (VIN2, None)]
    cleared = api.client.patch(f"/v1/vehicles/{VIN}", json={"group": None}, headers=h).json()
    assert cleared["group"] is None and cleared["name"] == "Van 12"
    # Refused with the reason: not an operator, a bad plate, an unknown field or vehicle.
    assert (
        api.client.patch(f"/v1/vehicles/{VIN}", json=body, headers=bearer(api.vehicle)).status_code
        == 403
    )
    bad = api.client.patch(f"/v1/vehicles/{VIN}", json={"plate": "a/b"}, headers=h)
    assert bad.status_code == 400 and "invalid plate" in bad.json()["message"]
    extra = api.client.patch(f"/v1/vehicles/{VIN}", json={"colour": "red"}, headers=h)
    assert extra.status_code == 422 and "colour" in extra.json()["message"]
    ghost = api.client.patch("/v1/vehicles/JHMZZ1A1XRV000099", json=body, headers=h)
    assert ghost.status_code == 404
    audit = api.client.get("/v1/audit", params={"action": "PATCH"}, headers=h).json()["entries"]
    assert [(e["target"], e["status"]) for e in audit][-1] == (VIN, 200)
