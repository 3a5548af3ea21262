"""Fusion across cars: k distinct cars confirm, medians locate, misses and silence expire,
and nothing published identifies a car."""

from __future__ import annotations

import dataclasses

import numpy as np

from volta.geo.distance import haversine_m
from volta.hazards.fusion import Fusion
from volta.hazards.matching import M_PER_DEG
from volta.hazards.model import DropReason, Kind, Report, Trace

from .roads import T0, long_route, matcher

MIN = 60_000
VIN = "JHMZZ1A1XRV000001"


def _spot(s: float = 320.0) -> tuple[float, float]:
    lat, lon, _ = long_route().at(s)
    return lat, lon


def _report(
    car: str, ts: int, kind: Kind = Kind.POTHOLE, east_m: float = 0.0, **kw: float
) -> Report:
    lat, lon = _spot(kw.get("s", 320.0))
    lon += east_m / (M_PER_DEG * np.cos(np.radians(lat)))
    s = kw.get("s", 320.0)
    edge = matcher().match(np.array([lat]), np.array([lon]), np.array([long_route().at(s)[2]]))
    return Report(
        car, ts, kind, lat, lon, edge[0].edge if edge[0] else 0, 0.0, kw.pop("value", 8.0)
    )


def _trace(car: str, ts: int, s0: float, s1: float) -> Trace:
    pts = [long_route().at(s) for s in np.arange(s0, s1, 9.0)]
    return Trace(
        car,
        np.array([ts + i * 1000 for i in range(len(pts))], dtype=np.int64),
        np.array([p[0] for p in pts]),
        np.array([p[1] for p in pts]),
    )


def test_three_distinct_cars_confirm_a_pothole_two_do_not() -> None:
    f = Fusion(matcher())
    f.add(_report("a", T0), T0)
    f.add(_report("b", T0 + MIN), T0 + MIN)
    assert f.published(T0 + MIN) == []
    f.add(_report("c", T0 + 2 * MIN), T0 + 2 * MIN)
    [h] = f.published(T0 + 2 * MIN)
    assert (h.kind, h.cars) == (Kind.POTHOLE, 3)
    assert float(haversine_m(h.lat, h.lon, *_spot())) < 2.0


def test_one_car_reporting_the_same_pothole_a_hundred_times_confirms_nothing() -> None:
    f = Fusion(matcher())
    for i in range(100):
        f.add(_report(VIN, T0 + i * 1000), T0 + i * 1000)
    assert f.published(T0 + 100_000) == []
    assert f.candidates() == 1


def test_a_malicious_car_alone_cannot_publish_anything() -> None:
    f = Fusion(matcher())
    for i in range(60):  # invented hazards of every kind, all along the road, over and over
        kind = list(Kind)[i % 4]
        f.add(_report(VIN, T0 + i * 1000, kind, s=200.0 + 10.0 * (i % 30)), T0 + i * 1000)
    assert f.published(T0 + MIN) == []


def test_a_flooding_car_cannot_move_a_confirmed_hazard() -> None:
    f = Fusion(matcher())
    for car in "abc":
        f.add(_report(car, T0), T0)
    for i in range(100):
        f.add(_report(VIN, T0 + i * 1000, east_m=12.0), T0 + i * 1000)
    [h] = f.published(T0 + 100_000)
    assert float(haversine_m(h.lat, h.lon, *_spot())) < 2.0


def test_the_fused_position_is_more_precise_than_single_reports() -> None:
    rng = np.random.default_rng(7)
    f = Fusion(matcher())
    errors = []
    for i in range(15):
        east = float(rng.normal(0.0, 8.0))
        r = _report(f"car{i}", T0 + i * MIN, east_m=east, s=320.0 + float(rng.normal(0.0, 8.0)))
        errors.append(float(haversine_m(r.lat, r.lon, *_spot())))
        f.add(r, T0 + i * MIN)
    [h] = f.published(T0 + 15 * MIN)
    fused = float(haversine_m(h.lat, h.lon, *_spot()))
    assert fused < 2.5
    assert fused < float(np.median(errors)) / 2


def test_kinds_at_the_same_place_are_separate_hazards() -> None:
    f = Fusion(matcher())
    for car in "abc":
        f.add(_report(car, T0, Kind.POTHOLE), T0)
        f.add(_report(car, T0, Kind.SLIPPERY, value=-3.0), T0)
    assert sorted(h.kind for h in f.published(T0)) == [Kind.POTHOLE, Kind.SLIPPERY]


def test_cars_passing_without_seeing_ice_expire_it() -> None:
    f = Fusion(matcher())
    for i, car in enumerate("abc"):
        f.add(_report(car, T0 + i * MIN, Kind.SLIPPERY), T0 + i * MIN)
    for i, car in enumerate("xy"):
        f.passed(_trace(car, T0 + (5 + i) * MIN, 250.0, 400.0))
    f.expire(T0 + 10 * MIN)
    assert len(f.published(T0 + 10 * MIN)) == 1  # two misses: still there, less confident
    f.passed(_trace("z", T0 + 7 * MIN, 250.0, 400.0))
    assert f.expire(T0 + 11 * MIN) == ["h0"]  # once the last pass settled (3 min)
    assert f.published(T0 + 11 * MIN) == []


def test_a_car_that_reports_as_it_passes_is_not_a_miss() -> None:
    f = Fusion(matcher())
    for i, car in enumerate("abcdef"):
        f.passed(_trace(car, T0 + i * MIN - 20_000, 250.0, 400.0))
        f.add(_report(car, T0 + i * MIN, Kind.SLIPPERY), T0 + i * MIN)
    f.expire(T0 + 10 * MIN)
    [h] = f.published(T0 + 10 * MIN)
    assert h.cars == 6


