"""The after-sales pages in a real browser: the technician's workbench (their organisation's
queue by SLA, a case worked through its moves, notes and lines), a vehicle's diagnosis (decoded
codes with freeze frames, predictions with their trend plots, its cases), the driver's service
page (health, cases, booking, moving and cancelling a slot, a taken slot's alternatives) and
the operator's recall page. The cases on the workbench were opened by the platform itself from
an alert and a prediction of cars fed through the in-process transport."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.service.leak import leaking_tyre, trouble_code
from volta.errors import Conflict
from volta.wire import Batch, encode_msgpack

from .conftest import SCREENSHOTS, chromium_missing
from .server import Server

if chromium_missing():
    pytest.skip(f"browser tests skipped: {chromium_missing()}", allow_module_level=True)

from playwright.sync_api import Page, expect

from volta.clock import wall_ms
from volta.registry import Role
from volta.service.casebook import CaseQuery
from volta.service.model import Actor, CaseState

from .test_dashboard import sign_in, sign_in_with_password

pytestmark = pytest.mark.slow

N1, N2, S1 = "JHMZZ1A1XRV555001", "JHMZZ1A1XRV555002", "JHMZZ1A1XRV555003"  # no other test's
MODEL = "Volta Service V"
ALL_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OPERATOR = Actor("web-test", "operator")


@dataclass
class Service:
    north: str  # the north workshop's id
    tech: str  # password of the north technician "web-tech-north"
    driver: str  # password of N1's driver "web-svc-driver"
    south_case: str


def api(server: Server, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
    r = httpx.request(
        method,
        f"{server.url}{path}",
        headers={"Authorization": f"Bearer {token or server.operator}"},
        **kw,
    )
    r.raise_for_status()
    return r.json()


def _person(
    server: Server,
    name: str,
    role: Role,
    *,
    vins: tuple[str, ...] = (),
    organisation: str | None = None,
) -> str:
    """A user of the shared server (made once) and their password."""
    password = f"{name}-password-for-the-browser"
    with contextlib.suppress(Conflict):
        server.platform.registry.add_user(name, role, password, organisation)
    for vin in vins:
        server.platform.registry.assign(name, vin)
    return password


def _publish(server: Server, vin: str, payloads: list[bytes]) -> None:
    """As one commit (the car catching up after a while offline)."""
    results = server.transport.publish_many([(vin, p) for p in payloads])
    assert all(r.accepted for r in results)


@pytest.fixture(scope="module")
def service(server: Server) -> Service:
    """Three cars of two service organisations; N1 has a leaking tyre and a trouble code
    (with speed and charge at that moment), which open cases by themselves."""
    reg, desk = server.platform.registry, server.platform.service
    assert desk is not None
    for vin, org, built in ((N1, "north", "2025-03-01"), (N2, "north", "2025-09-01"),
                            (S1, "south", "2025-03-05")):  # fmt: skip
        with contextlib.suppress(Conflict):
            reg.add_vehicle(vin, MODEL, {"build_date": built}, organisation=org)
    now = wall_ms()
    _publish(server, N1, leaking_tyre(N1, now - 120_000))
    soc = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
    samples: list[Any] = [(0, "Vehicle.Speed", 42.0), (0, soc, 63.5)]
    speed = Batch(v=1, vin=N1, seq=8 * 10**9, ts=now - 60_000, samples=samples)
    code = trouble_code(N1, now - 59_000, ["P0AA6"], 8 * 10**9 + 1)
    _publish(server, N1, [encode_msgpack(speed), code])
    deadline = time.monotonic() + 15
    while True:  # the diagnostics follower reads the stored batches from the bus
        report = server.platform.diagnostics.report(N1)
        ready = (
            report is not None
            and report["codes"]
            and any(p["active"] for p in report["predictions"])
        )
        if ready or time.monotonic() > deadline:
            assert ready, f"diagnostics of {N1} not ready: {report and report['predictions']}"
            break
        time.sleep(0.05)
    while True:  # what the alert watch's 10 s timer does: the alert log, then the cases
        server.platform.alerts.sync()
        keys = {c.problem_key for c in desk.cases.find(CaseQuery(vin=N1))}
        if keys >= {"dtc:P0AA6", "tyre:front-left"} or time.monotonic() > deadline:
            assert keys >= {"dtc:P0AA6", "tyre:front-left"}, keys
            break
        time.sleep(0.05)
    south, _ = desk.open_case(S1, "dtc:P0A80", "South's own trouble", "critical", OPERATOR)
    north = next((w.id for w in desk.bookings.workshops(frozenset({"north"}))), None)
    if north is None:
        north = desk.add_workshop("North garage", "north", 1, 60, "UTC", ALL_DAY).id
    desk.open_case(N2, "dtc:P0A80", "Another car of north", "warning", OPERATOR)
    tech = _person(server, "web-tech-north", Role.TECHNICIAN, organisation="north")
    driver = _person(server, "web-svc-driver", Role.DRIVER, vins=(N1,))
    return Service(north, tech, driver, south.id)


def test_the_workbench_shows_the_organisations_cases_opened_from_alerts_and_works_one(
    page: Page, server: Server, service: Service
) -> None:
    console = sign_in_with_password(page, server, "web-tech-north", service.tech)
    expect(page.locator("body")).to_have_attribute("data-page", "workbench")
    rows = page.locator("#wb-table tbody tr")
    code = page.locator(f'#wb-table tr[data-vin="{N1}"][data-key="dtc:P0AA6"]')
    leak = page.locator(f'#wb-table tr[data-vin="{N1}"][data-key="tyre:front-left"]')
    expect(code).to_contain_text("Trouble code P0AA6")
    expect(leak).to_contain_text("Front-left tyre losing")
    # only the north organisation's cases, in SLA order (the critical code is due first)
    vins = {rows.nth(i).get_attribute("data-vin") for i in range(rows.count())}
    assert vins <= {N1, N2} and page.locator(f'#wb-table tr[data-vin="{S1}"]').count() == 0
    keys = [rows.nth(i).get_attribute("data-key") for i in range(rows.count())]
    assert keys.index("dtc:P0AA6") < keys.index("tyre:front-left")
    # another organisation's case is not found, even by its id
    page.goto(f"{server.url}/ui/#/workbench/{service.south_case}")
    expect(page.locator("#wb-case .error")).to_contain_text("no case")
    code.click()
    box = page.locator("#wb-case")
    expect(page.locator("#wb-title")).to_contain_text("Trouble code P0AA6")
    expect(page.locator("#wb-history li").first).to_contain_text("opened")
    expect(page.locator("#wb-moves button")).to_have_text(["Triage", "Cancel case"])
    page.fill("#wb-move-note", "HV isolation to check")
    page.click("#wb-moves button[data-to=triaged]")
    expect(box).to_have_attribute("data-state", "triaged")
    expect(page.locator("#wb-history")).to_contain_text(
        "moved open → triaged: HV isolation to check"
    )
    page.fill("#wb-note-form input[name=text]", "customer called")
    page.click("#wb-note-form button")
    expect(page.locator("#wb-history li").last).to_contain_text("customer called")
    form = page.locator("#wb-line-form")
    form.locator("input[name=description]").fill("isolation monitor")
    form.locator("input[name=part_number]").fill("IMD-77")
    page.click("#wb-line-form button")
    expect(page.locator("#wb-lines")).to_contain_text("IMD-77")
    page.click("#wb-moves button[data-to=in_service]")
    expect(box).to_have_attribute("data-state", "in_service")
    expect(code.locator(".pill[data-state]")).to_have_text("in service")
    page.screenshot(path=str(SCREENSHOTS / "workbench.png"), full_page=True)
    case_id = box.get_attribute("data-case")
    stored = api(server, "GET", f"/v1/cases/{case_id}")
    assert stored["state"] == "in_service" and stored["lines"][0]["part_number"] == "IMD-77"
    assert [e["text"] for e in stored["events"] if e["kind"] == "note"] == ["customer called"]
    assert [e for e in console.errors if "404" not in e] == []  # the other organisation's case


def test_the_diagnosis_page_decodes_codes_and_plots_the_predictions_evidence(
    page: Page, server: Server, service: Service
) -> None:
    console = sign_in(page, server, at=f"#/diagnosis/{N1}")
    row = page.locator('#dx-codes tr[data-code="P0AA6"]')
    expect(row).to_have_attribute("data-active", "true")
    expect(row.locator("td").nth(1)).not_to_be_empty()
    row.locator("summary").click()
    expect(row.locator("details.freeze")).to_contain_text("Speed")
    expect(row.locator("details.freeze")).to_contain_text("42")
    leak = page.locator('.prediction[data-kind="tyre_leak"]')
    expect(leak).to_have_attribute("data-active", "true")
    expect(leak).to_contain_text("losing")
    plot = leak.locator(".trend-plot")
    expect(plot).to_have_attribute("data-fit", "1")
    assert int(plot.get_attribute("data-points") or "0") >= 20  # hourly means of 30 h
    assert float(plot.get_attribute("data-threshold") or "0") == pytest.approx(200, abs=1)
    line = page.evaluate(
        "async (vin) => { const t = await import('./js/trend.js');"
        " const d = await (await fetch(`/v1/vehicles/${vin}/diagnostics`,"
        " {headers: {Authorization: `Bearer ${sessionStorage.getItem('volta.token')}`}})).json();"
        " return t.fitLine(d.predictions.find((p) => p.kind === 'tyre_leak').evidence); }",
        N1,
    )
    # the fitted line falls 8 kPa a day from ~240 kPa, drawn over the points' own times
    (x0, y0), (x1, y1) = line
    assert (y0 - y1) / ((x1 - x0) / 86_400_000) == pytest.approx(8.0, abs=0.6)
    cases = page.locator("#dx-case-table")
    expect(cases).to_contain_text("Trouble code P0AA6")
    expect(cases).to_contain_text("Front-left tyre losing")
    page.wait_for_timeout(300)  # the plots draw on the next frame
    page.screenshot(path=str(SCREENSHOTS / "diagnosis.png"), full_page=True)
    assert console.errors == []


def test_a_driver_gets_a_taken_slots_alternatives_books_moves_cancels_and_sees_only_their_car(
    page: Page, server: Server, service: Service
) -> None:
    desk = server.platform.service
    assert desk is not None
    console = sign_in_with_password(page, server, "web-svc-driver", service.driver)
    expect(page.locator("body")).to_have_attribute("data-page", "vehicle")
    expect(page.locator("#diagnosis-link")).to_have_count(0)  # staff pages are not theirs
    for staff_page in ("#/workbench", f"#/diagnosis/{N1}"):
        page.goto(f"{server.url}/ui/{staff_page}")
        expect(page.locator("body")).to_have_attribute("data-page", "vehicle")
    page.click("#service-link")
    expect(page.locator("body")).to_have_attribute("data-page", "service")
    expect(page.locator('#svc-issues [data-code="P0AA6"]')).to_be_visible()
    expect(page.locator('#svc-issues [data-prediction="tyre_leak"]')).to_contain_text("losing")
    [leak] = [c for c in desk.cases.find(CaseQuery(vin=N1)) if c.problem_key == "tyre:front-left"]
    box = page.locator(f'.svc-case[data-case="{leak.id}"]')
    first = box.locator(".slots-box button[data-book]").first
    expect(first).to_be_visible()
    start = int(first.get_attribute("data-book") or "0")
    # someone books that slot for another car first (the workshop has one bay)
    [other] = desk.cases.find(CaseQuery(vin=N2))
    desk.book(other.id, service.north, start, OPERATOR)
    first.click()
    expect(box.locator(".case-error .error")).to_contain_text("taken")
    alternatives = box.locator(".alternatives button[data-book]")
    expect(alternatives.first).to_be_visible()
    named = int(alternatives.first.get_attribute("data-book") or "0")
    assert named != start
    alternatives.first.click()
    booked = box.locator(".booked")
    expect(booked).to_have_attribute("data-start", str(named))
    expect(box).to_have_attribute("data-state", "appointment_booked")
    page.screenshot(path=str(SCREENSHOTS / "service.png"), full_page=True)
    appointment = booked.get_attribute("data-appointment")
    # move it to another free slot
    box.locator("button[data-move]").click()
    target = box.locator(".slots-box button[data-to]").nth(1)
    to = int(target.get_attribute("data-to") or "0")
    target.click()
    expect(booked).to_have_attribute("data-start", str(to))
    assert desk.bookings.appointment(appointment or "").start_ms == to
    # cancel asks once more, then the case can be booked again
    cancel = box.locator("button[data-cancel]")
    cancel.click()
    expect(cancel).to_have_text("Cancel for good")
    cancel.click()
    expect(box.locator("select[data-workshop]")).to_be_visible()
    assert desk.bookings.appointment(appointment or "").state == "cancelled"
    assert desk.cases.get(leak.id).state.value in ("open", "triaged")
    # another car's service page says no
    page.goto(f"{server.url}/ui/#/service/{S1}")
    expect(page.locator("#svc-error .error")).to_contain_text(
        f"may not see the service of vehicle {S1}"
    )
    assert [e for e in console.errors if "409" not in e and "403" not in e] == []


def test_an_operator_defines_a_recall_opens_its_cases_and_follows_its_progress(
    page: Page, server: Server, service: Service
) -> None:
    desk = server.platform.service
    assert desk is not None
    console = sign_in(page, server, at="#/recalls")
    form = page.locator("#rc-form")
    form.locator("input[name=models]").fill("No Such Model")
    page.click("#rc-preview-button")
    expect(page.locator("#rc-preview .preview")).to_have_attribute("data-vehicles", "0")
    expect(page.locator("#rc-preview .warning")).to_contain_text("matches no registered vehicle")
    form.locator("input[name=title]").fill("Isolation monitor firmware")
    form.locator("input[name=remedy]").fill("IMD-FW-3")
    form.locator("input[name=models]").fill(MODEL)
    form.locator("input[name=build_to]").fill("2025-06-30")  # N1 and S1, not N2
    page.click("#rc-preview-button")
    expect(page.locator("#rc-preview .preview")).to_have_attribute("data-vehicles", "2")
    page.click("#rc-create")
    detail = page.locator("#rc-detail")
    expect(page.locator("#rc-title")).to_have_text("Isolation monitor firmware")
    vehicles = page.locator("#rc-vehicle-table tbody tr")
    expect(vehicles).to_have_count(2)
    assert {vehicles.nth(i).get_attribute("data-vin") for i in range(2)} == {N1, S1}
    page.click("#rc-open-cases")
    expect(page.locator("#rc-done-text")).to_have_text("2 cases opened.")
    recall = detail.get_attribute("data-recall") or ""
    # the south workshop fixes S1 with the campaign's remedy: S1 is done, half the campaign
    [case] = [c for c in desk.cases.find(CaseQuery(vin=S1)) if c.recall_id == recall]
    desk.transition(case.id, CaseState.TRIAGED, OPERATOR)
    desk.transition(case.id, CaseState.RESOLVED, OPERATOR, remedy="IMD-FW-3")
    page.reload()
    expect(detail).to_have_attribute("data-completed", "1")
    expect(page.locator(f'#rc-vehicle-table tr[data-vin="{S1}"]')).to_have_attribute(
        "data-done", "true"
    )
    expect(page.locator("#rc-summary")).to_contain_text("1 of 2 vehicles done (50 %)")
    plot = page.locator("#rc-progress")
    expect(plot).to_have_attribute("data-points", "2")  # the start at 0 %, today at 50 %
    assert plot.get_attribute("data-y-max") == "100"
    expect(page.locator(f'#rc-table tr[data-recall="{recall}"]')).to_contain_text("IMD-FW-3")
    page.screenshot(path=str(SCREENSHOTS / "recalls.png"), full_page=True)
    assert console.errors == []
