"""`/v1/vehicles/{vin}/diagnostics` and the fleet's reliability, through the real platform: a
car's batches go through the gateway and the bus to the diagnostics follower."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from volta.api import create_app
from volta.clock import wall_ms
from volta.diagnostics.fleet import FleetDiagnostics
from volta.diagnostics.store import DiagnosticsKeeper, SQLiteDiagnostics
from volta.platform import Platform
from volta.service.casebook import CaseQuery
from volta.service.desk import SYSTEM
from volta.service.model import CaseState

from .conftest import SOC, SPEED, VIN, Api, batch, bearer, make_settings

DTC_LIST = "Vehicle.Diagnostics.DTCList"
AMBIENT = "Vehicle.Exterior.AirTemperature"
FL = "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure"
RR = "Vehicle.Chassis.Axle.Row2.Wheel.Right.Tire.Pressure"
H = 3_600_000


def _get(api: Api, path: str) -> dict:  # type: ignore[type-arg]
    r = api.client.get(path, headers=bearer(api.operator))
    assert r.status_code == 200, r.text
    body: dict = r.json()  # type: ignore[type-arg]
    return body


def test_a_code_shows_decoded_with_its_freeze_frame_and_an_unknown_one_raw(api: Api) -> None:
    t = wall_ms() - 60_000
    samples = [[0, SPEED, 87.5], [0, SOC, 64.0], [1000, DTC_LIST, ["P1B10", "weird code!"]]]
    assert api.post_batch(batch(samples, seq=1, ts=t)).status_code == 200
    body = _get(api, f"/v1/vehicles/{VIN}/diagnostics")
    codes = {c["code"]: c for c in body["codes"]}
    p = codes["P1B10"]
    assert p["valid"] and p["active"] and p["system"] == "powertrain"
    assert p["origin"] == "manufacturer" and p["subsystem"] == "high-voltage battery"
    assert p["description"].startswith("HV battery cell voltages differ")
    assert p["freeze_frame"]["values"] == {SPEED: 87.5, SOC: 64.0}
    assert p["first_seen_ms"] == t + 1000 and p["occurrences"] == 1
    raw = codes["weird code!"]
    assert raw["valid"] is False and raw["system"] is None and raw["active"]
    # the car reports its list again without them: both clear
    assert api.post_batch(batch([[0, DTC_LIST, []]], seq=2, ts=t + 30_000)).status_code == 200
    after = {c["code"]: c for c in _get(api, f"/v1/vehicles/{VIN}/diagnostics")["codes"]}
    assert after["P1B10"]["active"] is False and after["P1B10"]["cleared_ms"] == t + 30_000


def test_a_leaking_tyre_is_predicted_with_its_evidence(api: Api) -> None:
    now = wall_ms()
    start = now - 30 * H
    for h in range(31):  # a sample every 10 min for 30 h, losing 6 kPa a day at 20 °C
        samples = [
            [m * 600_000, p, v]
            for m in range(6)
            for p, v in ((AMBIENT, 20.0), (FL, round(250.0 - 6.0 * (h + m / 6) / 24)))
            if h * H + m * 600_000 <= 30 * H
        ]
        assert api.post_batch(batch(samples, seq=h + 1, ts=start + h * H)).status_code == 200
    body = _get(api, f"/v1/vehicles/{VIN}/diagnostics")
    (pred,) = [p for p in body["predictions"] if p["kind"] == "tyre_leak" and p["active"]]
    assert pred["subject"] == "Front-left"
    fit = pred["evidence"]["fit"]
    assert 5.0 <= -fit["slope"] <= 7.0 and fit["n"] >= 20
    assert pred["eta_ms"] > now  # (242.5 - 200) / 6 days ahead, give or take the noise
    assert len(pred["evidence"]["points"]) == fit["n"]


def test_a_vehicle_without_data_has_an_empty_diagnosis(api: Api) -> None:
    body = _get(api, f"/v1/vehicles/{VIN}/diagnostics")
    assert body["codes"] == [] and body["predictions"] == []


def test_fleet_reliability_and_charging_faults_for_the_operator(api: Api) -> None:
    t = wall_ms() - 60_000
    api.post_batch(batch([[0, DTC_LIST, ["U1A40"]]], seq=1, ts=t))
    rel = _get(api, "/v1/fleet/reliability")
    assert rel["top_issues"][0]["code"] == "U1A40"
    assert rel["rates"][0]["model"] == "Model V"
    assert set(rel) == {"rates", "mean_km_between_faults", "top_issues", "software_links"}
    ch = _get(api, "/v1/fleet/charging-faults")
    assert ch == {"failures": 0, "chargers": [], "cars": [], "undecided": 0}


def test_any_code_can_be_looked_up_and_a_malformed_one_comes_back_raw(api: Api) -> None:
    assert (
        _get(api, "/v1/diagnostics/codes/C1A00")["description"] == "Tyre pressure low, front left"
    )
    bad = _get(api, "/v1/diagnostics/codes/NOPE")
    assert bad == {
        "code": "NOPE",
        "valid": False,
        "system": None,
        "origin": None,
        "subsystem": None,
        "failure_type": None,
        "description": None,
        "source": None,
    }


def test_diagnostics_survive_a_restart_and_a_scale_out_api_process_reads_them(api: Api) -> None:
    """Stopped and started again, the platform answers what it answered and goes on from
    there; an API process following scale-out workers answers the same from the kept state
    (here the data dir's diagnostics.sqlite; PostgreSQL in tests/integration)."""
    t = wall_ms() - 120_000
    samples = [[0, SPEED, 87.5], [0, SOC, 64.0], [1000, DTC_LIST, ["P1B10"]]]
    assert api.post_batch(batch(samples, seq=1, ts=t)).status_code == 200
    paths = (f"/v1/vehicles/{VIN}/diagnostics", "/v1/fleet/reliability")
    before = {path: _get(api, path) for path in paths}
    assert before[paths[0]]["codes"][0]["freeze_frame"]["values"] == {SPEED: 87.5, SOC: 64.0}
    api.platform.stop()
    data_dir = api.platform.settings.data_dir
    for follow_workers in (True, False):
        platform = Platform(make_settings(data_dir), follow_workers=follow_workers)
        platform.start()
        try:
            with TestClient(create_app(platform)) as client:
                again = Api(client, platform, api.operator, api.vehicle, api.other_vehicle)
                assert {path: _get(again, path) for path in paths} == before, follow_workers
                if follow_workers:
                    continue
                # the live one goes on: the code clears, comes back, still first seen at t
                for seq, codes in ((2, []), (3, ["P1B10"])):
                    body = batch([[0, DTC_LIST, codes]], seq=seq, ts=t + seq * 10_000)
                    assert again.post_batch(body).status_code == 200
                [code] = _get(again, paths[0])["codes"]
                assert code["occurrences"] == 2 and code["first_seen_ms"] == t + 1000
                assert code["freeze_frame"]["values"] == {SPEED: 87.5, SOC: 64.0}
        finally:
            platform.stop()


def test_a_prediction_the_processors_recorded_opens_one_case_in_the_scale_out_api(
    tmp_path: Path,
) -> None:
    """In scale-out the rules run in `volta processors` (here: a fleet kept in the data dir's
    diagnostics.sqlite, as they keep it); the API process's alert watch passes what they
    recorded to its service desk: a case opens once, and a restarted API process does not open
    it again once resolved, but does open one for a new prediction."""
    processors = DiagnosticsKeeper(SQLiteDiagnostics.open(tmp_path))
    fleet = FleetDiagnostics()

    def record(tyre: str, end_ms: int) -> None:  # 30 h of a tyre losing 8 kPa a day
        for h in range(30):
            kpa = round(240.0 - 8.0 * h / 24.0)
            fleet.feed(
                VIN, [(end_ms - (29 - h) * H, AMBIENT, 20.0), (end_ms - (29 - h) * H, tyre, kpa)]
            )
        processors.write(processors.collect(fleet, {VIN}))

    def api_process() -> Platform:
        platform = Platform(make_settings(tmp_path), follow_workers=True)
        platform.start()
        return platform

    def cases(platform: Platform) -> list[tuple[str, str]]:
        assert platform.service is not None
        found = platform.service.cases.find(CaseQuery(vin=VIN, active=False))
        return sorted((c.problem_key, c.state.value) for c in found)

    record(FL, wall_ms() - 60_000)
    platform = api_process()
    try:
        platform.registry.add_vehicle(VIN, "Model V")
        platform.alerts.sync()
        platform.alerts.sync()  # nothing new: nothing passed on again
        assert cases(platform) == [("tyre:front-left", "open")]
        assert platform.intake is not None
        assert (platform.intake.opened, platform.intake.attached) == (1, 0)
        assert platform.service is not None
        [case] = platform.service.cases.find(CaseQuery(vin=VIN))
        for state in (CaseState.TRIAGED, CaseState.RESOLVED):
            platform.service.transition(case.id, state, SYSTEM)
    finally:
        platform.stop()
    platform = api_process()
    try:
        platform.alerts.sync()
        assert cases(platform) == [("tyre:front-left", "resolved")]
        record(RR, wall_ms() - 30_000)  # the processors go on: another tyre leaks
        platform.alerts.sync()
        assert cases(platform) == [("tyre:front-left", "resolved"), ("tyre:rear-right", "open")]
    finally:
        platform.stop()
        processors.table.close()
