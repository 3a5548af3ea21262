"""The alert log over HTTP: an alert is raised by the sample that shows it, cleared by the one
that shows it gone, acknowledged once by an operator (who, when, note; audited), and the
history filters by state and time and pages."""

from __future__ import annotations

from volta.clock import wall_ms

from .conftest import SOC, VIN, VIN2, Api, batch, bearer

DTC_LIST = "Vehicle.Diagnostics.DTCList"
FRONT_LEFT = "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure"


def _alerts(api: Api, **params: object) -> dict[str, object]:
    r = api.client.get("/v1/alerts", params=params, headers=bearer(api.operator))
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def _rows(body: dict[str, object]) -> list[dict[str, object]]:
    rows = body["alerts"]
    assert isinstance(rows, list)
    return rows


def test_an_alert_is_raised_and_cleared_at_the_times_of_the_samples_that_show_it(
    api: Api,
) -> None:
    t0 = wall_ms() - 60_000
    assert api.post_batch(batch([[0, FRONT_LEFT, 180]], seq=1, ts=t0)).status_code == 200
    [open_] = _rows(_alerts(api))
    assert open_["kind"] == "tyre_pressure" and open_["key"] == "front-left"
    assert open_["state"] == "active" and open_["raised_ms"] == t0
    assert open_["cleared_ms"] is None and open_["acknowledged"] is None
    # Still low a little later: the same alert, not a second one; its value follows the car.
    assert api.post_batch(batch([[0, FRONT_LEFT, 175]], seq=2, ts=t0 + 10_000)).status_code == 200
    [same] = _rows(_alerts(api))
    assert same["id"] == open_["id"] and same["value"] == 175 and same["raised_ms"] == t0
    # Inflated: cleared at the time of that sample, gone from the open list, kept in history.
    assert api.post_batch(batch([[0, FRONT_LEFT, 250]], seq=3, ts=t0 + 20_000)).status_code == 200
    assert _rows(_alerts(api)) == []
    [cleared] = _rows(_alerts(api, state="cleared"))
    assert cleared["id"] == open_["id"] and cleared["state"] == "cleared"
    assert cleared["cleared_ms"] == t0 + 20_000
    # Low again: a new alert with a new id.
    assert api.post_batch(batch([[0, FRONT_LEFT, 185]], seq=4, ts=t0 + 30_000)).status_code == 200
    [again] = _rows(_alerts(api))
    assert again["id"] != open_["id"] and again["raised_ms"] == t0 + 30_000
    assert [a["id"] for a in _rows(_alerts(api, state=["active", "cleared"]))] == [
        again["id"],
        open_["id"],
    ]


def test_an_operator_acknowledges_an_alert_once_with_a_note_and_it_is_audited(api: Api) -> None:
    assert api.post_batch(batch([[0, DTC_LIST, ["C1A02"]]])).status_code == 200
    [alert] = _rows(_alerts(api))
    h = bearer(api.operator)
    r = api.client.post(
        f"/v1/alerts/{alert['id']}/ack", json={"note": "booked tyre service"}, headers=h
    )
    assert r.status_code == 200, r.text
    acked = r.json()
    assert acked["state"] == "acknowledged"
    assert acked["acknowledged"]["note"] == "booked tyre service"
    assert abs(acked["acknowledged"]["ms"] - wall_ms()) < 60_000
    operator_id = api.platform.registry.authenticate(api.operator)
    assert operator_id is not None
    assert acked["acknowledged"]["by"] == operator_id.actor
    # It stays open (the car still reports the code) but is no longer active.
    assert _rows(_alerts(api, state="active")) == []
    assert [a["id"] for a in _rows(_alerts(api, state="acknowledged"))] == [alert["id"]]
    again = api.client.post(f"/v1/alerts/{alert['id']}/ack", json={}, headers=h)
    assert again.status_code == 409 and operator_id.actor in again.json()["message"]
    audit = api.client.get("/v1/audit", params={"action": "POST /v1/alerts"}, headers=h).json()
    statuses = [(e["target"], e["status"]) for e in audit["entries"]]
    assert statuses == [(str(alert["id"]), 409), (str(alert["id"]), 200)]


