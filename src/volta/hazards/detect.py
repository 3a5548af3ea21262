"""Per-car hazard detection: a car's state and its new samples in; reports, trace, state out.

`detect` is pure and incremental: it reads no clock (the caller passes `now_ms`, used only to
refuse timestamps from the future) and does no I/O; everything it must remember between calls
is in the frozen `CarState` it returns. It works on the VSS signals a car already sends at 1 Hz
while driving:

- `Vehicle.Acceleration.Vertical` (the peak of the second): a strong jolt at speed is a
  pothole; a jolt at low speed that the driver braked for is a speed bump (expected, harmless:
  counted, never reported); many small jolts in a row are rough road.
- `Vehicle.ADAS.ABS/ESC/TCS.IsEngaged` with `Vehicle.Exterior.AirTemperature` near or below
  freezing: a slippery road. The same engagement in the warm is counted, not reported.
- `Vehicle.Speed` and position: a sudden stop from near the limit, away from junctions, that
  the car drives on from within 90 s (a queue, not a destination): a slow-down.

Reports are snapped onto an edge of the road graph. Samples with impossible positions or
timestamps are dropped and counted by reason (`DropReason`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from volta.geo.distance import haversine_m
from volta.hazards.matching import M_PER_DEG, RoadMatcher
from volta.hazards.model import DropReason, Kind, Report, Trace

__all__ = ["SIGNALS", "CarState", "DetectConfig", "Detection", "detect"]

SPEED = "Vehicle.Speed"
LAT = "Vehicle.CurrentLocation.Latitude"
LON = "Vehicle.CurrentLocation.Longitude"
HEADING = "Vehicle.CurrentLocation.Heading"
VERTICAL = "Vehicle.Acceleration.Vertical"
AIR = "Vehicle.Exterior.AirTemperature"
ADAS = ("Vehicle.ADAS.ABS.IsEngaged", "Vehicle.ADAS.ESC.IsEngaged", "Vehicle.ADAS.TCS.IsEngaged")
SIGNALS = frozenset((SPEED, LAT, LON, HEADING, VERTICAL, AIR, *ADAS))
_MIN_TS_MS = 946_684_800_000  # 2000-01-01: a car clock before this is not set


@dataclass(frozen=True, slots=True)
class DetectConfig:
    """Thresholds of detection (m/s², m/s, °C, s)."""

    pothole_min: float = 3.0  # a jolt at least this strong is a pothole (or a speed bump)
    rough_min: float = 1.2  # jolts from here up to pothole_min are rough-road bumps
    rough_run: int = 5  # that many rough bumps, with gaps under rough_gap_s, make rough road
    rough_gap_s: int = 3
    moving_mps: float = 2.0
    bump_crawl_mps: float = 3.5  # a jolt below ~13 km/h is a speed bump ...
    bump_max_mps: float = 4.5  # ... and one below ~16 km/h ...
    bump_braked_mps: float = 1.5  # ... that the car slowed at least this much for
    slippery_max_c: float = 4.0  # ADAS engagements at or below this air temperature
    slippery_every_s: int = 20  # at most one slippery report per car in this time
    stop_mps: float = 1.5
    fast_mps: float = 7.0  # a slow-down starts from at least this speed ...
    fast_of_limit: float = 0.7  # ... and this share of the road's limit
    junction_m: float = 30.0  # stops this close to a junction are traffic, not hazards
    resume_mps: float = 4.0
    resume_within_s: int = 90  # a stop longer than this is parking, not a queue
    history_s: int = 15
    max_speed_mps: float = 90.0  # faster fixes are position glitches
    future_ms: int = 300_000  # timestamps this far past the caller's now are refused


@dataclass(frozen=True, slots=True)
class _Stop:
    ts_ms: int
    lat: float
    lon: float
    heading: float
    speed_before: float


@dataclass(frozen=True, slots=True)
class CarState:
    """What detection remembers about one car between calls."""

    car: str
    last_ts_ms: int = 0
    last_lat: float = math.nan
    last_lon: float = math.nan
    air_c: float = math.nan
    history: tuple[tuple[int, float], ...] = ()  # (ts_ms, speed m/s) of the last history_s
    rough: tuple[tuple[int, float, float, float], ...] = ()  # (ts, lat, lon, vertical) of a run
    stop: _Stop | None = None
    last_slippery_ms: int = 0


@dataclass(frozen=True, slots=True)
class Detection:
    """The outcome of one `detect` call."""

    state: CarState
    reports: tuple[Report, ...]
    trace: Trace
    dropped: dict[DropReason, int] = field(default_factory=dict)
    speed_bumps: int = 0  # jolts recognised as speed bumps (not reported)
    warm_interventions: int = 0  # ABS/ESC/TCS engagements too warm to mean ice (not reported)


@dataclass(slots=True)
class _Tick:
    ts_ms: int
    speed: float = math.nan  # m/s
    lat: float = math.nan
    lon: float = math.nan
    heading: float = 0.0
    vertical: float = math.nan
    adas: bool = False


def _ticks(samples: Iterable[tuple[int, str, object]]) -> tuple[list[_Tick], list[float]]:
    """Samples grouped by timestamp, in time order; and the air temperatures seen."""
    by_ts: dict[int, _Tick] = {}
    air: list[float] = []
    for ts, path, value in samples:
        if path not in SIGNALS:
            continue
        t = by_ts.get(ts)
        if t is None:
            t = by_ts[ts] = _Tick(ts)
        if path == SPEED:
            t.speed = float(value) / 3.6  # type: ignore[arg-type]
        elif path == LAT:
            t.lat = float(value)  # type: ignore[arg-type]
        elif path == LON:
            t.lon = float(value)  # type: ignore[arg-type]
        elif path == HEADING:
            t.heading = float(value)  # type: ignore[arg-type]
        elif path == VERTICAL:
            t.vertical = float(value)  # type: ignore[arg-type]
        elif path == AIR:
            air.append(float(value))  # type: ignore[arg-type]
        elif value is True:
            t.adas = True
    return [by_ts[k] for k in sorted(by_ts)], air


class _Run:
    """Mutable working copy of a CarState during one call."""

    def __init__(self, s: CarState, matcher: RoadMatcher, cfg: DetectConfig) -> None:
        self.s, self.m, self.cfg = s, matcher, cfg
        self.history = list(s.history)
        self.rough = list(s.rough)
        self.stop = s.stop
        self.last_slippery_ms = s.last_slippery_ms
        self.reports: list[Report] = []
        self.dropped: dict[DropReason, int] = {}
        self.bumps = 0
        self.warm = 0

    def drop(self, reason: DropReason) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def report(
        self, ts: int, kind: Kind, lat: float, lon: float, heading: float, value: float
    ) -> None:
        m = self.m.match(np.array([lat]), np.array([lon]), np.array([heading]))[0]
        if m is None:
            self.drop(DropReason.OFF_ROAD)
            return
        self.reports.append(
            Report(self.s.car, ts, kind, m.lat, m.lon, m.edge, m.offset_m, round(value, 3))
        )

    def speed_before(self, ts: int) -> float:
        window = [v for t, v in self.history if ts - t <= self.cfg.history_s * 1000 and t < ts]
        return max(window, default=0.0)


def detect(
    state: CarState,
    samples: Iterable[tuple[int, str, object]],
    matcher: RoadMatcher,
    now_ms: int,
    cfg: DetectConfig | None = None,
) -> Detection:
    """Detect hazards in one car's new samples `(ts_ms, VSS path, value)`, in any order.

    Samples at or before the car's last processed time are dropped (`time_backwards`): feed a
    car's batches in sequence order."""
    cfg = cfg or DetectConfig()
    ticks, air = _ticks(samples)
    run = _Run(state, matcher, cfg)
    air_c = air[-1] if air else state.air_c
    last_ts, last_lat, last_lon = state.last_ts_ms, state.last_lat, state.last_lon
    tr_ts: list[int] = []
    tr_lat: list[float] = []
    tr_lon: list[float] = []
    for t in ticks:
        if t.ts_ms < _MIN_TS_MS or t.ts_ms > now_ms + cfg.future_ms:
            run.drop(DropReason.BAD_TIME)
            continue
        if t.ts_ms <= last_ts:
            run.drop(DropReason.TIME_BACKWARDS)
            continue
        if math.isnan(t.lat) or math.isnan(t.lon) or math.isnan(t.speed):
            last_ts = t.ts_ms  # a parked car's slow signals: nothing to judge
            continue
        if not (-90.0 <= t.lat <= 90.0 and -180.0 <= t.lon <= 180.0) or (
            abs(t.lat) < 1e-6 and abs(t.lon) < 1e-6
        ):
            run.drop(DropReason.BAD_POSITION)
            continue
        if not math.isnan(last_lat):
            jump = float(haversine_m(last_lat, last_lon, t.lat, t.lon))
            if jump > cfg.max_speed_mps * max((t.ts_ms - last_ts) / 1000.0, 1.0):
                run.drop(DropReason.POSITION_JUMP)
                continue
        last_ts, last_lat, last_lon = t.ts_ms, t.lat, t.lon
        _tick(run, t, air_c)
        if t.speed >= cfg.moving_mps:
            tr_ts.append(t.ts_ms)
            tr_lat.append(t.lat)
            tr_lon.append(t.lon)
    new_state = replace(
        state,
        last_ts_ms=last_ts,
        last_lat=last_lat,
        last_lon=last_lon,
        air_c=air_c,
        history=tuple(run.history),
        rough=tuple(run.rough),
        stop=run.stop,
        last_slippery_ms=run.last_slippery_ms,
    )
    trace = Trace(
        state.car,
        np.array(tr_ts, dtype=np.int64),
        np.array(tr_lat, dtype=np.float64),
        np.array(tr_lon, dtype=np.float64),
    )
    return Detection(new_state, tuple(run.reports), trace, run.dropped, run.bumps, run.warm)


