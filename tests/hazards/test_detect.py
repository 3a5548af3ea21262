"""Per-car detection on a real route: potholes, bumps, rough road, ice, slow-downs, bad input."""

from __future__ import annotations

import numpy as np

from volta.geo.distance import haversine_m
from volta.hazards.detect import LAT, LON, SPEED, CarState, Detection, detect
from volta.hazards.model import DropReason, Kind, Report

from .roads import T0, drive, long_route, matcher, position

CRUISE = [9.0] * 40


def _run(samples: list[tuple[int, str, object]], now_ms: int = T0 + 3_600_000) -> Detection:
    return detect(CarState("car-1"), samples, matcher(), now_ms)


def test_pothole_jolt_at_speed_is_reported_where_it_was_hit() -> None:
    path = long_route()
    out = _run(drive(path, CRUISE, start_m=200.0, vertical={12: 9.5}))
    assert [r.kind for r in out.reports] == [Kind.POTHOLE]
    r = out.reports[0]
    # the jolt is the peak of second 12: the wheel hit the hole during that second
    lat, lon, _ = path.at(position(path, CRUISE, 12, 200.0) + 4.5)
    assert float(haversine_m(r.lat, r.lon, lat, lon)) < 3.0
    assert r.value == 9.5 and r.car == "car-1" and r.ts_ms == T0 + 12_000
    assert abs(matcher().bearing[r.edge] - path.at(position(path, CRUISE, 12, 200.0))[2]) < 1.0


def test_speed_bump_taken_slowly_after_braking_is_not_a_hazard() -> None:
    speeds = [9.0] * 10 + [7.0, 5.0, 4.0, 4.0, 6.0] + [9.0] * 10
    out = _run(drive(long_route(), speeds, start_m=200.0, vertical={13: 6.0}))
    assert out.reports == ()
    assert out.speed_bumps == 1


def test_the_same_jolt_at_cruising_speed_is_a_pothole() -> None:
    out = _run(drive(long_route(), CRUISE, start_m=200.0, vertical={13: 6.0}))
    assert [r.kind for r in out.reports] == [Kind.POTHOLE]
    assert out.speed_bumps == 0


def test_many_small_jolts_in_a_row_are_one_rough_road_report_in_their_middle() -> None:
    path = long_route()
    rough = {i: 2.0 + 0.3 * (i % 3) for i in range(10, 22)}
    out = _run(drive(path, CRUISE, start_m=200.0, vertical=rough))
    assert [r.kind for r in out.reports] == [Kind.ROUGH_ROAD]
    lat, lon, _ = path.at(position(path, CRUISE, 16, 200.0))
    assert float(haversine_m(out.reports[0].lat, out.reports[0].lon, lat, lon)) < 12.0


def test_a_few_small_jolts_are_not_rough_road() -> None:
    out = _run(drive(long_route(), CRUISE, start_m=200.0, vertical={10: 2.0, 14: 2.0, 20: 2.5}))
    assert out.reports == ()


def test_abs_in_the_cold_is_a_slippery_road_and_in_the_warm_is_not() -> None:
    path = long_route()
    cold = _run(drive(path, CRUISE, start_m=200.0, adas={5, 6, 8}, air_c=-2.0))
    assert [r.kind for r in cold.reports] == [Kind.SLIPPERY]  # one report for one patch
    assert cold.reports[0].value == -2.0
    warm = _run(drive(path, CRUISE, start_m=200.0, adas={5, 6, 8}, air_c=12.0))
    assert warm.reports == ()
    assert warm.warm_interventions == 3


def test_sudden_stop_on_a_fast_road_then_driving_on_is_a_slowdown() -> None:
    path = long_route()
    speeds = [9.0] * 8 + [5.0, 1.0, 0.0, 0.0, 0.5, 1.0, 0.0] + [3.0, 6.0, 9.0, 9.0]
    out = _run(drive(path, speeds, start_m=250.0))
    assert [r.kind for r in out.reports] == [Kind.SLOWDOWN]
    lat, lon, _ = path.at(position(path, speeds, 9, 250.0))
    assert float(haversine_m(out.reports[0].lat, out.reports[0].lon, lat, lon)) < 5.0
    assert out.reports[0].value == 9.0


def test_stopping_for_good_is_a_destination_not_a_slowdown() -> None:
    speeds = [9.0] * 8 + [5.0, 1.0] + [0.0] * 120 + [5.0, 9.0]
    out = _run(drive(long_route(), speeds, start_m=250.0))
    assert out.reports == ()


def test_stop_at_a_junction_is_traffic_not_a_slowdown() -> None:
    path = long_route()
    junction = next(
        s for s in np.arange(150.0, 1000.0, 1.0) if matcher().near_junction(*path.at(s)[:2], 5.0)
    )
    speeds = [9.0] * 8 + [5.0, 1.0, 0.0, 0.0, 6.0, 9.0]
    out = _run(drive(path, speeds, start_m=float(junction) - 77.0))
    assert out.reports == ()


def test_detection_is_incremental_batches_give_what_one_call_gives() -> None:
    path = long_route()
    speeds = [9.0] * 8 + [5.0, 1.0, 0.0, 0.0, 6.0] + [9.0] * 30
    samples = drive(path, speeds, start_m=250.0, vertical={25: 9.0, 32: 7.0})
    whole = _run(samples)
    state, reports = CarState("car-1"), list[Report]()
    for k in range(0, len(speeds), 10):
        part = [s for s in samples if T0 + k * 1000 <= s[0] < T0 + (k + 10) * 1000]
        step = detect(state, part, matcher(), T0 + 3_600_000)
        state, reports = step.state, reports + list(step.reports)
    assert reports == list(whole.reports)
    assert [r.kind for r in reports] == [Kind.SLOWDOWN, Kind.POTHOLE, Kind.POTHOLE]
    assert state == whole.state


def test_impossible_positions_and_timestamps_are_dropped_and_counted() -> None:
    path = long_route()
    good = drive(path, [9.0] * 5, start_m=200.0)
    lat, lon, _ = path.at(250.0)
    bad: list[tuple[int, str, object]] = [
        *((T0 + 10_000, p, v) for p, v in ((SPEED, 30.0), (LAT, 95.0), (LON, 24.9))),
        *((T0 + 11_000, p, v) for p, v in ((SPEED, 30.0), (LAT, 0.0), (LON, 0.0))),
        *((T0 + 12_000, p, v) for p, v in ((SPEED, 30.0), (LAT, lat + 0.05), (LON, lon))),
        *((T0 + 99_000_000, p, v) for p, v in ((SPEED, 30.0), (LAT, lat), (LON, lon))),
        *((800_000_000_000, p, v) for p, v in ((SPEED, 30.0), (LAT, lat), (LON, lon))),
    ]
    out = _run(good + bad, now_ms=T0 + 60_000)
    assert out.dropped == {
        DropReason.BAD_POSITION: 2,
        DropReason.POSITION_JUMP: 1,
        DropReason.BAD_TIME: 2,
    }
    again = detect(out.state, good, matcher(), T0 + 60_000)
    assert again.dropped == {DropReason.TIME_BACKWARDS: 5}
    assert out.reports == () and again.reports == ()
    assert list(out.trace.ts_ms) == [T0 + i * 1000 for i in range(5)]


def test_a_jolt_while_crawling_is_a_speed_bump() -> None:
    speeds = [3.0] * 20  # out of a junction at walking pace, over the bump
    out = _run(drive(long_route(), speeds, start_m=200.0, vertical={10: 6.5}))
    assert out.reports == ()
    assert out.speed_bumps == 1
