"""The trip page (#/trip/VIN) as a driver and an operator use it: click the map for origin and
destination, plan, and see the planner's answer drawn, listed and plotted; the planner's
refusals shown in its own words."""

from __future__ import annotations

import contextlib
import itertools
import math
import re
from typing import Any

import httpx
import numpy as np
import pytest

from volta.clock import wall_ms
from volta.errors import Conflict
from volta.geo.osm import default_osm_path, load_roads

from .conftest import SCREENSHOTS, chromium_missing
from .server import Server

if chromium_missing():
    pytest.skip(f"browser tests skipped: {chromium_missing()}", allow_module_level=True)

from playwright.sync_api import Page, Request, expect

from .test_dashboard import _user, sign_in, sign_in_with_password

pytestmark = pytest.mark.slow

# A car of its own (no telemetry, so the fleet cannot move it): the trip gives origin and SoC.
TRIP_CAR = "JHMZZ1A1XRV191919"
LIVE_CAR = "JHMZZ1A1XRV191920"  # a car that reports while the page follows it
RELOAD_CAR = "JHMZZ1A1XRV191921"  # a car whose trip page is opened again after planning
MODEL = "chevrolet_bolt_ev_2020"
LEG_COLORS = [(0x1F, 0x6F, 0xEB), (0x82, 0x50, 0xDF)]  # trip.js: legs alternate


@pytest.fixture(scope="module")
def trip_car(server: Server) -> str:
    with contextlib.suppress(Conflict):
        server.platform.registry.add_vehicle(TRIP_CAR, MODEL)
    return TRIP_CAR


