"""Sudden slow-downs per direction of travel: a queue on one carriageway is confirmed, cleared,
published and warned about for that direction only, in the fusion, the warnings and the
simulator's truth; potholes stay hazards for both directions."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest

from volta.hazards.fusion import Fusion
from volta.hazards.model import Kind, Report, Trace
from volta.hazards.warnings import HazardWarner, HazardWarning
from volta.sim.environment import Climate
from volta.sim.surface import Surface, SurfaceRates

from .roads import T0, helsinki, matcher

MIN = 60_000
MARCH = 1_774_396_800_000


def _two_way(min_m: float = 100.0) -> tuple[int, int]:
    """A long road segment with no other road near its middle 80 m, and the same road the
    other way."""
    g, m = helsinki(), matcher()
    for e in np.argsort(-g.length_m).tolist():
        length = float(g.length_m[e])
        if length < min_m:
            break
        s, d = int(g.src[e]), int(g.dst[e])
        back = [x for x in range(int(g.indptr[d]), int(g.indptr[d + 1])) if int(g.dst[x]) == s]
        if not back:
            continue
        ats = np.arange(0.5 * length - 40.0, 0.5 * length + 41.0, 10.0)
        pts = np.array([m.point(e, a) for a in ats])
        for edge, turn in ((e, 0.0), (back[0], 180.0)):
            heading = np.full(len(ats), (float(m.bearing[e]) + turn) % 360.0)
            if any(x is None or x.edge != edge for x in m.match(pts[:, 0], pts[:, 1], heading)):
                break
        else:
            return e, back[0]
    raise AssertionError("no two-way road on the map")


def _report(car: str, ts: int, edge: int, offset_m: float, kind: Kind = Kind.SLOWDOWN) -> Report:
    lat, lon = matcher().point(edge, offset_m)
    return Report(car, ts, kind, lat, lon, edge, offset_m, 9.0)


def _trace(car: str, ts: int, edge: int, a_m: float, b_m: float) -> Trace:
    """A car driving `edge` from offset a_m to b_m, a point every 8 m (a second apart)."""
    pts = [matcher().point(edge, s) for s in np.arange(a_m, b_m, 8.0)]
    return Trace(
        car,
        np.array([ts + i * 1000 for i in range(len(pts))], dtype=np.int64),
        np.array([p[0] for p in pts]),
        np.array([p[1] for p in pts]),
    )


def _queue(f: Fusion, edge: int, at_m: float, cars: str = "abc") -> None:
    for i, car in enumerate(cars):
        f.add(_report(car, T0 + i * 1000, edge, at_m), T0 + i * 1000)


def test_cars_stopped_on_the_other_carriageway_do_not_confirm_a_queue() -> None:
    there, back = _two_way()
    at = 0.5 * float(helsinki().length_m[there])
    f = Fusion(matcher())
    _queue(f, there, at, "ab")
    _queue(f, back, float(helsinki().length_m[back]) - at, "cd")  # the same spot, other way
    assert f.published(T0 + MIN) == []  # four cars, but two a direction
    f.add(_report("e", T0 + 30_000, there, at + 5.0), T0 + 30_000)
    [h] = f.published(T0 + MIN)
    assert (h.kind, h.cars, h.edge) == (Kind.SLOWDOWN, 3, there)
    assert h.direction_deg == pytest.approx(float(matcher().bearing[there]), abs=0.1)


def test_only_cars_driving_the_queued_way_clear_a_queue() -> None:
    there, back = _two_way()
    length = float(helsinki().length_m[there])
    at = 0.5 * length
    f = Fusion(matcher())
    _queue(f, there, at)
    for i, car in enumerate("vwxyz"):  # free-flowing traffic on the other carriageway
        f.passed(_trace(car, T0 + MIN + i * 1000, back, length - at - 40.0, length - at + 40.0))
    assert f.expire(T0 + 5 * MIN) == []
    assert len(f.published(T0 + 5 * MIN)) == 1
    for i, car in enumerate("klm"):  # the queue's own way, driving through freely
        f.passed(_trace(car, T0 + 2 * MIN + i * 1000, there, at - 40.0, at + 40.0))
    assert len(f.expire(T0 + 6 * MIN)) == 1
    assert f.published(T0 + 6 * MIN) == []


def test_a_pothole_is_one_hazard_for_both_directions() -> None:
    there, back = _two_way()
    at = 0.5 * float(helsinki().length_m[there])
    f = Fusion(matcher())
    f.add(_report("a", T0, there, at, Kind.POTHOLE), T0)
    f.add(_report("b", T0, there, at, Kind.POTHOLE), T0)
    f.add(_report("c", T0, back, float(helsinki().length_m[back]) - at, Kind.POTHOLE), T0)
    [h] = f.published(T0)
    assert h.cars == 3 and h.direction_deg is None


def test_a_queue_warns_the_cars_driving_towards_it_on_its_carriageway_only() -> None:
    there, back = _two_way()
    g = helsinki()
    length = float(g.length_m[there])
    at = 0.5 * length
    f = Fusion(matcher())
    _queue(f, there, at)
    for i, car in enumerate("pqr"):
        f.add(_report(car, T0 + i * 1000, there, at + 2.0, Kind.POTHOLE), T0 + i * 1000)
    published = f.published(T0 + MIN)
    assert sorted(h.kind for h in published) == [Kind.POTHOLE, Kind.SLOWDOWN]
    got: list[tuple[str, str]] = []

    def send(vin: str, payload: bytes) -> None:
        got.append((vin, msgspec.json.decode(payload, type=HazardWarning).kind))

    warner = HazardWarner(matcher(), send)
    warner.hazards(published, T0 + MIN)
    for vin, edge, offset in (
        ("SAMEWAY", there, at - 45.0),
        ("OTHERWAY", back, length - at - 45.0),
    ):
        lat, lon = matcher().point(edge, offset)
        warner.car(vin, lat, lon, float(matcher().bearing[edge]), T0 + MIN)
    assert sorted(got) == [("OTHERWAY", "pothole"), ("SAMEWAY", "pothole"), ("SAMEWAY", "slowdown")]


def test_the_simulator_queues_one_direction_and_its_truth_says_which() -> None:
    g = helsinki()
    climate = Climate(4, float(np.mean(g.lat)), float(np.mean(g.lon)))
    surface = Surface(g, 4, SurfaceRates(slowdowns_per_km=1.0), climate, MARCH)
    episodes = [h for h in surface.truth(MARCH + 86_400_000) if h.kind == "slowdown"]
    checked = 0
    for site in surface.queues:
        s, d = int(g.src[site.edge]), int(g.dst[site.edge])
        back = [x for x in range(int(g.indptr[d]), int(g.indptr[d + 1])) if int(g.dst[x]) == s]
        mine = [h for h in episodes if h.hazard_id == site.hazard_id]
        if not back or not mine:
            continue
        h = mine[0]
        assert h.heading_deg == pytest.approx(float(matcher().bearing[site.edge]), abs=1.0)
        assert surface.caps(np.array([site.edge]), h.start_ms)  # queued this way ...
        assert surface.caps(np.array([back[0]]), h.start_ms) == ()  # ... not the other
        checked += 1
    assert checked >= 2
    assert all(h.heading_deg == -1.0 for h in surface.truth(MARCH) if h.kind != "slowdown")
