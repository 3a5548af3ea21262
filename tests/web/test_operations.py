"""The operator's pages in a real browser: alerts acknowledged and kept in history, the report
with its CSV file, places and tariffs edited with the server's reasons shown, names and groups
in the fleet list, and a phone-sized screen that nothing overflows."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from volta.errors import Conflict
from volta.wire import Batch, encode_msgpack

from .conftest import SCREENSHOTS, chromium_missing
from .server import Server

if chromium_missing():
    pytest.skip(f"browser tests skipped: {chromium_missing()}", allow_module_level=True)

from playwright.sync_api import BrowserContext, Page, expect

from volta.clock import wall_ms
from volta.drives.core import Drive

from .test_dashboard import Nudge, sign_in

pytestmark = pytest.mark.slow

DTC_LIST = "Vehicle.Diagnostics.DTCList"
REPORT_VIN = "JHMZZ1A1XRV246810"  # no other test uses it
DAY_MS = 86_400_000


def api(server: Server, method: str, path: str, **kw: Any) -> Any:
    r = httpx.request(
        method, f"{server.url}{path}", headers={"Authorization": f"Bearer {server.operator}"}, **kw
    )
    r.raise_for_status()
    return r.json()


def logged_alert(server: Server, vin: str, key: str, state: str) -> dict[str, Any]:
    """The vehicle's alert with this key once the log has it in this state (the batch that
    shows it is committed a moment after it is published)."""
    deadline = time.monotonic() + 10
    while True:
        body = api(server, "GET", f"/v1/vehicles/{vin}/alerts", params={"state": state})
        found = [a for a in body["alerts"] if a["key"] == key]
        if found or time.monotonic() > deadline:
            assert found, f"no {state} alert {key} of {vin} within 10 s"
            alert: dict[str, Any] = found[0]
            return alert
        time.sleep(0.1)


def test_an_operator_acknowledges_an_alert_and_finds_it_in_the_history(
    page: Page, server: Server
) -> None:
    vin = server.vins[2]
    nudge = Nudge(server, vin, (DTC_LIST, ["C1A03"]), seq=4 * 10**9)
    try:
        logged_alert(server, vin, "C1A03", "active")
        console = sign_in(page, server, at="#/alerts")
        row = page.locator("#a-list tr", has_text="Trouble code C1A03")
        expect(row).to_have_attribute("data-state", "active", timeout=10_000)
        row.locator("button[data-ack]").click()
        row.locator("input[name=note]").fill("tyre shop booked")
        row.locator("button[type=submit]").click()
        expect(row.locator(".acked")).to_contain_text("tyre shop booked")
        expect(row).to_have_attribute("data-state", "acknowledged")
        page.screenshot(path=str(SCREENSHOTS / "alerts-log.png"), full_page=True)
    finally:
        nudge.stop()
    alert_id = row.get_attribute("data-id")
    [logged] = [
        a for a in api(server, "GET", f"/v1/vehicles/{vin}/alerts")["alerts"] if a["key"] == "C1A03"
    ]
    assert str(logged["id"]) == alert_id
    assert logged["acknowledged"]["note"] == "tyre shop booked"
    # The car reports the code gone: the alert moves to the history with that time.
    gone = wall_ms()
    batch = Batch(v=1, vin=vin, seq=5 * 10**9, ts=gone, samples=[(0, DTC_LIST, [])])
    server.transport.publish(vin, encode_msgpack(batch))
    assert logged_alert(server, vin, "C1A03", "cleared")["cleared_ms"] == gone
    page.select_option("#a-state", "cleared")
    cleared = page.locator(f'#a-list tr[data-id="{alert_id}"]')
    expect(cleared).to_have_attribute("data-state", "cleared", timeout=10_000)
    expect(cleared).to_contain_text("tyre shop booked")
    # Paging: pages of 50, so with the whole history one page; the dates filter it out.
    page.fill("#a-from", "2020-01-01")
    page.fill("#a-to", "2020-01-31")
    page.click("#a-filters button[type=submit]")
    expect(page.locator("#a-list")).to_contain_text("No alerts match.")
    assert console.errors == []


def test_the_report_shows_a_vehicle_month_and_downloads_it_as_csv(
    page: Page, server: Server
) -> None:
    with contextlib.suppress(Conflict):  # the server is shared by the package's tests
        server.platform.registry.add_vehicle(
            REPORT_VIN,
            "hyundai_kona_electric_2021",
            name="Report van",
            plate="RPT-1",
            group="Reports",
        )
    start = wall_ms() - 40 * DAY_MS
    drive = Drive(
        id=f"{REPORT_VIN}-{start}", vin=REPORT_VIN, start_ms=start, end_ms=start + 1_800_000,
        final=True, start_lat=60.17, start_lon=24.94, end_lat=60.2, end_lon=24.9,
        odometer_start_m=1000.0, odometer_end_m=13_300.0, distance_m=12_300.0,
        energy_wh=1_845.0, regen_wh=200.0, efficiency_wh_per_km=150.0, avg_speed_kmh=24.6,
        max_speed_kmh=60.0, soc_start=80.0, soc_end=77.0, outside_temp_c=5.0,
    )  # fmt: skip
    server.platform.derived.upsert("drive", [drive])
    month = datetime.fromtimestamp(start / 1000, UTC).strftime("%Y-%m-01")
    console = sign_in(page, server, at="#/reports")
    # The first answer lists the groups (or says why it could not).
    expect(
        page.locator("#r-group option", has_text="Reports").or_(page.locator("#r-error .error"))
    ).to_be_attached()
    assert page.locator("#r-error").inner_text() == ""
    page.select_option("#r-group", "Reports")
    page.click("#r-form button[type=submit]")
    row = page.locator(f'#r-table tr[data-vin="{REPORT_VIN}"]')
    expect(row).to_contain_text("Report van · RPT-1")
    expect(row.locator("td").nth(0)).to_have_text(month)
    expect(row.locator("td").nth(4)).to_have_text("12.3")  # km
    expect(row.locator("td").nth(5)).to_have_text("1.8")  # kWh
    with page.expect_download() as info:
        page.click("#r-csv")
    download = info.value
    assert re.fullmatch(
        r"volta-group-reports-report-by-month-\d{4}-\d{2}-01-to-\d{4}-\d{2}-\d{2}\.csv",
        download.suggested_filename,
    ), download.suggested_filename
    path = download.path()
    assert path is not None
    [line] = list(csv.DictReader(io.StringIO(path.read_text())))
    assert (line["period_start"], line["vin"], line["name"]) == (month, REPORT_VIN, "Report van")
    assert (line["distance_km"], line["drive_energy_kwh"]) == ("12.300", "1.845")
    # The picture: the whole (demo) fleet by day.
    page.select_option("#r-group", "")
    page.select_option("#r-period", "day")
    page.click("#r-form button[type=submit]")
    expect(page.locator("#r-table tr[data-vin]").nth(1)).to_be_attached()  # not the van alone
    page.screenshot(path=str(SCREENSHOTS / "reports.png"), full_page=True)
    assert console.errors == []


def test_places_and_tariffs_are_created_edited_and_deleted_with_errors_shown(
    page: Page, server: Server
) -> None:
    console = sign_in(page, server, at="#/places")
    form = page.locator("#p-form")
    form.locator("input[name=name]").fill("Depot Pasila")
    form.locator("input[name=lat]").fill("60.1987")
    form.locator("input[name=lon]").fill("24.9334")
    form.locator("input[name=radius_m]").fill("0")
    form.locator("input[name=priced]").check()
    form.locator("input[name=price]").fill("0.21")
    form.locator("textarea[name=windows]").fill("22:00-07:00 0.09")
    page.click("#p-save")
    # The server refuses a zero radius and says why, in the form.
    expect(page.locator("#p-error .error")).to_contain_text("radius_m")
    form.locator("input[name=radius_m]").fill("150")
    form.locator("textarea[name=windows]").fill("22:00-07:10 0.09")
    page.click("#p-save")
    expect(page.locator("#p-error .error")).to_contain_text("quarter")
    form.locator("textarea[name=windows]").fill("22:00-07:00 0.09")
    page.click("#p-save")
    row = page.locator("#p-table tr", has_text="Depot Pasila")
    expect(row).to_contain_text("0.21 EUR/kWh (22:00–07:00 0.09)")
    place_id = row.get_attribute("data-id")
    stored = api(server, "GET", f"/v1/places/{place_id}")
    assert stored["radius_m"] == 150 and stored["tariff"]["windows"][0]["price_per_kwh"] == 0.09
    page.screenshot(path=str(SCREENSHOTS / "places.png"), full_page=True)
    # Edit: the form is filled with the place; saving replaces it.
    row.locator("[data-edit]").click()
    expect(form.locator("input[name=name]")).to_have_value("Depot Pasila")
    form.locator("input[name=name]").fill("Depot Pasila North")
    page.click("#p-save")
    expect(page.locator("#p-table")).to_contain_text("Depot Pasila North")
    assert api(server, "GET", f"/v1/places/{place_id}")["name"] == "Depot Pasila North"
    # Delete asks once more before it deletes.
    delete = page.locator(f'#p-table tr[data-id="{place_id}"] [data-delete]')
    delete.click()
    expect(delete).to_have_text("Delete for good")
    delete.click()
    expect(page.locator(f'#p-table tr[data-id="{place_id}"]')).to_have_count(0)
    r = httpx.get(
        f"{server.url}/v1/places/{place_id}",
        headers={"Authorization": f"Bearer {server.operator}"},
    )
    assert r.status_code == 404
    assert [e for e in console.errors if "400" not in e and "422" not in e] == []


def test_the_fleet_list_shows_names_and_filters_by_group(page: Page, server: Server) -> None:
    vehicles = api(server, "GET", "/v1/vehicles", params={"limit": 10_000})["vehicles"]
    first = next(v for v in vehicles if v["vin"] == server.vins[0])
    assert first["name"] and first["plate"] and first["group"]
    in_group = sum(1 for v in vehicles if v["group"] == first["group"])
    console = sign_in(page, server)
    page.fill("#search", first["plate"].lower())  # names and plates are searched too
    expect(page.locator("#list .row")).to_have_count(1)
    row = page.locator(f'#list .row[data-vin="{first["vin"]}"]')
    model = re.sub(r"_\d{4}$", "", first["model"]).replace("_", " ")  # as the list shortens it
    for text in (first["name"], first["plate"], first["group"], model):
        expect(row).to_contain_text(text)
    page.fill("#search", "")
    page.select_option("#group", first["group"])
    expect(page.locator("#list")).to_have_attribute("data-count", str(in_group))
    rows = page.locator("#list .row")
    groups = {rows.nth(i).locator(":scope > span").nth(2).inner_text() for i in range(3)}
    assert groups == {first["group"]}
    assert console.errors == []


@pytest.mark.parametrize("at", ["#/fleet", "#/alerts", "#/reports", "#/places", "#/workbench"])
def test_on_a_phone_the_header_and_pages_fit_the_screen(
    browser_context: BrowserContext, server: Server, at: str
) -> None:
    page = browser_context.new_page()
    try:
        page.set_viewport_size({"width": 390, "height": 844})
        console = sign_in(page, server, at=at)
        expect(page.locator("#nav")).to_be_visible()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)  # the first poll's rows
        fit = page.evaluate(
            """() => {
              const top = document.querySelector('header.top');
              const links = [...document.querySelectorAll('#nav a')].filter((a) => !a.hidden);
              return {
                page: document.documentElement.scrollWidth, width: window.innerWidth,
                header: top.scrollWidth - top.clientWidth,
                links: links.length,
                outside: links.filter((a) => a.getBoundingClientRect().right > innerWidth).length,
              };
            }"""
        )
        assert fit["page"] <= fit["width"], fit
        assert fit["header"] == 0 and fit["links"] == 8 and fit["outside"] == 0, fit
        if at == "#/fleet":
            page.screenshot(path=str(SCREENSHOTS / "phone.png"))
        assert console.errors == []
    finally:
        page.close()