def test_acknowledging_needs_an_operator_and_an_alert_that_exists(api: Api) -> None:
    assert api.post_batch(batch([[0, SOC, 7.0]])).status_code == 200
    [alert] = _rows(_alerts(api))
    r = api.client.post(f"/v1/alerts/{alert['id']}/ack", headers=bearer(api.vehicle))
    assert r.status_code == 403
    r = api.client.post("/v1/alerts/999999/ack", headers=bearer(api.operator))
    assert r.status_code == 404 and "no alert 999999" in r.json()["message"]
    for bad in ("abc", "0", str(2**64)):
        assert (
            api.client.post(f"/v1/alerts/{bad}/ack", headers=bearer(api.operator)).status_code
            == 422
        )
    long_note = {"note": "x" * 501}
    r = api.client.post(
        f"/v1/alerts/{alert['id']}/ack", json=long_note, headers=bearer(api.operator)
    )
    assert r.status_code == 422 and "note" in r.json()["message"]


def test_a_rise_in_severity_makes_an_acknowledged_alert_active_again(api: Api) -> None:
    t0 = wall_ms() - 30_000
    assert api.post_batch(batch([[0, FRONT_LEFT, 180]], seq=1, ts=t0)).status_code == 200
    [alert] = _rows(_alerts(api))
    api.client.post(f"/v1/alerts/{alert['id']}/ack", headers=bearer(api.operator))
    assert api.post_batch(batch([[0, FRONT_LEFT, 140]], seq=2, ts=t0 + 1000)).status_code == 200
    [now] = _rows(_alerts(api))
    assert now["id"] == alert["id"] and now["severity"] == "critical"
    assert now["state"] == "active" and now["acknowledged"] is None


def test_history_filters_by_time_and_pages_newest_first(api: Api) -> None:
    t0 = wall_ms() - 600_000
    # Five alerts raised and cleared one after another (10 s open each), then one still open.
    for i in range(5):
        ts = t0 + i * 60_000
        assert api.post_batch(batch([[0, SOC, 5.0]], seq=2 * i + 1, ts=ts)).status_code == 200
        _alerts(api)
        assert (
            api.post_batch(batch([[0, SOC, 50.0]], seq=2 * i + 2, ts=ts + 10_000)).status_code
            == 200
        )
        _alerts(api)
    everything = ["active", "acknowledged", "cleared"]
    all_ = _alerts(api, state=everything)
    assert all_["total"] == 5 and all_["counts"] == {"critical": 0, "warning": 5}
    raised = [a["raised_ms"] for a in _rows(all_)]
    assert raised == [t0 + i * 60_000 for i in (4, 3, 2, 1, 0)]
    # Open at some time in [t0 + 65 s, t0 + 130 s): the second and the third.
    window = _alerts(api, state=everything, **{"from": t0 + 65_000, "to": t0 + 130_000})
    assert [a["raised_ms"] for a in _rows(window)] == [t0 + 120_000, t0 + 60_000]
    iso = _alerts(api, state="cleared", to="1970-01-01T00:00:01Z")
    assert iso["total"] == 0
    # Pages of two: 2 + 2 + 1, the cursor given back each time, none repeated.
    seen: list[int] = []
    page = _alerts(api, state=everything, limit=2)
    while True:
        seen += [int(str(a["raised_ms"])) for a in _rows(page)]
        if page["next_before"] is None:
            break
        page = _alerts(api, state=everything, limit=2, before=page["next_before"])
    assert seen == raised


def test_bad_history_queries_are_refused_with_the_reason(api: Api) -> None:
    h = bearer(api.operator)
    cases = {
        "state=open": 422,
        "from=yesterday": 400,
        "from=2026-02-01&to=2026-01-01": 400,
        "before=12": 400,
        "limit=0": 422,
    }
    for query, status in cases.items():
        r = api.client.get(f"/v1/alerts?{query}", headers=h)
        assert r.status_code == status, (query, r.text)
        assert r.json()["message"]


def test_a_vehicle_reads_its_own_alert_history(api: Api) -> None:
    assert api.post_batch(batch([[0, SOC, 5.0]])).status_code == 200
    low = batch([[0, SOC, 4.0]], vin=VIN2)
    assert api.post_batch(low, vin=VIN2, token=api.other_vehicle).status_code == 200
    r = api.client.get(
        f"/v1/vehicles/{VIN}/alerts", params={"state": "active"}, headers=bearer(api.vehicle)
    )
    assert r.status_code == 200
    assert [a["vin"] for a in r.json()["alerts"]] == [VIN]