def test_a_pass_on_another_road_far_away_is_not_a_miss() -> None:
    f = Fusion(matcher())
    for car in "abc":
        f.add(_report(car, T0, Kind.SLIPPERY), T0)
    for car in "xyzw":
        f.passed(_trace(car, T0 + MIN, 800.0, 1200.0))
    f.expire(T0 + 10 * MIN)
    assert len(f.published(T0 + 10 * MIN)) == 1


def test_ice_nobody_reports_for_25_minutes_is_no_longer_published() -> None:
    f = Fusion(matcher())
    for car in "abc":
        f.add(_report(car, T0, Kind.SLIPPERY), T0)
    assert len(f.published(T0 + 24 * MIN)) == 1
    assert f.published(T0 + 26 * MIN) == []
    assert f.expire(T0 + 119 * MIN) == []
    assert f.expire(T0 + 121 * MIN) == ["h0"]


def test_three_cars_an_hour_apart_still_confirm_ice() -> None:
    f = Fusion(matcher())
    for i, car in enumerate("abc"):
        f.add(_report(car, T0 + i * 50 * MIN, Kind.SLIPPERY), T0 + i * 50 * MIN)
    assert len(f.published(T0 + 100 * MIN)) == 1


def test_a_car_crossing_the_road_has_not_missed_the_hazard() -> None:
    f = Fusion(matcher())
    for car in "abc":
        f.add(_report(car, T0, Kind.SLIPPERY), T0)
    lat, lon = _spot()
    across = (matcher().bearing[f.published(T0)[0].edge] + 90.0) % 360.0
    for car in "xyzw":
        pts = [
            (
                lat + d * np.cos(np.radians(across)) / M_PER_DEG,
                lon + d * np.sin(np.radians(across)) / (M_PER_DEG * np.cos(np.radians(lat))),
            )
            for d in (-18.0, -9.0, 0.0, 9.0, 18.0)
        ]
        f.passed(
            Trace(
                car,
                np.arange(5, dtype=np.int64) * 1000 + T0 + MIN,
                np.array([p[0] for p in pts]),
                np.array([p[1] for p in pts]),
            )
        )
    f.expire(T0 + 10 * MIN)
    assert len(f.published(T0 + 10 * MIN)) == 1


def test_confidence_grows_with_cars_and_falls_with_age_and_misses() -> None:
    f = Fusion(matcher())
    for i in range(3):
        f.add(_report(f"c{i}", T0), T0)
    three = f.published(T0)[0].confidence
    for i in range(3, 9):
        f.add(_report(f"c{i}", T0), T0)
    nine = f.published(T0)[0].confidence
    later = f.published(T0 + 3 * 86_400_000)[0].confidence
    f.passed(_trace("x", T0 + MIN, 250.0, 400.0))
    missed = f.published(T0 + MIN)[0].confidence
    assert 0.0 < later < nine and 0.0 < three < nine <= 1.0
    assert missed < nine


def test_impossible_reports_are_dropped_counted_and_never_move_a_hazard() -> None:
    f = Fusion(matcher())
    for car in "abc":
        f.add(_report(car, T0), T0)
    before = f.published(T0)
    lat, lon = _spot()
    bad = [
        Report("d", T0, Kind.POTHOLE, 91.0, lon, 0, 0.0, 8.0),
        Report("e", T0, Kind.POTHOLE, lat + 1.0, lon, 0, 0.0, 8.0),
        Report("f", T0 + 3_600_000, Kind.POTHOLE, lat, lon + 1e-4, 0, 0.0, 8.0),
        Report("g", T0 - 30 * 86_400_000, Kind.POTHOLE, lat, lon + 1e-4, 0, 0.0, 8.0),
        Report("h", T0, Kind.POTHOLE, float("nan"), lon, 0, 0.0, 8.0),
    ]
    reasons = [f.add(r, T0) for r in bad]
    assert reasons == [
        DropReason.BAD_POSITION,
        DropReason.BAD_POSITION,
        DropReason.BAD_TIME,
        DropReason.STALE,
        DropReason.BAD_POSITION,
    ]
    assert f.dropped == {DropReason.BAD_POSITION: 3, DropReason.BAD_TIME: 1, DropReason.STALE: 1}
    assert f.published(T0) == before


def test_a_published_hazard_carries_no_car_no_track_and_coarse_times() -> None:
    f = Fusion(matcher())
    cars = [f"JHMZZ1A1XRV00000{i}" for i in range(4)]
    for i, car in enumerate(cars):
        ts = T0 + 123_456 + i * 37_000
        f.add(_report(car, ts), ts)
    [h] = f.published(T0 + 10 * MIN)
    names = {fl.name for fl in dataclasses.fields(h)}
    assert names == {
        "hazard_id",
        "kind",
        "lat",
        "lon",
        "edge",
        "osm_way",
        "confidence",
        "cars",
        "first_seen_ms",
        "last_seen_ms",
        "value",
        "direction_deg",
    }
    text = repr(h)
    assert not any(car in text for car in cars)
    assert h.first_seen_ms % (15 * MIN) == 0 and h.last_seen_ms % (15 * MIN) == 0
    assert h.first_seen_ms <= T0 + 123_456 < h.first_seen_ms + 15 * MIN
    assert h.lat == round(h.lat, 5) and h.lon == round(h.lon, 5)


def test_a_report_shows_in_the_very_minute_it_confirms_a_hazard() -> None:
    f = Fusion(matcher())
    for car in "ab":
        f.add(_report(car, T0), T0)
    assert f.published(T0) == []
    f.add(_report("c", T0 + 1000), T0 + 1000)
    assert [h.cars for h in f.published(T0 + 2000)] == [3]
