"""The simulator on the road graph: drive profiles keep to limits and physics; potholes are fixed
by the seed."""

from __future__ import annotations

import numpy as np
import pytest

from volta.geo.distance import haversine_m
from volta.sim.hazards import place_potholes
from volta.sim.trips import drive_profile, make_driver, make_places

from .simrun import helsinki


def test_drive_profile_keeps_to_limits_and_physical_acceleration() -> None:
    g = helsinki()
    places = make_places(g, 5)
    rng = np.random.default_rng(5)
    for _ in range(10):
        d = make_driver(places, rng)
        a, b = rng.choice(places.anchors, 2, replace=False).tolist()
        r = g.route(a, b)
        assert r is not None
        p = drive_profile(g, r.nodes, d, rng)
        assert np.all(p.speed <= p.limit + 1e-9)
        assert p.speed[0] == 0 and p.speed[-1] == 0
        assert p.accel.max() <= d.accel_mps2 + 1e-6
        assert p.length_m == pytest.approx(r.length_m)
        step = haversine_m(p.lat[:-1], p.lon[:-1], p.lat[1:], p.lon[1:])
        assert np.all(step <= p.vmean * 1.001 + 1e-6)  # GNSS moves as the speed says, no jumps


def test_potholes_are_fixed_by_seed_and_lie_on_both_directions() -> None:
    g = helsinki()
    a, b = place_potholes(g, 9), place_potholes(g, 9)
    assert np.array_equal(a.edge, b.edge) and np.array_equal(a.offset_m, b.offset_m)
    assert not np.array_equal(place_potholes(g, 10).edge, a.edge)
    _, counts = np.unique(a.hazard_id, return_counts=True)
    assert counts.max() == 2  # a two-way road carries the pothole in both directions
    for e, off, la, lo in zip(a.edge, a.offset_m, a.lat, a.lon, strict=True):
        s = g.src[e]
        assert float(haversine_m(g.lat[s], g.lon[s], la, lo)) == pytest.approx(
            off, rel=0.02, abs=0.5
        )
