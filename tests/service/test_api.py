"""The after-sales API as each kind of person uses it: a technician works only their
organisation's cases, a driver sees and books for their own car, illegal moves and taken or
closed slots answer 409 with what is possible, a recall filter matching nothing is a 200 with
a warning, and every change is in the audit log with what it was about."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.security.conftest import VIN, VIN2, bearer, make_settings, populate, sign_in
from tests.service.leak import leaking_tyre, software_version, trouble_code
from volta.api import create_app
from volta.clock import wall_ms
from volta.ingest.inproc import InProcessTransport
from volta.platform import Platform

WEEKDAYS = {
    d: [["08:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")
}


@dataclass
class Api:
    client: TestClient
    headers: dict[str, dict[str, str]]
    workshops: dict[str, str]
    platform: Platform

    def call(self, who: str, method: str, path: str, **kw: Any) -> Any:
        return self.client.request(method, path, headers=self.headers[who], **kw)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    platform = Platform(make_settings(tmp_path_factory.mktemp("service-api")))
    platform.start()
    populate(platform.registry)
    with TestClient(create_app(platform)) as client:
        headers = {n: bearer(sign_in(client, n)) for n in ("olga", "tove", "sami", "dana", "erik")}
        workshops = {}
        for org in ("north", "south"):
            r = client.post("/v1/workshops", headers=headers["olga"], json={
                "name": f"{org} garage", "organisation": org, "bays": 1, "slot_minutes": 60,
                "timezone": "UTC", "hours": WEEKDAYS})  # fmt: skip
            assert r.status_code == 201, r.text
            workshops[org] = r.json()["id"]
        yield Api(client, headers, workshops, platform)
    platform.stop()


def _open(api: Api, who: str, vin: str, key: str, **extra: Any) -> Any:
    body = {"vin": vin, "problem_key": key, "title": f"{key} on {vin}", **extra}
    return api.call(who, "POST", "/v1/cases", json=body)


def test_a_technician_never_sees_another_organisations_cases(api: Api) -> None:
    north = _open(api, "tove", VIN, "dtc:P0A80", severity="critical").json()
    south = _open(api, "sami", VIN2, "dtc:P0A80").json()
    assert north["organisation"] == "north" and south["organisation"] == "south"
    listed = api.call("tove", "GET", "/v1/cases").json()["cases"]
    assert {c["id"] for c in listed} >= {north["id"]} and south["id"] not in {
        c["id"] for c in listed
    }
    assert all(c["organisation"] == "north" for c in listed)
    for method, path, body in (
        ("GET", f"/v1/cases/{south['id']}", None),
        ("POST", f"/v1/cases/{south['id']}/transitions", {"to": "triaged"}),
        ("POST", f"/v1/cases/{south['id']}/notes", {"text": "peek"}),
        (
            "POST",
            f"/v1/cases/{south['id']}/lines",
            {"kind": "part", "description": "x", "quantity": 1},
        ),
        ("GET", f"/v1/workshops/{api.workshops['south']}/queue", None),
        ("GET", f"/v1/workshops/{api.workshops['south']}/slots", None),
    ):
        r = api.call("tove", method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
    assert api.call("tove", "GET", f"/v1/vehicles/{VIN2}/cases").status_code == 403
    assert _open(api, "tove", VIN2, "manual:x").status_code == 403
    # The south technician's case is untouched; the operator sees both.
    assert api.call("sami", "GET", f"/v1/cases/{south['id']}").json()["state"] == "open"
    every = {
        c["id"] for c in api.call("olga", "GET", "/v1/cases", params={"limit": 500}).json()["cases"]
    }
    assert {north["id"], south["id"]} <= every


def test_illegal_transition_is_409_naming_the_allowed(api: Api) -> None:
    case = _open(api, "tove", VIN, "manual:squeak").json()
    r = api.call("tove", "POST", f"/v1/cases/{case['id']}/transitions", json={"to": "resolved"})
    assert r.status_code == 409
    assert r.json()["error"] == "illegal_transition"
    assert r.json()["allowed"] == ["triaged", "cancelled"] == case["allowed_transitions"]
    assert (
        api.call(
            "dana", "POST", f"/v1/cases/{case['id']}/transitions", json={"to": "triaged"}
        ).status_code
        == 403
    )  # drivers do not work cases
    r = api.call(
        "tove",
        "POST",
        f"/v1/cases/{case['id']}/transitions",
        json={"to": "triaged", "note": "seen"},
    )
    assert r.status_code == 200 and r.json()["state"] == "triaged"
    allowed = ["in_service", "resolved", "no_fault_found", "cancelled"]
    assert r.json()["allowed_transitions"] == allowed
    r = api.call("tove", "POST", f"/v1/cases/{case['id']}/transitions", json={"to": "flying"})
    assert r.status_code == 422


def test_a_driver_books_moves_and_cancels_for_their_own_car(api: Api) -> None:
    case = _open(api, "dana", VIN, "manual:brakes", severity="warning")
    assert case.status_code == 201, case.text
    cid = case.json()["id"]
    again = _open(api, "dana", VIN, "manual:brakes")
    assert again.status_code == 200 and again.json()["attached"] and again.json()["id"] == cid
    mine = api.call("dana", "GET", f"/v1/vehicles/{VIN}/cases").json()["cases"]
    assert cid in {c["id"] for c in mine}
    assert api.call("erik", "GET", f"/v1/cases/{cid}").status_code == 404
    ws = api.workshops["north"]
    slots = api.call("dana", "GET", f"/v1/workshops/{ws}/slots", params={"limit": 3}).json()[
        "slots"
    ]
    first, second = slots[0]["start_ms"], slots[1]["start_ms"]
    booked = api.call(
        "dana",
        "POST",
        "/v1/appointments",
        json={"case_id": cid, "workshop_id": ws, "start_ms": first},
    )
    assert booked.status_code == 201, booked.text
    appt = booked.json()
    assert api.call("dana", "GET", f"/v1/cases/{cid}").json()["state"] == "appointment_booked"
    # Someone else wants the same one-bay slot: 409 with the next free ones.
    other = _open(api, "tove", VIN, "dtc:B1A10").json()
    taken = api.call(
        "tove",
        "POST",
        "/v1/appointments",
        json={"case_id": other["id"], "workshop_id": ws, "start_ms": first},
    )
    assert taken.status_code == 409 and taken.json()["error"] == "slot_unavailable"
    assert taken.json()["next_free"][0]["start_ms"] == second
    closed = _next_sunday_3am()
    outside = api.call(
        "tove",
        "POST",
        "/v1/appointments",
        json={"case_id": other["id"], "workshop_id": ws, "start_ms": closed},
    )
    assert outside.status_code == 409 and "no slot starting" in outside.json()["message"]
    assert outside.json()["next_free"], "alternatives after the closed time"
    off_grid = api.call(
        "tove",
        "POST",
        "/v1/appointments",
        json={"case_id": other["id"], "workshop_id": ws, "start_ms": second + 1_800_000},
    )
    assert off_grid.status_code == 409
    moved = api.call(
        "dana", "POST", f"/v1/appointments/{appt['id']}/move", json={"start_ms": second}
    )
    assert moved.status_code == 200 and moved.json()["start_ms"] == second
    assert api.call("erik", "DELETE", f"/v1/appointments/{appt['id']}").status_code == 404
    gone = api.call("dana", "DELETE", f"/v1/appointments/{appt['id']}")
    assert gone.status_code == 200 and gone.json()["state"] == "cancelled"
    assert api.call("dana", "GET", f"/v1/cases/{cid}").json()["state"] == "open"
    # The freed slot is bookable again.
    rebook = api.call(
        "tove",
        "POST",
        "/v1/appointments",
        json={"case_id": other["id"], "workshop_id": ws, "start_ms": first},
    )
    assert rebook.status_code == 201
    queue = api.call("tove", "GET", f"/v1/workshops/{ws}/queue").json()["cases"]
    # The workshop's queue: both cases, the next deadline first (the open case's triage).
    assert [c["id"] for c in queue] == [cid, other["id"]]
    assert [c["state"] for c in queue] == ["open", "appointment_booked"]


def test_a_recall_filter_matching_nothing_is_200_with_a_warning(api: Api) -> None:
    r = api.call("olga", "POST", "/v1/recalls/preview", json={"models": ["Model Nothing"]})
    assert r.status_code == 200
    assert r.json()["vehicles"] == 0 and r.json()["vins"] == [] and r.json()["warnings"]
    created = api.call(
        "olga",
        "POST",
        "/v1/recalls",
        json={"title": "none", "remedy": "x", "filter": {"models": ["Model Nothing"]}},
    )
    assert created.status_code == 201 and created.json()["vehicles"] == 0
    assert "matches no registered vehicle" in created.json()["warnings"][0]
    empty = api.call("olga", "POST", "/v1/recalls/preview", json={})
    assert empty.status_code == 400 and "at least one criterion" in empty.json()["message"]
    bad = api.call("olga", "POST", "/v1/recalls/preview", json={"build_from": "last spring"})
    assert bad.status_code == 400 and "ISO date" in bad.json()["message"]
    assert (
        api.call("tove", "POST", "/v1/recalls/preview", json={"models": ["x"]}).status_code == 403
    )


def test_case_changes_are_in_the_audit_log_with_their_case(api: Api) -> None:
    case = _open(api, "tove", VIN, "manual:audit").json()
    api.call("tove", "POST", f"/v1/cases/{case['id']}/transitions", json={"to": "cancelled"})
    entries = api.call("olga", "GET", "/v1/audit", params={"target": case["id"]}).json()
    found = [(e["actor"], e["action"], e["status"]) for e in entries["entries"]]
    assert ("tove", "POST /v1/cases/{case_id}/transitions", 200) in found
    history = api.call("tove", "GET", f"/v1/cases/{case['id']}").json()["events"]
    assert [(e["kind"], e["actor"]) for e in history] == [
        ("opened", "tove"),
        ("transition", "tove"),
    ]


def _next_sunday_3am() -> int:
    now = datetime.now(UTC)
    day = now + timedelta(days=(6 - now.weekday()) % 7 or 7)
    return int(day.replace(hour=3, minute=0, second=0, microsecond=0).timestamp() * 1000)


# -- cases opened by the alert sources, on the embedded platform ------------------------------


def _publish(api: Api, vin: str, payloads: list[bytes]) -> None:
    results = InProcessTransport(api.platform.gateway).publish_many([(vin, p) for p in payloads])
    assert all(r.accepted for r in results), "the batches should be stored"


def _queue(api: Api, who: str, key: str) -> list[dict[str, Any]]:
    cases = api.call(who, "GET", "/v1/cases").json()["cases"]
    return [c for c in cases if c["problem_key"] == key]


def test_a_trouble_code_opens_a_case_in_the_technicians_queue_and_repeats_attach(
    api: Api,
) -> None:
    now = wall_ms()
    _publish(api, VIN, [trouble_code(VIN, now - 60_000, ["P0AA6"], 10**9)])
    api.platform.alerts.sync()  # what its timer does every 10 s
    [case] = _queue(api, "tove", "dtc:P0AA6")
    assert (case["vin"], case["source"], case["severity"]) == (VIN, "alert", "critical")
    assert case["title"].startswith("Trouble code P0AA6") and case["alert_count"] == 1
    assert _queue(api, "sami", "dtc:P0AA6") == []  # another organisation's technician
    # the code clears and comes back: the same open case, counted twice
    _publish(api, VIN, [trouble_code(VIN, now - 30_000, [], 10**9 + 1)])
    api.platform.alerts.sync()
    _publish(api, VIN, [trouble_code(VIN, now, ["P0AA6"], 10**9 + 2)])
    api.platform.alerts.sync()
    [again] = _queue(api, "tove", "dtc:P0AA6")
    assert again["id"] == case["id"] and again["alert_count"] == 2
    detail = api.call("tove", "GET", f"/v1/cases/{case['id']}").json()
    assert [e["kind"] for e in detail["events"]].count("alert") >= 1


def test_a_predicted_tyre_leak_opens_a_case_before_the_pressure_alert(api: Api) -> None:
    _publish(api, VIN2, leaking_tyre(VIN2, wall_ms() - 60_000))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the follower feeds diagnostics from the bus
        report = api.call("olga", "GET", f"/v1/vehicles/{VIN2}/diagnostics").json()
        if any(p["active"] for p in report["predictions"]):
            break
        time.sleep(0.05)
    [leak] = [p for p in report["predictions"] if p["kind"] == "tyre_leak"]
    assert leak["active"] and leak["subject"] == "Front-left"
    api.platform.alerts.sync()
    [case] = _queue(api, "sami", "tyre:front-left")
    assert case["vin"] == VIN2 and case["source"] == "alert" and case["severity"] == "warning"
    assert "losing" in case["title"]
    assert _queue(api, "tove", "tyre:front-left") == []
    # nothing else of this car needs a workshop: its tyres read 230 kPa, no alert in the log
    assert [c["problem_key"] for c in api.call("sami", "GET", f"/v1/vehicles/{VIN2}/cases")
            .json()["cases"] if c["source"] == "alert"] == ["tyre:front-left"]  # fmt: skip


def test_a_recall_is_completed_by_its_fixed_software_reported_in_telemetry(api: Api) -> None:
    body = {"title": "BMS contactor fix", "remedy": "bms-flash", "filter": {"models": ["Model V"]},
            "fix": {"ecu": "BMS", "version": "2.4.1"}}  # fmt: skip
    created = api.call("olga", "POST", "/v1/recalls", json=body)
    assert created.status_code == 201, created.text
    recall = created.json()
    assert recall["fix"] == {"ecu": "BMS", "version": "2.4.1"} and recall["completed"] == 0
    now = wall_ms()
    _publish(api, VIN, [software_version(VIN, now, "BMS", "2.4.1", 2 * 10**9)])
    _publish(api, VIN2, [software_version(VIN2, now, "BMS", "2.4.1-rc.1", 2 * 10**9)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the twin follows the gateway's commits on the bus
        got = api.call("olga", "GET", f"/v1/recalls/{recall['id']}/vehicles").json()["vehicles"]
        if any(v["completed_ms"] for v in got):
            break
        time.sleep(0.05)
    state = {v["vin"]: (v["completed_via"], v["completed_ms"]) for v in got}
    assert state == {VIN: ("software", now), VIN2: (None, None)}  # rc < 2.4.1
    assert api.call("olga", "GET", f"/v1/recalls/{recall['id']}").json()["completed"] == 1
    points = api.call("olga", "GET", f"/v1/recalls/{recall['id']}/progress").json()["points"]
    assert (points[-1]["total"], points[-1]["completed"]) == (2, 1)
    # The car done by software gets no case; the other one does, and its remedy completes it.
    opened = api.call("olga", "POST", f"/v1/recalls/{recall['id']}/cases").json()
    assert opened["count"] == 1
    bad = api.call("olga", "POST", "/v1/recalls", json={**body, "fix": {"ecu": "BMS",
                   "version": "two"}})  # fmt: skip
    assert bad.status_code == 400 and "version" in bad.json()["message"]
    unknown = api.call("olga", "POST", "/v1/recalls", json={**body, "fix": {"ecu": "Toaster",
                       "version": "1.0.0"}})  # fmt: skip
    assert unknown.status_code == 400 and "Toaster" in unknown.json()["message"]
