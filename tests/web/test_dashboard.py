"""The dashboard in a real browser: sign-in, fleet map, vehicle live values, ingest health."""

from __future__ import annotations

import contextlib
import re
import threading
from typing import Any

import httpx
import pytest

from volta.errors import Conflict
from volta.wire import Batch, encode_msgpack

from .conftest import FLEET_SIZE, SCREENSHOTS, chromium_missing
from .server import Server

if chromium_missing():
    pytest.skip(f"browser tests skipped: {chromium_missing()}", allow_module_level=True)

from playwright.sync_api import ConsoleMessage, Page, expect

from volta.clock import wall_ms

pytestmark = pytest.mark.slow


class Console:
    """Errors the page logged or threw."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _message(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(msg.text)


def sign_in(page: Page, server: Server, token: str | None = None, at: str = "#/fleet") -> Console:
    console = Console(page)
    page.goto(f"{server.url}/ui/{at}")
    page.fill("#token", token or server.operator)
    page.click("#signin-button")
    return console


def fleet_positions(server: Server) -> dict[str, Any]:
    r = httpx.get(
        f"{server.url}/v1/fleet/positions", headers={"Authorization": f"Bearer {server.operator}"}
    )
    r.raise_for_status()
    body: dict[str, Any] = r.json()
    return body


def test_root_sends_the_browser_to_the_dashboard(server: Server) -> None:
    r = httpx.get(f"{server.url}/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/ui/"


def test_a_bad_token_is_refused_with_a_clear_error(page: Page, server: Server) -> None:
    console = sign_in(page, server, token="ot_not-a-real-token")
    expect(page.locator("#signin-error .error")).to_contain_text("not accepted")
    assert page.evaluate("sessionStorage.getItem('volta.token')") is None
    expect(page.locator("body")).to_have_attribute("data-page", "signin")
    expect(page.locator("#nav")).to_be_hidden()
    # the browser logs the refused request itself; anything else would be a bug
    assert [e for e in console.errors if "401" not in e] == []


def test_fleet_page_shows_every_vehicle_and_a_marker_per_position(
    page: Page, server: Server
) -> None:
    console = sign_in(page, server)
    pos = fleet_positions(server)
    expected = sum(
        1 for lat, lon in zip(pos["lat"], pos["lon"], strict=True) if None not in (lat, lon)
    )
    assert expected > 0, "the simulated fleet should have sent positions"
    registered = len(pos["vin"])
    assert registered >= FLEET_SIZE
    markers = page.locator("#fleet-map")
    expect(markers).to_have_attribute("data-markers", str(expected), timeout=10_000)
    # every registered vehicle counts, asleep through the replayed hour or not
    expect(page.locator('.count[data-state="all"] b')).to_have_text(str(registered))
    # the list is virtualised: it holds every vehicle but renders only the rows in view
    expect(page.locator("#list")).to_have_attribute("data-count", str(registered))
    assert page.locator("#list .row").count() >= min(registered, 10)
    # updates keep coming at 1 Hz
    rendered = int(markers.get_attribute("data-rendered") or "0")
    page.wait_for_function(
        f"Number(document.querySelector('#fleet-map').dataset.rendered) >= {rendered + 2}",
        timeout=5_000,
    )
    page.fill("#search", server.vins[0][-6:])
    expect(page.locator("#list .row")).to_have_count(1)
    page.fill("#search", "")
    page.wait_for_timeout(1200)  # let the road layer and a fresh update land
    page.screenshot(path=str(SCREENSHOTS / "fleet.png"))
    assert console.errors == []


def test_a_vehicle_that_never_reported_is_listed_and_not_shown_live(
    page: Page, server: Server
) -> None:
    vin = "JHMZZ1A1XRV777777"
    with contextlib.suppress(Conflict):  # the server is shared by the module's tests
        server.platform.registry.add_vehicle(vin, "Model V")
    console = sign_in(page, server)
    page.fill("#search", vin)
    row = page.locator("#list .row")
    expect(row).to_have_count(1, timeout=10_000)
    expect(row).to_contain_text("never seen")
    expect(row).to_contain_text("never")
    expect(row.locator(".num").first).to_have_text("—")  # no speed
    row.click()
    expect(page.locator("h1")).to_have_text(vin)
    expect(page.locator("#live")).to_have_text("no data yet", timeout=10_000)
    assert console.errors == []


def _vins(server: Server) -> list[str]:
    vins: list[str] = fleet_positions(server)["vin"]
    return vins


def _awake_vin(server: Server) -> str:
    """A vehicle that spoke in the last minutes (its page says "live")."""
    pos = fleet_positions(server)
    awake: str = next(
        vin
        for vin, state in zip(pos["vin"], pos["state"], strict=True)
        if pos["states"][state] in ("driving", "charging", "parked")
    )
    return awake


def _drive_count(server: Server, vin: str) -> int:
    headers = {"Authorization": f"Bearer {server.operator}"}
    url = f"{server.url}/v1/vehicles/{vin}/drives"
    return len(httpx.get(url, headers=headers).json()["drives"])


def _pick_vehicle(server: Server) -> tuple[str, bool]:
    """A vehicle the simulator has driving (the one with the most drives: the README's
    picture), else the freshest one (and False)."""
    pos = fleet_positions(server)
    driving = [
        vin
        for vin, state in zip(pos["vin"], pos["state"], strict=True)
        if pos["states"][state] == "driving"
    ]
    if driving:
        return max(driving, key=lambda vin: _drive_count(server, vin)), True
    newest = max(range(len(pos["vin"])), key=lambda i: pos["last_seen"][i] or 0)
    return pos["vin"][newest], False


class Nudge:
    """When the simulated fleet has nobody driving (at night, simulated local time), send one
    vehicle's speed once a second through the same in-process transport the simulator uses.
    `sample` sends another (signal, value) instead, newer than what the simulator sends."""

    def __init__(
        self, server: Server, vin: str, sample: tuple[str, Any] | None = None, seq: int = 10**9
    ) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._send, args=(server, vin, sample, seq), daemon=True
        )
        self._thread.start()

    def _send(self, server: Server, vin: str, sample: tuple[str, Any] | None, seq: int) -> None:
        while True:
            seq += 1
            now = wall_ms()
            signal, value = sample or ("Vehicle.Speed", seq % 50)
            batch = Batch(v=1, vin=vin, seq=seq, ts=now, samples=[(0, signal, value)])
            server.transport.publish(vin, encode_msgpack(batch))
            if self._stop.wait(1.0):
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def test_fleet_alerts_panel_shows_a_new_trouble_code(page: Page, server: Server) -> None:
    vin = _vins(server)[1]
    # sent every second, so the simulator's own once-a-minute DTC report cannot clear it
    nudge = Nudge(server, vin, ("Vehicle.Diagnostics.DTCList", ["C1A02"]), seq=3 * 10**9)
    try:
        console = sign_in(page, server)
        row = page.locator(f'#alert-list tr[data-vin="{vin}"][data-kind="dtc"]')
        expect(row).to_contain_text(
            "Trouble code C1A02: Tyre pressure low, rear left", timeout=10_000
        )
        expect(row.locator(".pill")).to_have_text("critical")
        critical = page.locator('#alert-counts [data-severity="critical"]')
        expect(critical).to_have_text(re.compile(r"^[1-9]\d* critical$"))
        page.locator("#alerts").screenshot(path=str(SCREENSHOTS / "alerts.png"))
        row.locator("a").click()
        expect(page.locator("body")).to_have_attribute("data-page", "vehicle")
        expect(page.locator("h1")).to_have_text(vin)
    finally:
        nudge.stop()
    assert console.errors == []


def test_vehicle_page_live_values_change_within_3_s(page: Page, server: Server) -> None:
    vin, driving = _pick_vehicle(server)
    nudge = None if driving else Nudge(server, vin)
    try:
        console = sign_in(page, server, at=f"#/vehicle/{vin}")
        expect(page.locator("#live")).to_have_text("live", timeout=10_000)
        speed = page.locator('[data-signal="Vehicle.Speed"]')
        expect(speed.locator(".v")).not_to_have_text("—", timeout=5_000)
        updates = int(page.locator("#values").get_attribute("data-updates") or "0")
        page.wait_for_function(
            f"Number(document.querySelector('#values').dataset.updates) > {updates}",
            timeout=3_000,
        )
        expect(page.locator("#all-signals table")).to_be_visible()
        page.wait_for_timeout(1500)  # charts and map are drawn on the next frames
        page.screenshot(path=str(SCREENSHOTS / "vehicle.png"), full_page=True)
    finally:
        if nudge is not None:
            nudge.stop()
    for service in ("drives", "charges", "battery", "timeline", "stats"):
        expect(page.locator(f'[data-service="{service}"]')).not_to_contain_text("Loading")
    assert console.errors == []


def test_vehicle_page_of_an_unknown_vehicle_says_so(page: Page, server: Server) -> None:
    console = sign_in(page, server, at="#/vehicle/JHMZZ1A1XRV999999")
    expect(page.locator("#vehicle-error .error")).to_contain_text("not registered")
    assert [e for e in console.errors if "404" not in e] == []


def test_health_page_renders(page: Page, server: Server) -> None:
    vin = server.vins[0]
    bad = Batch(
        v=1,
        vin=vin,
        seq=2 * 10**9,
        ts=wall_ms(),
        samples=[(0, "Vehicle.Speed", "fast")],
    )
    server.transport.publish(vin, encode_msgpack(bad))
    console = sign_in(page, server, at="#/health")
    expect(page.locator("#tiles .count")).to_have_count(8, timeout=5_000)
    expect(page.locator("#seen .row").first).to_be_visible()
    row = page.locator("#quarantine tr[data-id]").first
    expect(row).to_contain_text(vin)
    expect(row).to_contain_text("Vehicle.Speed")
    row.click()
    expect(page.locator("#quarantine pre.raw").first).to_contain_text("fast")
    wrong_type = page.locator('#rejects tr[data-reason="wrong_type"]')
    expect(wrong_type.locator("td").nth(1)).to_have_text("1")  # one sample
    page.wait_for_timeout(2500)  # two polls: the throughput chart has a line
    page.screenshot(path=str(SCREENSHOTS / "health.png"), full_page=True)
    assert console.errors == []


def test_health_page_counts_batches_refused_whole_by_reason(page: Page, server: Server) -> None:
    vin = server.vins[0]
    ahead = wall_ms() + 3600_000  # a clock an hour fast: the whole batch
    for seq in range(3):
        batch = Batch(
            v=1, vin=vin, seq=4 * 10**9 + seq, ts=ahead, samples=[(0, "Vehicle.Speed", 1.0)]
        )
        server.transport.publish(vin, encode_msgpack(batch))
    console = sign_in(page, server, at="#/health")
    row = page.locator('#rejects tr[data-reason="ts_in_future"]')
    expect(row).to_be_visible(timeout=5_000)
    expect(row.locator("td").nth(2)).to_have_text(re.compile(r"^[3-9]$|^\d{2,}$"))
    expect(page.locator("#rejects")).not_to_contain_text("Nothing has been rejected")
    assert console.errors == []


@pytest.mark.parametrize("width", [1024, 768])
def test_pages_fit_tablet_widths(page: Page, server: Server, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    console = sign_in(page, server)
    expect(page.locator("#fleet-map")).to_have_attribute("data-markers", re.compile(r"^\d+$"))
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    assert console.errors == []


def test_a_vehicle_token_lands_on_its_own_vehicle(page: Page, server: Server) -> None:
    from volta.registry import Role

    vin = _awake_vin(server)
    vehicle_token = server.platform.registry.issue_token(Role.VEHICLE, vin).token
    console = sign_in(page, server, token=vehicle_token, at="")
    expect(page.locator("body")).to_have_attribute("data-page", "vehicle")
    expect(page.locator("h1")).to_have_text(vin)
    expect(page.locator("#live")).to_have_text("live", timeout=10_000)
    expect(page.locator("#nav")).to_be_hidden()  # fleet and health are operator pages
    assert console.errors == []


def test_drive_detail_renders_its_path_and_charts(page: Page, server: Server) -> None:
    with_drives = max(server.vins, key=lambda vin: _drive_count(server, vin))
    assert _drive_count(server, with_drives), "an hour of the evening commute holds drives"
    console = sign_in(page, server, at=f"#/vehicle/{with_drives}")
    # a finished drive (the newest may still be under way)
    first = page.locator('[data-service="drives"] tr[data-id]').filter(has_not_text="driving").first
    expect(first).to_be_visible(timeout=10_000)
    first.click()
    detail = page.locator('[data-service="drives"] .drive-detail')
    expect(detail.locator("h2")).to_contain_text("km")
    expect(detail.locator("canvas")).to_have_count(4)  # map + speed, power, SoC
    expect(page.locator('[data-service="charges"]')).not_to_contain_text("Loading")
    expect(page.locator('[data-service="battery"]')).not_to_contain_text("Loading")
    expect(page.locator('[data-service="stats"] tbody tr').first).to_be_visible()
    expect(page.locator('[data-service="timeline"]')).not_to_contain_text("Loading")
    page.wait_for_timeout(800)
    detail.screenshot(path=str(SCREENSHOTS / "drive.png"))
    assert console.errors == []


def sign_in_with_password(page: Page, server: Server, name: str, password: str) -> Console:
    console = Console(page)
    page.goto(f"{server.url}/ui/")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#signin-user-button")
    return console


def _user(server: Server, name: str, role: str, vins: list[str]) -> str:
    from volta.registry import Role

    password = f"{name}-password-for-the-browser"
    with contextlib.suppress(Conflict):  # the server is shared by the module's tests
        server.platform.registry.add_user(name, Role(role), password)
    for vin in vins:
        server.platform.registry.assign(name, vin)
    return password


def test_an_operator_signs_in_with_name_and_password(page: Page, server: Server) -> None:
    password = _user(server, "web-olga", "operator", [])
    console = sign_in_with_password(page, server, "web-olga", password)
    expect(page.locator("body")).to_have_attribute("data-page", "fleet")
    expect(page.locator("#nav a[data-page=fleet]")).to_be_visible()
    expect(page.locator("#nav a[data-page=health]")).to_be_visible()
    expect(page.locator("#who")).to_have_text("web-olga · operator")
    kept = page.evaluate("sessionStorage.getItem('volta.token')")
    assert kept.count(".") == 2 and not kept.startswith("ot_")  # the JWT, not a password
    assert password not in page.evaluate("JSON.stringify(sessionStorage)")
    expect(page.locator("#fleet-map")).to_have_attribute("data-markers", re.compile(r"^\d+$"))
    assert console.errors == []


def test_a_driver_lands_on_their_vehicle_and_cannot_open_operator_pages(
    page: Page, server: Server
) -> None:
    vin = _awake_vin(server)
    password = _user(server, "web-dana", "driver", [vin])
    console = sign_in_with_password(page, server, "web-dana", password)
    expect(page.locator("body")).to_have_attribute("data-page", "vehicle")
    expect(page.locator("h1")).to_have_text(vin)
    expect(page.locator("#live")).to_have_text("live", timeout=10_000)  # WebSocket with the JWT
    expect(page.locator("#nav")).to_be_hidden()
    page.goto(f"{server.url}/ui/#/fleet")
    expect(page.locator("body")).to_have_attribute("data-page", "vehicle")
    assert console.errors == []


def test_a_wrong_password_is_refused_with_a_clear_error(page: Page, server: Server) -> None:
    _user(server, "web-erik", "driver", [])
    console = sign_in_with_password(page, server, "web-erik", "not the right password")
    expect(page.locator("#signin-user-error .error")).to_contain_text("Wrong user name or password")
    assert page.evaluate("sessionStorage.getItem('volta.token')") is None
    expect(page.locator("body")).to_have_attribute("data-page", "signin")
    assert [e for e in console.errors if "401" not in e] == []


def _store_a_dc_charge(server: Server, vin: str) -> str:
    """A finished 45-minute 50 kW DC session an hour ago, as the charge detector stores it."""
    import numpy as np

    from volta.charging.core import detect_charges

    end = wall_ms() - 3600_000
    start = end - 45 * 60_000
    ts = np.arange(start - 600_000, end + 600_000, 10_000, dtype=np.int64)
    on = (ts >= start) & (ts < end)
    energy = 20.0 + np.cumsum(np.where(on, 50.0 * 10 / 3600, 0.0))
    cols = {
        "power": (ts, np.where(on, 50_000.0, -50.0)),
        "charging": (ts, on.astype(np.float64)),
        "speed": (ts, np.zeros(len(ts))),
        "energy": (ts, energy),
        "soc": (ts, energy / 77.0 * 100.0),
    }
    [charge] = detect_charges(vin, cols, 2**62)
    assert charge.final and len(charge.curve) > 10
    server.platform.derived.upsert("charge", [charge])
    return charge.id


def test_a_charging_session_draws_its_curve(page: Page, server: Server) -> None:
    vin = "JHMZZ1A1XRV888888"
    with contextlib.suppress(Conflict):
        server.platform.registry.add_vehicle(vin, "Model V")
    charge_id = _store_a_dc_charge(server, vin)
    console = sign_in(page, server, at=f"#/vehicle/{vin}")
    charges = page.locator('[data-service="charges"]')
    expect(charges.locator(f'tr[data-id="{charge_id}"]')).to_contain_text("DC", timeout=10_000)
    chart = charges.locator(".curve .chart")
    expect(chart).to_have_attribute("data-points", re.compile(r"^[1-9]\d+$"), timeout=5_000)
    expect(charges).not_to_contain_text("No curve recorded")
    assert console.errors == []


def test_api_docs_render_with_nothing_from_outside(page: Page, server: Server) -> None:
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    console = Console(page)
    page.goto(f"{server.url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Volta", timeout=10_000)
    expect(page.locator(".opblock").first).to_be_visible()
    assert outside == [] and console.errors == []
