"""Drives fit the map they run on: on the ~1.5 km Helsinki extract a trip is a few km at city
speeds, not a 50 km loop of the same streets for three hours."""

from __future__ import annotations

import numpy as np

from volta.geo.distance import haversine_m
from volta.sim.trips import fit_to_map, make_places

from .simrun import fleet_day, helsinki


def test_drives_are_a_few_km_at_city_speeds_on_a_small_map() -> None:
    g = helsinki()
    diagonal_m = float(haversine_m(g.lat.min(), g.lon.min(), g.lat.max(), g.lon.max()))
    assert diagonal_m < 3000  # the shipped extract: the bounds below are about its size
    drives = fleet_day().truth.drives
    km = np.array([d.distance_m for d in drives]) / 1000
    hours = np.array([d.end_ms - d.start_ms for d in drives]) / 3.6e6
    assert len(drives) > 40
    assert km.max() <= 4 * diagonal_m / 1000  # was 56 km: 20 crossings of the map
    assert 1.0 <= float(np.median(km)) <= 6.0
    assert hours.max() * 60 <= 30  # was 170 min
    kmh = km / hours
    longer = km > 1.0  # a few-hundred-metre hop can be mostly a wait at a junction
    assert np.all((kmh[longer] >= 8) & (kmh[longer] <= 45))
    assert 15 <= float(np.median(kmh)) <= 35  # central Helsinki traffic, junction stops included


def test_trips_keep_their_length_on_a_big_map_and_never_exceed_a_small_one() -> None:
    span = make_places(helsinki(), 0).span_s
    assert 300 < span < 1200  # the longest anchor-to-anchor drive here, free-flow seconds
    assert fit_to_map(60.0, span) > 0.9 * 60.0  # a short errand stays what it is
    assert fit_to_map(12_000 / 11.0, span) < span  # a 12 km commute fits the map
    assert fit_to_map(80_000 / 11.0, span) <= span
    assert fit_to_map(12_000 / 11.0, 100_000.0) > 0.99 * 12_000 / 11.0  # a region: unchanged