def _ahead(lat: float, lon: float, heading: float, metres: float) -> tuple[float, float]:
    h = math.radians(heading)
    dlat = metres * math.cos(h) / M_PER_DEG
    dlon = metres * math.sin(h) / (M_PER_DEG * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _tick(run: _Run, t: _Tick, air_c: float) -> None:
    cfg = run.cfg
    before = run.speed_before(t.ts_ms)
    jolt = abs(t.vertical) if not math.isnan(t.vertical) else 0.0
    if jolt >= cfg.pothole_min and t.speed >= cfg.moving_mps:
        if t.speed <= cfg.bump_crawl_mps or (
            t.speed <= cfg.bump_max_mps and before - t.speed >= cfg.bump_braked_mps
        ):
            run.bumps += 1
        else:
            # the sample is the peak of the second that starts at the fix: half a second on
            lat, lon = _ahead(t.lat, t.lon, t.heading, 0.5 * t.speed)
            run.report(t.ts_ms, Kind.POTHOLE, lat, lon, t.heading, jolt)
    _rough(run, t, jolt)
    if t.adas and t.speed >= cfg.moving_mps:
        if not air_c <= cfg.slippery_max_c:  # warm, or not known yet
            run.warm += 1
        elif t.ts_ms - run.last_slippery_ms >= cfg.slippery_every_s * 1000:
            run.last_slippery_ms = t.ts_ms
            run.report(t.ts_ms, Kind.SLIPPERY, t.lat, t.lon, t.heading, air_c)
    _slowdown(run, t, before)
    run.history.append((t.ts_ms, t.speed))
    horizon = t.ts_ms - cfg.history_s * 1000
    while run.history and run.history[0][0] < horizon:
        run.history.pop(0)


def _rough(run: _Run, t: _Tick, jolt: float) -> None:
    cfg = run.cfg
    if run.rough and t.ts_ms - run.rough[-1][0] > cfg.rough_gap_s * 1000:
        if len(run.rough) >= cfg.rough_run:
            mid = run.rough[len(run.rough) // 2]
            peak = float(np.median([r[3] for r in run.rough]))
            run.report(mid[0], Kind.ROUGH_ROAD, mid[1], mid[2], t.heading, peak)
        run.rough.clear()
    if cfg.rough_min <= jolt < cfg.pothole_min and t.speed >= cfg.moving_mps:
        run.rough.append((t.ts_ms, t.lat, t.lon, jolt))


def _slowdown(run: _Run, t: _Tick, before: float) -> None:
    cfg = run.cfg
    stop = run.stop
    if stop is not None:
        if t.ts_ms - stop.ts_ms > cfg.resume_within_s * 1000:
            run.stop = None  # parked: a destination, not a queue
        elif t.speed >= cfg.resume_mps:
            run.stop = None
            run.report(
                stop.ts_ms, Kind.SLOWDOWN, stop.lat, stop.lon, stop.heading, stop.speed_before
            )
        return
    if t.speed > cfg.stop_mps or before < cfg.fast_mps:
        return
    m = run.m.match(np.array([t.lat]), np.array([t.lon]), np.array([t.heading]))[0]
    if m is None or before < cfg.fast_of_limit * float(run.m.graph.speed_mps[m.edge]):
        return
    if run.m.near_junction(t.lat, t.lon, cfg.junction_m):
        return
    run.stop = _Stop(t.ts_ms, t.lat, t.lon, t.heading, before)
