"""The vehicle page as an operator or a driver uses it: remote commands with their progress, a
period to look at (charts, track, timeline) with paged drives and charges, readable values,
chart axes that do not exaggerate, charge costs, CSV downloads, pages that start at the top."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import httpx
import pytest

from volta.errors import Conflict
from volta.wire import Batch, encode_msgpack

from .conftest import SCREENSHOTS, chromium_missing
from .server import Server

if chromium_missing():
    pytest.skip(f"browser tests skipped: {chromium_missing()}", allow_module_level=True)

from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.servicekit.logbook import a_charge, a_drive
from volta.clock import wall_ms
from volta.drives.core import Drive
from volta.registry import Role

from .test_dashboard import _user, sign_in, sign_in_with_password

pytestmark = pytest.mark.slow

MIN, HOUR = 60_000, 3_600_000
TB = "Vehicle.Powertrain.TractionBattery."
# Cars of their own, so that the fleet's data cannot change them: a parked car that sent an
# hour of telemetry, and a car with a logbook of drives and charges (and no telemetry: the live
# processor re-detects from a car's first sample on, and would replace a hand-made logbook).
PARKED = "JHMZZ1A1XRV555555"
LOGBOOK = "JHMZZ1A1XRV444444"


@pytest.fixture(scope="module")
def parked(server: Server) -> int:
    """PARKED: an hour of 0 km/h and a standby power wobbling by 0.1 kW, parked in P with its
    doors locked. Returns the time of its first sample."""
    with contextlib.suppress(Conflict):
        server.platform.registry.add_vehicle(PARKED, "Model V")
    now = wall_ms() // MIN * MIN
    samples: list[tuple[int, str | int, Any]] = []
    for i in range(60):
        t = i * MIN
        samples += [(t, "Vehicle.Speed", 0.0), (t, TB + "CurrentPower", -100.0 + 100.0 * (i % 2))]
    samples += [
        (0, "Vehicle.Powertrain.Transmission.SelectedGear", 126),
        (0, "Vehicle.Cabin.Door.Row1.DriverSide.IsLocked", True),
        (0, TB + "Charging.IsCharging", False),
        (0, TB + "StateOfCharge.Current", 64.5),
    ]
    batch = Batch(v=1, vin=PARKED, seq=1, ts=now - HOUR, samples=samples)
    server.transport.publish(PARKED, encode_msgpack(batch))
    return now - HOUR


@pytest.fixture(scope="module")
def logbook(server: Server) -> list[Drive]:
    """LOGBOOK: 25 drives an hour apart, the newest 2 hours ago, and two charges (one priced
    by a place's tariff). Returns the drives, newest first."""
    with contextlib.suppress(Conflict):
        server.platform.registry.add_vehicle(LOGBOOK, "Model V")
    now = wall_ms() // MIN * MIN
    drives = [a_drive(LOGBOOK, now - (i + 2) * HOUR) for i in range(25)]
    server.platform.derived.upsert("drive", drives)
    charges = [
        a_charge(LOGBOOK, now - 30 * HOUR, place="Depot", cost=3.3, currency="EUR"),
        a_charge(LOGBOOK, now - 40 * HOUR),
    ]
    server.platform.derived.upsert("charge", charges)
    return drives


def _local_input(page: Page, ms: int) -> str:
    """What a datetime-local input shows for `ms` in the browser's time zone."""
    text: str = page.evaluate(
        "(ms) => import('./js/period.js').then((m) => m.toLocalInput(ms))", ms
    )
    return text


def _as_car(server: Server, vin: str) -> dict[str, str]:
    token = server.platform.registry.issue_token(Role.VEHICLE, vin).token
    return {"Authorization": f"Bearer {token}"}


def test_an_operator_sends_commands_and_follows_their_progress(page: Page, server: Server) -> None:
    vin = server.vins[-2]
    car = _as_car(server, vin)
    console = sign_in(page, server, at=f"#/vehicle/{vin}")
    panel = page.locator("#commands")
    expect(panel.locator("#command-list")).to_contain_text("No command sent", timeout=10_000)

    panel.locator('button[data-type="lock"]').click()
    lock = panel.locator("#command-list tbody tr").first
    expect(lock).to_have_attribute("data-state", "queued")
    expect(lock).to_contain_text("Lock")
    # the car picks it up (pull), then reports it done: the page follows by itself
    pending = httpx.get(f"{server.url}/v1/vehicles/{vin}/commands/pending", headers=car).json()
    [cmd] = pending["commands"]
    expect(lock).to_have_attribute("data-state", "delivered", timeout=5_000)
    httpx.post(
        f"{server.url}/v1/vehicles/{vin}/commands/{cmd['id']}/ack",
        json={"status": "succeeded"},
        headers=car,
    ).raise_for_status()
    expect(lock).to_have_attribute("data-state", "succeeded", timeout=5_000)
    expect(lock.locator("ol.steps li.done")).to_have_text(["queued", "delivered"])
    expect(lock.locator("ol.steps li.now")).to_have_text("succeeded")

    # a value the car would never accept is refused with the server's reason, nothing is sent
    panel.locator("#charge-limit").fill("150")
    panel.locator('button[data-type="set_charge_limit"]').click()
    expect(panel.locator("#command-error .error")).to_contain_text("150 is above max 100")
    expect(panel.locator("#command-list tbody tr")).to_have_count(1)

    panel.locator("#climate-target").fill("22.5")
    panel.locator('button[data-type="climate_on"]').click()
    climate = panel.locator("#command-list tbody tr").first
    expect(climate).to_contain_text("Climate on 22.5 °C")
    expect(panel.locator("#command-error")).to_be_empty()
    [cmd] = httpx.get(f"{server.url}/v1/vehicles/{vin}/commands/pending", headers=car).json()[
        "commands"
    ]
    assert cmd["type"] == "climate_on" and cmd["value"] == 22.5
    httpx.post(
        f"{server.url}/v1/vehicles/{vin}/commands/{cmd['id']}/ack",
        json={"status": "failed", "reason": "the battery is too low for climate"},
        headers=car,
    ).raise_for_status()
    expect(climate).to_have_attribute("data-state", "failed", timeout=5_000)
    expect(climate.locator("td.reason")).to_have_text("the battery is too low for climate")
    expect(climate.locator("ol.steps li.now")).to_have_text("failed")
    panel.screenshot(path=str(SCREENSHOTS / "commands.png"))

    # the list survives a reload: the newest first, each as it ended
    page.reload()
    rows = page.locator("#command-list tbody tr")
    expect(rows).to_have_count(2, timeout=10_000)
    expect(rows.nth(0)).to_have_attribute("data-state", "failed")
    expect(rows.nth(1)).to_have_attribute("data-state", "succeeded")
    assert console.errors == [e for e in console.errors if "422" in e]  # the refused one only


def test_commands_are_offered_to_drivers_not_to_the_vehicle_itself(
    page: Page, browser_context: BrowserContext, server: Server
) -> None:
    vin = server.vins[-3]
    password = _user(server, "web-vera", "driver", [vin])
    console = sign_in_with_password(page, server, "web-vera", password)
    expect(page.locator("h1")).to_have_text(vin)
    expect(page.locator('#commands button[data-type="wake"]')).to_be_visible()
    assert console.errors == []
    car = browser_context.new_page()  # a tab of its own: sessionStorage is per tab
    try:
        token = server.platform.registry.issue_token(Role.VEHICLE, vin).token
        console = sign_in(car, server, token=token, at=f"#/vehicle/{vin}")
        expect(car.locator("h1")).to_have_text(vin)
        expect(car.locator("#values .value").first).to_be_visible()
        expect(car.locator("#commands")).to_be_hidden()
        assert car.locator("#commands button").count() == 0
        assert console.errors == []
    finally:
        car.close()


def test_readable_values_and_axes_of_a_parked_car(page: Page, server: Server, parked: int) -> None:
    console = sign_in(page, server, at=f"#/vehicle/{PARKED}")

    def tile(path: str) -> Locator:
        return page.locator(f'#values [data-signal="{path}"]')

    gear = tile("Vehicle.Powertrain.Transmission.SelectedGear")
    expect(gear.locator(".v")).to_have_text("P", timeout=10_000)
    expect(tile("Vehicle.Cabin.Door.Row1.DriverSide.IsLocked").locator(".v")).to_have_text("locked")
    expect(tile(TB + "Charging.IsCharging").locator(".v")).to_have_text("no")
    expect(tile(TB + "StateOfCharge.Current")).to_contain_text("64.5%")
    speed_row = page.locator('#all-signals tr[data-signal="Vehicle.Speed"]')
    expect(speed_row.locator("td").nth(1)).to_have_text("0 km/h")
    gear_row = page.locator(
        '#all-signals tr[data-signal="Vehicle.Powertrain.Transmission.SelectedGear"]'
    )
    expect(gear_row.locator("td").nth(1)).to_have_text("P")

    # a 0.1 kW wobble on a 2 kW axis that holds zero; an all-zero speed still has its axis
    power, speed = page.locator("#c-power"), page.locator("#c-speed")
    expect(power).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"), timeout=10_000)
    # awaited: the live value (0 kW, an all-zero axis to 2) may be drawn before the history
    expect(power).to_have_attribute("data-y-max", "0", timeout=10_000)
    assert float(power.get_attribute("data-y-min") or "nan") <= -2
    expect(speed).to_have_attribute("data-y-ticks", "0 2 4 6 8 10")
    # the default period is the last 24 hours, drawn from where the car's data begins
    expect(speed).to_have_attribute("data-x0", str(parked - 5 * MIN))
    labels = (speed.get_attribute("data-x-ticks") or "").split("|")
    assert 2 <= len(labels) <= 12 and all(re.fullmatch(r"\d\d:\d0", x) for x in labels), labels
    # the whole 24 hours once asked for, labelled by the hour (or the date at midnight)
    page.locator('#period button[data-preset="24h"]').click()
    expect(speed).not_to_have_attribute("data-x0", str(parked - 5 * MIN))
    span = float(speed.get_attribute("data-x1") or 0) - float(speed.get_attribute("data-x0") or 0)
    assert span == pytest.approx(24 * HOUR, abs=5_000)
    labels = (speed.get_attribute("data-x-ticks") or "").split("|")
    assert 2 <= len(labels) <= 12
    assert all(re.fullmatch(r"\d\d:00|\d{1,2} [A-Z][a-z]{2}", x) for x in labels), labels

    # the axis rules themselves, in the page's own module
    axes = page.evaluate(
        """() => import('./js/chart.js').then(({ yAxis, timeTicks, MIN_SPAN }) => ({
            flat: yAxis([0.2, 0.3], { zero: true, minSpan: MIN_SPAN.kW }),
            swing: yAxis([-40, 80], { zero: true, minSpan: MIN_SPAN.kW }),
            empty: yAxis([], { min: 0, minSpan: MIN_SPAN['km/h'] }),
            soc: yAxis([50.1, 50.2], { min: 0, max: 100 }),
            hour: timeTicks(Date.UTC(2026, 11, 6, 8, 7), Date.UTC(2026, 11, 6, 9, 7), 6),
            week: timeTicks(Date.UTC(2026, 10, 29, 12), Date.UTC(2026, 11, 6, 12), 8),
        }))"""
    )
    assert axes["flat"]["ticks"][0] == 0 and axes["flat"]["ticks"][-1] >= 2
    assert axes["swing"]["ticks"][0] <= -40 and axes["swing"]["ticks"][-1] >= 80
    assert axes["empty"]["ticks"] == [0, 2, 4, 6, 8, 10]
    assert axes["soc"]["ticks"] == [0, 20, 40, 60, 80, 100]
    hour = [label for _, label in axes["hour"]]
    assert len(hour) == 6 and all(re.fullmatch(r"\d\d:\d0", x) for x in hour), hour
    week = [label for _, label in axes["week"]]
    assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2}", x) for x in week) and len(week) >= 7, week
    assert console.errors == []