def _plan(server: Server, body: dict[str, Any], vin: str = TRIP_CAR) -> dict[str, Any]:
    r = httpx.post(
        f"{server.url}/v1/vehicles/{vin}/trips",
        json=body,
        headers={"Authorization": f"Bearer {server.operator}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def _stored(server: Server, vin: str) -> dict[str, Any]:
    """The vehicle's newest stored trip (GET /v1/vehicles/{vin}/trips?limit=1)."""
    r = httpx.get(
        f"{server.url}/v1/vehicles/{vin}/trips",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {server.operator}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    [trip] = r.json()
    out: dict[str, Any] = trip
    return out


def _half_way(plan: dict[str, Any]) -> tuple[float, float, float]:
    """A point of the plan's roads half way along: (lon, lat, km from the origin)."""
    line = [p for leg in plan["legs"] for p in leg["geometry"]]
    km = [0.0]
    for (lon0, lat0), (lon1, lat1) in itertools.pairwise(line):
        dx = (lon1 - lon0) * math.cos(math.radians((lat0 + lat1) / 2))
        km.append(km[-1] + math.hypot(dx, lat1 - lat0) * 111.32)
    half = next(i for i, k in enumerate(km) if k >= km[-1] / 2)
    lon, lat = line[half]
    return lon, lat, km[half] * plan["distance_km"] / km[-1]  # scaled as the page scales it


def _report(server: Server, vin: str, token: str, lon: float, lat: float, soc: float) -> None:
    """The car reports its position and SoC (as its own telemetry)."""
    batch = {
        "v": 1,
        "vin": vin,
        "seq": 1,
        "ts": wall_ms(),
        "samples": [
            [0, "Vehicle.CurrentLocation.Latitude", lat],
            [0, "Vehicle.CurrentLocation.Longitude", lon],
            [0, "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", soc],
        ],
    }
    r = httpx.post(
        f"{server.url}/v1/vehicles/{vin}/telemetry",
        json=batch,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text


def _point(text: str) -> dict[str, float]:
    lat, lon = (float(v) for v in text.split(","))
    return {"lat": lat, "lon": lon}


def _leg_colour_near(page: Page, x: float, y: float) -> bool:
    """Whether the map canvas has a leg's colour within 3 px of (x, y) (page pixels)."""
    return bool(
        page.evaluate(
            """([x, y, colours]) => {
              const c = document.querySelector('#trip-map canvas'), r = c.getBoundingClientRect();
              const k = c.width / r.width, px = c.getContext('2d').getImageData(
                Math.round((x - r.left - 3) * k), Math.round((y - r.top - 3) * k),
                Math.round(6 * k), Math.round(6 * k)).data;
              for (let i = 0; i < px.length; i += 4)
                for (const [R, G, B] of colours) {
                  const d = Math.abs(px[i] - R) + Math.abs(px[i + 1] - G) + Math.abs(px[i + 2] - B);
                  if (d < 40) return true;
                }
              return false;
            }""",
            [x, y, LEG_COLORS],
        )
    )


def test_a_driver_plans_a_trip_with_a_charging_stop_by_clicking_the_map(
    page: Page, server: Server, trip_car: str
) -> None:
    password = _user(server, "web-trip-driver", "driver", [trip_car])
    console = sign_in_with_password(page, server, "web-trip-driver", password)
    expect(page.locator("body")).to_have_attribute("data-page", "vehicle")
    page.click("#plan-trip")
    expect(page.locator("body")).to_have_attribute("data-page", "trip")
    canvas = page.locator("#trip-map canvas")
    expect(page.locator("#trip-map")).to_have_attribute("data-roads", "ready")
    box = canvas.bounding_box()
    assert box is not None
    # the shipped extract fills the map: a click left and one right of the centre are on it
    page.select_option("#click-sets", "origin")
    canvas.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.55})
    expect(page.locator("#origin")).not_to_have_value("")
    expect(page.locator("#click-sets")).to_have_value("destination")
    canvas.click(position={"x": box["width"] * 0.72, "y": box["height"] * 0.4})
    expect(page.locator("#destination")).not_to_have_value("")
    # so little charge that the trip needs a stop on the way
    page.fill("#start-soc", "11")
    page.fill("#min-arrival", "11")
    page.fill("#alt-within", "50")
    with page.expect_request(lambda r: r.url.endswith(f"/v1/vehicles/{trip_car}/trips")) as sent:
        page.click("#plan-button")
    result = page.locator("#trip-result")
    expect(result).to_have_attribute("data-state", "planned", timeout=30_000)
    body = sent.value.post_data_json or {}
    asked = {
        "origin": _point(page.input_value("#origin")),
        "destination": _point(page.input_value("#destination")),
        "start_soc": 11,
        "min_arrival_soc": 11,
        "max_charge_soc": 100,
        "alternatives_within_pct": 50,
    }
    assert {k: body.get(k) for k in asked} == asked
    # the planner's own answer, stored as the trip the car is on, to compare the page with
    expected = _stored(server, trip_car)["plan"]
    assert len(expected["stops"]) == 1  # the planner's own answer, to compare the page with
    stop = expected["stops"][0]
    rows = page.locator("#stops-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(stop["name"])
    expect(rows.first).to_contain_text(f"{stop['power_kw']:.0f} kW")
    expect(rows.first).to_contain_text(f"{stop['arrival_soc']:.0f} %")
    expect(rows.first).to_contain_text(f"{stop['departure_soc']:.0f} %")
    expect(rows.first).to_contain_text(f"{stop['charge_min']:.0f} min")
    expect(page.locator("[data-total=distance] b")).to_have_text(
        f"{expected['distance_km']:.1f} km"
    )
    expect(page.locator("[data-total=charge] b")).to_have_text(
        f"{round(expected['charge_min'])} min"
    )
    expect(page.locator("#soc-box")).to_be_visible()
    # the route is drawn through the stop, whose pin is where the planner put it
    pin = page.locator("#trip-map .trip-pin.stop")
    expect(pin).to_have_count(1)
    expect(pin).to_have_attribute("title", stop["name"])
    page.wait_for_timeout(300)  # the fitted view is painted
    pin_box = pin.bounding_box()
    assert pin_box is not None
    assert _leg_colour_near(
        page, pin_box["x"] + pin_box["width"] / 2, pin_box["y"] + pin_box["height"] / 2
    )
    green = page.evaluate(
        """() => { const c = document.querySelector('#soc-plot');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
          for (let i = 0; i < d.length; i += 4)
            if (d[i + 1] > 100 && d[i] < 80 && d[i + 2] < 100) n++;
          return n; }"""
    )
    assert green > 50  # the SoC line is drawn
    # close alternatives (other stations within 50 %: the map is small) are listed; "Use"
    # makes one the plan shown
    alts = expected["alternatives"]
    assert alts, "the extract's other stations give this trip a close alternative"
    alt_rows = page.locator("#alternatives-table tr")
    expect(alt_rows).to_have_count(len(alts))
    first = alts[0]
    expect(alt_rows.first).to_contain_text(" → ".join(s["name"] for s in first["stops"]))
    expect(alt_rows.first).to_contain_text(f"+{first['total_min'] - expected['total_min']:.1f} min")
    page.screenshot(path=str(SCREENSHOTS / "trip.png"), full_page=True)
    # "Use" on the car's stored trip: the server follows the alternative (its live check
    # compares the car with it) and the page shows the server's answer
    follow = f"/v1/vehicles/{trip_car}/trips/{expected['id']}/follow"
    with page.expect_request(lambda r: r.url.endswith(follow)) as used:
        alt_rows.first.locator("button").click()
    assert used.value.post_data_json == {"alternative": 0}
    via = re.escape(" → ".join(s["name"] for s in first["stops"]))
    expect(page.locator("#trip-following")).to_have_text(re.compile(f"^Following: via {via}"))
    expect(rows.first).to_contain_text(first["stops"][0]["name"])
    expect(page.locator("#alternatives-table tr")).to_have_count(len(alts))
    expect(page.locator("#alternatives-table")).to_contain_text(stop["name"])
    stored = _stored(server, trip_car)
    assert stored["id"] == expected["id"] and stored["active"]
    assert stored["plan"]["stops"] == first["stops"] and stored["plan"]["legs"] == first["legs"]

    # The same trip for the car's model, no car: picked, given a start SoC, planned alike
    # (the car has no drives to calibrate it), with nothing of a car followed.
    origin, destination = page.input_value("#origin"), page.input_value("#destination")
    page.click("#for-a-model")
    expect(page.locator("#model-pick")).to_have_value(MODEL)  # the models are listed
    page.select_option("#model-pick", MODEL)
    page.fill("#origin", origin)
    page.fill("#destination", destination)
    page.fill("#min-arrival", "11")
    page.fill("#alt-within", "50")
    page.click("#plan-button")
    expect(page.locator("#trip-error-text")).to_contain_text("Give the start SoC")
    page.fill("#start-soc", "11")
    with page.expect_request(lambda r: r.url.endswith("/v1/trips/plan")) as sent:
        page.click("#plan-button")
    assert (sent.value.post_data_json or {}).get("model") == MODEL
    expect(result).to_have_attribute("data-state", "planned", timeout=30_000)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(stop["name"])
    expect(rows.first).to_contain_text(f"{stop['charge_min']:.0f} min")
    expect(page.locator("[data-total=distance] b")).to_have_text(
        f"{expected['distance_km']:.1f} km"
    )
    expect(page.locator("#soc-box")).to_be_visible()
    expect(page.locator("#trip-map .trip-pin.stop")).to_have_attribute("title", stop["name"])
    expect(page.locator("#trip-live")).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "trip-model.png"), full_page=True)
    # nothing stored for a model: "Use" swaps the alternative in on the page, asking nothing
    asks: list[str] = []
    page.on("request", lambda r: asks.append(r.url) if r.method == "POST" else None)
    page.locator("#alternatives-table tr").first.locator("button").click()
    expect(rows.first).to_contain_text(first["stops"][0]["name"])
    expect(page.locator("#trip-following")).to_be_hidden()
    assert asks == []
    assert console.errors == []


def test_an_off_road_destination_shows_the_planners_reason(
    page: Page, server: Server, trip_car: str
) -> None:
    sign_in(page, server, at=f"#/trip/{trip_car}")
    expect(page.locator("body")).to_have_attribute("data-page", "trip")
    page.fill("#origin", "60.1692, 24.9402")
    page.fill("#destination", "60.2500, 25.0500")  # ~9 km north-east of the extract
    page.fill("#start-soc", "80")
    page.click("#plan-button")
    error = page.locator("#trip-error-text")
    expect(error).to_contain_text("from the nearest road node", timeout=30_000)
    expect(error).to_contain_text("limit 500 m")
    expect(page.locator("#stops-table")).to_have_count(0)
    # an operator finds the planner without a car above the fleet's map
    page.goto(f"{server.url}/ui/#/fleet")
    page.click("#plan-model-trip")
    expect(page.locator("#model-pick")).to_have_value(MODEL)
    expect(page.locator("#click-sets")).to_have_value("origin")


def test_places_by_name_are_suggested_and_a_malformed_point_is_explained(
    page: Page, server: Server, trip_car: str
) -> None:
    """A name typed in the destination box offers the matching places; the one picked is sent
    as its coordinates. A name not picked is sent as typed and resolved by the server. Text
    meant as coordinates but malformed is explained without asking the server."""
    sign_in(page, server, at=f"#/trip/{trip_car}")
    expect(page.locator("body")).to_have_attribute("data-page", "trip")
    sent: list[dict[str, Any]] = []

    def record(r: Request) -> None:
        if r.url.endswith("/trips"):
            sent.append(r.post_data_json or {})

    page.on("request", record)
    page.fill("#destination", "60.17, 240")
    page.click("#plan-button")
    expect(page.locator("#trip-error-text")).to_contain_text("longitude −180…180")
    assert sent == []
    # the museum and the bike station by it both start with "kiasm": the list offers both
    page.fill("#destination", "")
    page.locator("#destination").press_sequentially("kiasm")
    offered = page.locator("#destination-suggestions li")
    expect(offered).to_have_count(2)
    expect(offered.first).to_contain_text("Kiasma museum")
    offered.first.locator("button").click()
    expect(page.locator("#destination")).to_have_value("Kiasma")
    expect(page.locator("#destination-suggestions")).to_be_hidden()
    page.fill("#origin", "asema-aukio")  # typed, not picked: the server resolves it
    page.fill("#start-soc", "80")
    page.fill("#ambient", "-60")
    page.click("#plan-button")
    expect(page.locator("#trip-error-text")).to_contain_text("outside temperature is −40 to 50")
    page.fill("#ambient", "-5")
    page.fill("#payload", "300")
    page.click("#plan-button")
    expect(page.locator("#trip-result")).to_have_attribute("data-state", "planned")
    assert (sent[-1]["ambient_c"], sent[-1]["payload_kg"]) == (-5, 300)
    kiasma = httpx.get(
        f"{server.url}/v1/vehicles/{trip_car}/places/search",
        params={"q": "Kiasma"},
        headers={"Authorization": f"Bearer {server.operator}"},
    ).json()["candidates"][0]
    assert sent[-1]["destination"] == {"lat": kiasma["lat"], "lon": kiasma["lon"]}
    assert sent[-1]["origin"] == "asema-aukio"
    expect(page.locator("#trip-map .trip-pin.destination")).to_have_count(1)


def test_a_server_without_a_road_network_says_trip_planning_is_unavailable(
    page: Page, roadless: Server
) -> None:
    with contextlib.suppress(Conflict):
        roadless.platform.registry.add_vehicle(TRIP_CAR, MODEL)
    sign_in(page, roadless, at=f"#/trip/{TRIP_CAR}")
    page.fill("#origin", "60.1692, 24.9402")
    page.fill("#destination", "60.1740, 24.9484")
    page.fill("#start-soc", "80")
    page.click("#plan-button")
    error = page.locator("#trip-error-text")
    expect(error).to_contain_text("not available on this server", timeout=30_000)
    expect(error).to_contain_text("VOLTA_ROADS")


def test_a_driver_of_another_car_is_told_they_cannot_plan_for_this_one(
    page: Page, server: Server, trip_car: str
) -> None:
    password = _user(server, "web-trip-stranger", "driver", [])
    sign_in_with_password(page, server, "web-trip-stranger", password)
    expect(page.locator("body")).to_have_attribute("data-page", "vehicles")
    page.goto(f"{server.url}/ui/#/trip/{trip_car}")
    expect(page.locator("#trip-error-text")).to_contain_text(
        "You cannot plan trips for this vehicle"
    )
    page.fill("#origin", "60.1692, 24.9402")
    page.fill("#destination", "60.1740, 24.9484")
    page.fill("#start-soc", "80")
    page.click("#plan-button")
    expect(page.locator("#trip-result")).to_have_attribute("data-state", "error")
    expect(page.locator("#trip-error-text")).to_contain_text(
        "You cannot plan trips for this vehicle"
    )
    expect(page.locator("#stops-table")).to_have_count(0)


def test_the_page_follows_the_car_along_its_planned_trip(page: Page, server: Server) -> None:
    """Once a trip is planned, the car's reported position and SoC show how far along the
    route it is and its SoC against the plan's."""
    token = server.platform.registry.add_vehicle(LIVE_CAR, MODEL).token.token
    sign_in(page, server, at=f"#/trip/{LIVE_CAR}")
    origin, destination = "60.1692, 24.9402", "60.1740, 24.9484"
    page.fill("#origin", origin)
    page.fill("#destination", destination)
    page.fill("#start-soc", "80")
    page.click("#plan-button")
    expect(page.locator("#trip-result")).to_have_attribute("data-state", "planned")
    live = page.locator("#trip-live")
    expect(live).to_be_hidden()  # the car has not reported a position

    plan = _plan(
        server,
        {"origin": _point(origin), "destination": _point(destination), "start_soc": 80},
        vin=LIVE_CAR,
    )
    lon, lat, expected_km = _half_way(plan)
    _report(server, LIVE_CAR, token, lon, lat, 71.0)
    expect(live).to_contain_text("along the route", timeout=15_000)  # the next 5 s poll
    shown_km = float(live.get_attribute("data-km") or "nan")
    assert abs(shown_km - expected_km) < 0.02 * plan["distance_km"]
    expect(live).to_contain_text("SoC 71 %")
    expect(page.locator("#trip-map .trip-pin.car")).to_have_count(1)
    # the server's live check of the trip the car is on (its newest plan): 71 % half way is
    # under the plan's SoC at the destination by more than 3 points
    r = httpx.post(
        f"{server.url}/v1/vehicles/{LIVE_CAR}/trips/{plan['id']}/check",
        headers={"Authorization": f"Bearer {server.operator}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    c = r.json()["check"]
    assert not c["as_planned"], c
    check = page.locator("#trip-check")
    expect(check).to_have_attribute("data-as-planned", "false", timeout=15_000)
    expect(check).to_contain_text(
        f"will reach the destination with {c['predicted_soc']:.0f} % instead of the planned"
    )
    expect(check).to_contain_text("Replanned:")


def test_the_trip_the_car_is_on_is_shown_when_the_page_is_opened_again(
    page: Page, server: Server
) -> None:
    """Opened again (a reload, the driver's phone), a car's trip page shows the trip the car is
    on as when it was planned, and follows the car along it; after "Use" on an alternative, the
    plan it follows. A car on no trip gets the empty planner."""
    token = server.platform.registry.add_vehicle(RELOAD_CAR, MODEL).token.token
    password = _user(server, "web-trip-reloader", "driver", [RELOAD_CAR])
    sign_in_with_password(page, server, "web-trip-reloader", password)
    expect(page.locator("body")).to_have_attribute("data-page", "vehicle")
    with page.expect_response(lambda r: r.url.endswith(f"/{RELOAD_CAR}/trips?limit=1")):
        page.click("#plan-trip")
    expect(page.locator("#trip-empty")).to_be_visible()
    expect(page.locator("#trip-planned")).to_be_hidden()
    # the map's westernmost and easternmost roads, with so little charge that a stop is needed
    g = load_roads(default_osm_path())
    west, east = int(np.argmin(g.lon)), int(np.argmax(g.lon))
    page.fill("#origin", f"{g.lat[west]:.7f}, {g.lon[west]:.7f}")
    page.fill("#destination", f"{g.lat[east]:.7f}, {g.lon[east]:.7f}")
    page.fill("#start-soc", "11")
    page.fill("#min-arrival", "11")
    page.fill("#alt-within", "50")
    page.click("#plan-button")
    result = page.locator("#trip-result")
    expect(result).to_have_attribute("data-state", "planned", timeout=30_000)
    shown = ["#trip-totals", "#stops-table", "#alternatives-table"]
    planned = {sel: page.inner_text(sel) for sel in shown}
    stored = _stored(server, RELOAD_CAR)
    plan = stored["plan"]
    assert plan["stops"] and plan["alternatives"], plan  # a stop, and another way to charge
    lon, lat, half_km = _half_way(plan)
    _report(server, RELOAD_CAR, token, lon, lat, 9.0)
    r = httpx.post(  # the server's live check now, not at the watch's next round
        f"{server.url}/v1/vehicles/{RELOAD_CAR}/trips/{stored['id']}/check",
        headers={"Authorization": f"Bearer {server.operator}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text

    page.reload()
    expect(result).to_have_attribute("data-state", "planned")
    when = page.locator("#trip-planned")
    expect(when).to_have_text(re.compile(r"^Planned \d\d:\d\d — the car is on this trip"))
    assert {sel: page.inner_text(sel) for sel in shown} == planned
    stop = plan["stops"][0]
    expect(page.locator("#trip-map .trip-pin.stop")).to_have_attribute("title", stop["name"])
    expect(page.locator("#soc-box")).to_be_visible()
    live = page.locator("#trip-live")
    expect(live).to_contain_text("along the route")  # the car's report before the reload
    assert abs(float(live.get_attribute("data-km") or "nan") - half_km) < 0.02 * plan["distance_km"]
    expect(live).to_contain_text("SoC 9 %")
    expect(page.locator("#trip-check")).to_have_attribute("data-as-planned", re.compile("."))

    # "Use" on the alternative: the server follows it; opened again, that plan is shown
    alt = plan["alternatives"][0]
    with page.expect_response(lambda r: r.url.endswith(f"/trips/{stored['id']}/follow")):
        page.locator("#alternatives-table tr").first.locator("button").click()
    page.reload()
    expect(when).to_be_visible()
    rows = page.locator("#stops-table tbody tr")
    expect(rows).to_have_count(len(alt["stops"]))
    expect(rows.first).to_contain_text(alt["stops"][0]["name"])
    expect(page.locator("#alternatives-table")).to_contain_text(stop["name"])
    expect(page.locator("[data-total=distance] b")).to_have_text(f"{alt['distance_km']:.1f} km")
