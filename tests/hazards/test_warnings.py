"""Warnings to the cars heading towards a confirmed hazard, on the Helsinki extract: only cars
whose most probable path reaches the hazard within the horizon, each once, with the distance
along the road; through the bus follower when three cars confirm a pothole; and over the real
Mosquitto onto the car's own notify topic."""

from __future__ import annotations

import itertools

import msgspec
import numpy as np
import pytest

from tests.servicekit.notify import car_listening
from volta.bus import MemoryBus, StoredGroup
from volta.catalog import default_catalog
from volta.hazards.detect import HEADING, LAT, LON, SPEED
from volta.hazards.follow import HazardFollower
from volta.hazards.model import Hazard, Kind
from volta.hazards.sensing import RoadSensing
from volta.hazards.warnings import HazardWarner, HazardWarning

from .roads import T0, drive, helsinki, long_route, matcher
from .test_follow import _stored

CARS = ["JHMZZ1A1XRV000001", "JHMZZ1A1XRV000002", "JHMZZ1A1XRV000003"]
BEHIND = "JHMZZ1A1XRV000004"


class Inbox:
    def __init__(self) -> None:
        self.got: list[tuple[str, HazardWarning]] = []

    def __call__(self, vin: str, payload: bytes) -> None:
        self.got.append((vin, msgspec.json.decode(payload, type=HazardWarning)))


def _straight_edge() -> int:
    """An edge whose most probable path runs at least 400 m."""
    warner = HazardWarner(matcher(), Inbox())
    g = helsinki()
    for e in range(g.n_edges):
        path = warner.horizon(e)
        if len(path) >= 4 and max(path.values()) >= 400.0:
            return e
    raise AssertionError("no straight road on the map")


def _hazard(edge: int, offset_m: float, hazard_id: str = "h1") -> Hazard:
    lat, lon = matcher().point(edge, offset_m)
    return Hazard(hazard_id, Kind.POTHOLE, lat, lon, edge, 0, 0.7, 3, T0, T0, 9.0)


def _fix(edge: int, offset_m: float, reverse: bool = False) -> tuple[float, float, float]:
    lat, lon = matcher().point(edge, offset_m)
    heading = float(matcher().bearing[edge])
    return lat, lon, (heading + 180.0) % 360.0 if reverse else heading


def test_the_horizon_is_a_road_straight_on_without_turning_back() -> None:
    g, bearing = helsinki(), matcher().bearing
    warner = HazardWarner(matcher(), Inbox())
    path = list(warner.horizon(_straight_edge()).items())
    for (a, start_a), (b, start_b) in itertools.pairwise(path):
        assert int(g.dst[a]) == int(g.src[b]) and int(g.dst[b]) != int(g.src[a])
        assert start_b == pytest.approx(start_a + float(g.length_m[a]))
        options = [x for x in range(int(g.indptr[g.dst[a]]), int(g.indptr[g.dst[a] + 1]))
                   if int(g.dst[x]) != int(g.src[a])]  # fmt: skip
        turn = [abs((bearing[x] - bearing[a] + 180.0) % 360.0 - 180.0) for x in options]
        assert b == options[int(np.argmin(turn))]


def test_a_car_is_warned_once_of_a_hazard_on_its_road_ahead_and_not_when_past_it() -> None:
    g = helsinki()
    warner_inbox = Inbox()
    warner = HazardWarner(matcher(), warner_inbox)
    start = _straight_edge()
    path = list(warner.horizon(start).items())
    target, target_start = path[3]
    warner.hazards([_hazard(target, 0.5 * float(g.length_m[target]))], T0)
    ahead, passed, away = "JHMZZ1A1XRV000011", "JHMZZ1A1XRV000012", "JHMZZ1A1XRV000013"
    warner.car(ahead, *_fix(start, 1.0), T0 + 1)
    warner.car(ahead, *_fix(start, 2.0), T0 + 2)  # the next fix: no second warning
    warner.car(passed, *_fix(path[4][0], 1.0), T0 + 3)
    warner.car(away, *_fix(start, 1.0, reverse=True), T0 + 4)
    [(vin, w)] = warner_inbox.got
    assert vin == ahead and w.hazard_id == "h1" and w.kind == "pothole" and w.ts == T0 + 1
    expected = target_start + 0.5 * float(g.length_m[target]) - 1.0
    assert w.distance_m == pytest.approx(expected, abs=3.0)  # the offsets are matched to 3 m
    assert warner.ahead(passed) == {} and warner.ahead(away) == {}