def test_a_period_pages_lists_moves_charts_and_timeline(
    page: Page, server: Server, logbook: list[Drive]
) -> None:
    drives = logbook
    console = sign_in(page, server, at=f"#/vehicle/{LOGBOOK}")
    section = page.locator('[data-service="drives"]')
    rows = section.locator("tbody tr")
    # newest first, ten a page, older and newer pages
    expect(rows).to_have_count(10, timeout=10_000)
    expect(rows.first).to_have_attribute("data-id", drives[0].id)
    expect(section.locator(".page")).to_have_text("page 1 · newest first")
    expect(section.locator("button.newer")).to_be_disabled()
    section.locator("button.older").click()
    expect(rows.first).to_have_attribute("data-id", drives[10].id)
    section.locator("button.older").click()
    expect(rows).to_have_count(5)
    expect(rows.last).to_have_attribute("data-id", drives[24].id)
    expect(section.locator("button.older")).to_be_disabled()
    section.locator("button.newer").click()
    expect(rows.first).to_have_attribute("data-id", drives[10].id)

    # charges show what the place's tariff made them cost
    charges = page.locator('[data-service="charges"] tbody tr')
    expect(charges).to_have_count(2)
    expect(charges.nth(0).locator("td.cost")).to_have_text("3.30 EUR")
    expect(charges.nth(0)).to_contain_text("Depot")
    expect(charges.nth(1).locator("td.cost")).to_have_text("—")

    # a chosen period: the drives in it, the charts and the timeline over it
    start, end = drives[20].start_ms - 30 * MIN, drives[17].end_ms + 30 * MIN
    page.fill("#period-from", _local_input(page, start))
    page.fill("#period-to", _local_input(page, end))
    page.click("#period-apply")
    bar = page.locator("#period")
    expect(bar).to_have_attribute("data-start", str(start))
    expect(bar).to_have_attribute("data-live", "false")
    expect(rows).to_have_count(4)
    expect(rows.first).to_have_attribute("data-id", drives[17].id)
    expect(section.locator(".page")).to_have_text("page 1 · in the period")
    timeline = page.locator('[data-service="timeline"] .body')
    expect(timeline).to_have_attribute("data-start", str(start))
    expect(timeline).to_have_attribute("data-end", str(end))
    expect(timeline.locator(".timeline i").first).to_be_visible()
    speed = page.locator("#c-speed")
    expect(speed).to_have_attribute("data-x0", str(start))
    expect(speed).to_have_attribute("data-points", "0")  # nothing sent back then
    # "older" moves the period back by its own length
    page.click("#period-older")
    span = end - start
    expect(bar).to_have_attribute("data-start", str(start - span))
    expect(timeline).to_have_attribute("data-start", str(start - span))
    expect(rows.first).to_have_attribute("data-id", drives[21].id)  # 21..24 overlap it
    expect(rows).to_have_count(4)
    # back to the live 24 hours: newer is off, the lists filter by it
    page.locator('#period button[data-preset="24h"]').click()
    expect(bar).to_have_attribute("data-live", "true")
    expect(page.locator("#period-newer")).to_be_disabled()
    expect(section.locator(".page")).to_have_text("page 1 · in the period")
    expect(rows.first).to_have_attribute("data-id", drives[0].id)
    assert console.errors == []


