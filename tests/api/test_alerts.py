"""Alerts over HTTP: the fleet route (operators), a vehicle's own route."""

from __future__ import annotations

from volta.clock import wall_ms

from .conftest import SOC, UNREGISTERED, VIN, VIN2, Api, batch, bearer

DTC_LIST = "Vehicle.Diagnostics.DTCList"
REAR_LEFT = "Vehicle.Chassis.Axle.Row2.Wheel.Left.Tire.Pressure"


def _send(api: Api) -> int:
    ts = wall_ms() - 5_000
    body = batch([[1000, DTC_LIST, ["C1A02"]], [0, REAR_LEFT, 170], [1000, SOC, 60.0]], ts=ts)
    assert api.post_batch(body).status_code == 200
    low = batch([[0, SOC, 8.0]], vin=VIN2, ts=ts - 60_000)
    assert api.post_batch(low, vin=VIN2, token=api.other_vehicle).status_code == 200
    return ts


def test_an_operator_sees_every_vehicles_alerts_newest_first(api: Api) -> None:
    ts = _send(api)
    r = api.client.get("/v1/alerts", headers=bearer(api.operator))
    assert r.status_code == 200
    body = r.json()
    assert body["counts"] == {"critical": 1, "warning": 2}
    assert [(a["vin"], a["kind"], a["severity"], a["value"]) for a in body["alerts"]] == [
        (VIN, "dtc", "critical", "C1A02"),
        (VIN, "tyre_pressure", "warning", 170),
        (VIN2, "low_soc", "warning", 8.0),
    ]
    first, tyre, _ = body["alerts"]
    assert first["since_ms"] == ts + 1000 and first["signal"] == DTC_LIST
    assert first["message"] == "Trouble code C1A02: Tyre pressure low, rear left"
    assert tyre["since_ms"] == ts
    assert tyre["message"] == "Rear-left tyre at 170 kPa (below 190 kPa)"


def test_filters_by_vehicle_and_severity(api: Api) -> None:
    _send(api)
    h = bearer(api.operator)
    one = api.client.get("/v1/alerts", params={"vin": VIN2}, headers=h).json()
    assert [a["kind"] for a in one["alerts"]] == ["low_soc"]
    critical = api.client.get("/v1/alerts", params={"severity": "critical"}, headers=h).json()
    assert [a["kind"] for a in critical["alerts"]] == ["dtc"]
    assert critical["counts"] == {"critical": 1, "warning": 0}
    r = api.client.get("/v1/alerts", params={"severity": "bad"}, headers=h)
    assert r.status_code == 422
    r = api.client.get("/v1/alerts", params={"vin": UNREGISTERED}, headers=h)
    assert r.status_code == 404


def test_no_alerts_is_an_empty_list(api: Api) -> None:
    body = api.client.get("/v1/alerts", headers=bearer(api.operator)).json()
    assert body["alerts"] == [] and body["counts"] == {"critical": 0, "warning": 0}


def test_the_fleet_route_needs_an_operator(api: Api) -> None:
    assert api.client.get("/v1/alerts", headers=bearer(api.vehicle)).status_code == 403
    r = api.client.get("/v1/alerts")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_a_vehicle_reads_its_own_alerts_only(api: Api) -> None:
    _send(api)
    r = api.client.get(f"/v1/vehicles/{VIN}/alerts", headers=bearer(api.vehicle))
    assert r.status_code == 200
    assert {a["vin"] for a in r.json()["alerts"]} == {VIN}
    assert len(r.json()["alerts"]) == 2
    other = api.client.get(f"/v1/vehicles/{VIN2}/alerts", headers=bearer(api.vehicle))
    assert other.status_code == 403
    assert api.client.get(f"/v1/vehicles/{VIN}/alerts").status_code == 401
    ops = api.client.get(f"/v1/vehicles/{VIN2}/alerts", headers=bearer(api.operator))
    assert [a["kind"] for a in ops.json()["alerts"]] == ["low_soc"]