def test_a_new_hazard_warns_the_cars_already_heading_there_but_not_beyond_the_horizon() -> None:
    inbox = Inbox()
    start = _straight_edge()
    long_path = list(HazardWarner(matcher(), Inbox()).horizon(start).items())
    near = next(e for e, s in long_path if s > 50.0)
    far = next((e for e, s in long_path if s > 350.0), None)
    assert far is not None, "the straight road runs past 350 m"
    warner = HazardWarner(matcher(), inbox, horizon_m=300.0)
    warner.car(CARS[0], *_fix(start, 0.0), T0)
    assert inbox.got == []
    warner.hazards([_hazard(near, 1.0, "near"), _hazard(far, 1.0, "far")], T0 + 5)
    assert [(v, w.hazard_id, w.ts) for v, w in inbox.got] == [(CARS[0], "near", T0 + 5)]


def test_three_cars_confirming_a_pothole_warn_the_car_behind_through_the_bus() -> None:
    bus, inbox = MemoryBus(), Inbox()
    now = T0 + 600_000
    warner = HazardWarner(matcher(), inbox)
    follower = HazardFollower(
        bus, default_catalog(), RoadSensing(matcher()), lambda: now, warner=warner
    )
    route = long_route()
    pothole_m = 200.0 + 12 * 9.0  # where the cars below hit it
    [on] = matcher().match(*(np.array([v]) for v in route.at(pothole_m)))
    assert on is not None

    def heading_there(s: float) -> bool:
        [m] = matcher().match(*(np.array([v]) for v in route.at(s)))
        return m is not None and on.edge in warner.horizon(m.edge)

    # the farthest point back on the route from which the road straight on leads to it
    behind_m = min(s for s in range(int(pothole_m) - 20, 0, -5) if heading_there(float(s)))
    assert all(heading_there(float(s)) for s in range(behind_m, int(pothole_m) - 20, 5))
    follower.start()
    try:
        # the car behind reports its fix first, before the pothole is known: not warned yet
        fix = zip((LAT, LON, HEADING), route.at(float(behind_m)), strict=True)
        behind: list[tuple[int, str, object]] = [(T0, SPEED, 30.0), *[(T0, p, v) for p, v in fix]]
        bus.publish("stored.0", StoredGroup([_stored(BEHIND, behind)]))
        assert inbox.got == []
        for i, vin in enumerate(CARS):
            samples = drive(route, [9.0] * 30, T0 + i * 60_000, 200.0, vertical={12: 9.0})
            bus.publish("stored.0", StoredGroup([_stored(vin, samples)]))
        [h] = follower.hazards(now)
        warned = {vin: w for vin, w in inbox.got}
        assert BEHIND in warned, f"the car {behind_m} m along the route, heading to the pothole"
        assert warned[BEHIND].hazard_id == h.hazard_id
        # along the same road: the route's distance, to the metres of matching
        assert warned[BEHIND].distance_m == pytest.approx(pothole_m - behind_m, abs=15.0)
        assert msgspec.json.encode(warned[BEHIND]).count(b"JHMZZ") == 0  # no car's identity
    finally:
        follower.stop()


@pytest.mark.services
def test_a_warning_reaches_the_car_on_its_own_notify_topic_over_mosquitto() -> None:
    with car_listening(BEHIND) as car:
        notifier, got, arrived = car.notifier, car.got, car.arrived
        warner = HazardWarner(matcher(), notifier.send)
        start = _straight_edge()
        target = list(warner.horizon(start))[2]
        warner.hazards([_hazard(target, 1.0)], T0)
        warner.car(BEHIND, *_fix(start, 0.0), T0)
        assert arrived.wait(10), "no warning arrived"
        w = msgspec.json.decode(got[0], type=HazardWarning)
        assert w.hazard_id == "h1" and notifier.sent == 1
