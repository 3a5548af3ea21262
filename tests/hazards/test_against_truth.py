"""Road sensing against the simulator's truth (`volta.hazards.evaluation`, which
bench/hazards_week.py runs at a week of 1,000 cars), here at 80 cars for 24 h on the Helsinki
graph (about 2.0 million samples: city trips of a few km), every hazard kind on."""

from __future__ import annotations

import statistics
from functools import cache

from volta.hazards.evaluation import (
    Figures,
    bumps_published,
    ice_episodes,
    location_errors,
    precision_recall,
    run,
)
from volta.hazards.model import Kind

MIN = 60_000


@cache
def _fig() -> Figures:
    return run(vehicles=80, hours=24.0, seed=3)


def test_potholes_passed_by_three_cars_are_found_with_precision_and_recall_of_90_percent() -> None:
    precision, recall, published, truths = precision_recall(_fig(), Kind.POTHOLE)
    assert truths >= 40 and published >= 36
    assert precision >= 0.9
    assert recall >= 0.9


def test_the_median_pothole_is_located_within_15_m() -> None:
    errors = location_errors(_fig(), Kind.POTHOLE)
    assert len(errors) >= 36
    assert statistics.median(errors) < 15.0


def test_speed_bumps_are_never_published() -> None:
    assert len(_fig().truths("speed_bump")) >= 5
    assert bumps_published(_fig()) == 0


def test_ice_is_confirmed_10_minutes_after_the_third_car_and_gone_30_after_melting() -> None:
    episodes = ice_episodes(_fig())
    assert len(episodes) >= 4
    for e in episodes:
        assert e.confirmed_ms is not None, e
        assert e.confirmed_ms - e.third_car_ms <= 10 * MIN, e
        if e.melted_ms:
            assert e.expired_ms is not None and e.expired_ms - e.melted_ms <= 30 * MIN, e


def test_rough_road_and_ice_reports_land_on_their_stretches() -> None:
    for kind in (Kind.ROUGH_ROAD, Kind.SLIPPERY):
        precision, recall, published, truths = precision_recall(_fig(), kind)
        assert published >= 3 and truths >= 3
        assert precision >= 0.9 and recall >= 0.9


def test_nothing_published_identifies_a_car() -> None:
    fig = _fig()
    vins = [v.vin for v in fig.truth.vehicles]
    for seen in fig.seen.values():
        h = seen.hazard
        assert h.cars >= 3
        assert not any(v in repr(h) for v in vins)
        assert h.first_seen_ms % (15 * MIN) == 0 and h.last_seen_ms % (15 * MIN) == 0