def test_csv_downloads_are_named_for_the_vehicle_and_day(
    page: Page, server: Server, parked: int, logbook: list[Drive]
) -> None:
    day = r"\d{4}-\d{2}-\d{2}"
    console = sign_in(page, server, at=f"#/vehicle/{PARKED}")
    expect(page.locator("#c-speed")).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    with page.expect_download() as history:
        page.locator("#history-export button").click()
    name = history.value.suggested_filename
    assert re.fullmatch(rf"volta-{PARKED}-history-{day}(_{day})?\.csv", name), name
    lines = history.value.path().read_text().splitlines()
    assert lines[0] == "time,signal,value,unit,ts_ms"
    assert any(",Vehicle.Speed,0.0,km/h," in line for line in lines)
    assert any("SelectedGear,126," in line for line in lines)
    page.evaluate(f"location.hash = '#/vehicle/{LOGBOOK}'")
    expect(page.locator('[data-service="drives"] tbody tr').first).to_be_visible(timeout=10_000)
    with page.expect_download() as drives:
        page.locator('[data-service="drives"] .tools button').click()
    assert re.fullmatch(rf"volta-{LOGBOOK}-drives-{day}\.csv", drives.value.suggested_filename)
    header = drives.value.path().read_text().splitlines()[0]
    assert header.startswith("id,vin,start,start_ms,end,end_ms")
    assert len(drives.value.path().read_text().splitlines()) == 1 + 25
    assert console.errors == []


def test_a_new_page_starts_at_the_top(page: Page, server: Server, logbook: list[Drive]) -> None:
    console = sign_in(page, server, at=f"#/vehicle/{LOGBOOK}")
    expect(page.locator('[data-service="drives"] tbody tr').first).to_be_visible(timeout=10_000)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("window.scrollY > 200")
    other = server.vins[0]
    page.evaluate(f"location.hash = '#/vehicle/{other}'")
    expect(page.locator("h1")).to_have_text(other)
    assert page.evaluate("window.scrollY") == 0
    assert console.errors == []


@pytest.mark.parametrize("width", [768, 390])
def test_vehicle_page_fits_narrow_screens(
    page: Page, server: Server, logbook: list[Drive], width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    console = sign_in(page, server, at=f"#/vehicle/{LOGBOOK}")
    expect(page.locator('[data-service="drives"] tbody tr').first).to_be_visible(timeout=10_000)
    expect(page.locator("#command-list")).not_to_contain_text("Loading")
    # the page's own content (the header's phone layout is the fleet pages' work)
    overflow = page.evaluate("(m => m.scrollWidth - m.clientWidth)(document.querySelector('main'))")
    assert overflow <= 0
    assert console.errors == []
