"""Road hazards beyond potholes, with their truth: ice, rough road, speed bumps, queues, noise.

All are off by default (`SurfaceRates()`), and then nothing here runs: the simulator's output
is unchanged. When on, each hazard sits at a fixed place on the road graph:

- ice patches (~120 m) on some roads: ice forms when the air is at or below -0.5 °C on a wet
  day at that place and melts when it rises above +0.5 °C; a moving car on the patch gets ABS
  (braking), TCS (accelerating) or ESC engagements, more the faster it goes;
- rough stretches (100-200 m): many small vertical jolts (1.3-2.8 m/s²);
- speed bumps on slow roads: drivers brake to ~9 km/h and feel a 4.5-7 m/s² jolt;
- sudden slow-downs: queues of 15-40 minutes on one direction of a road, away from junctions,
  in which cars crawl 30 m at under 3 km/h (the other direction drives on freely; the truth
  says which direction, `HazardTruth.heading_deg`);
- noise: potholes a car straddles (no jolt) and sensor glitches (a lone 5-15 m/s² spike).

Randomness comes from generators seeded by (seed, vehicle, departure), never from the
fleet's own streams, so turning these hazards on changes nothing else's random draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from volta.geo.graph import FloatArray, IntArray, RoadGraph
from volta.sim.environment import Climate
from volta.sim.trips import DriveProfile
from volta.sim.truth import HazardTruth, RoadEventTruth

__all__ = ["EVERY_HAZARD", "Surface", "SurfaceRates"]

_M_PER_DEG = 111_195.0
_STEP_MS = 600_000  # the ice schedule's resolution
_FIRST_ID = 1_000_000  # hazard ids above the potholes'
ABS, ESC, TCS = 1, 2, 4  # bits of DriveProfile.adas


@dataclass(frozen=True, slots=True)
class SurfaceRates:
    """How much of each hazard (per km of road); all zero means none."""

    ice_per_km: float = 0.0
    rough_per_km: float = 0.0
    bumps_per_km: float = 0.0
    slowdowns_per_km: float = 0.0
    straddle_p: float = 0.0  # chance a car passes a pothole without a wheel in it
    glitches_per_hour: float = 0.0  # lone vertical spikes per hour of driving
    wet_p: float = 0.5  # chance a day is wet at an ice-prone place

    @property
    def on(self) -> bool:
        return any(
            x > 0
            for x in (
                self.ice_per_km,
                self.rough_per_km,
                self.bumps_per_km,
                self.slowdowns_per_km,
                self.straddle_p,
                self.glitches_per_hour,
            )
        )


# Every kind on, at rates that give a city-sized map dozens of hazards: what the evaluation
# against the truth (tests/hazards) and bench/hazards.py simulate.
EVERY_HAZARD = SurfaceRates(
    ice_per_km=0.5,
    rough_per_km=0.3,
    bumps_per_km=0.5,
    slowdowns_per_km=0.3,
    straddle_p=0.15,
    glitches_per_hour=1.0,
)


@dataclass
class _Site:
    """A hazard place: a centre on an edge, and the edges (both ways) within half_m of it."""

    hazard_id: int
    kind: str
    lat: float
    lon: float
    edge: int
    offset_m: float
    half_m: float
    edges: frozenset[int]
    intervals: list[list[int]] = field(default_factory=list)  # [start_ms, end_ms or 0]


class Surface:
    """The hazards of one simulated world and what they do to each drive."""

    def __init__(
        self, graph: RoadGraph, seed: int, rates: SurfaceRates, climate: Climate, start_ms: int
    ) -> None:
        self.g, self.seed, self.rates, self.climate = graph, seed, rates, climate
        self.start_ms = start_ms
        rng = np.random.default_rng([seed, 0x5EF])
        km = float(graph.length_m.sum()) / 2000.0
        self._ids = iter(range(_FIRST_ID, _FIRST_ID + 10**6))
        any_edge = np.ones(graph.n_edges, dtype=bool)
        slow = graph.speed_mps <= 8.4
        self.ice = self._place(rng, "ice", round(km * rates.ice_per_km), any_edge, (60.0, 60.0))
        self.rough = self._place(
            rng, "rough_road", round(km * rates.rough_per_km), any_edge, (50.0, 100.0)
        )
        self.bumps = self._place(rng, "speed_bump", round(km * rates.bumps_per_km), slow, (0, 0))
        fast = (graph.speed_mps >= 8.3) & (self._junction_m() >= 60.0)
        self.queues = self._place(
            rng, "slowdown", round(km * rates.slowdowns_per_km), fast, (0.0, 0.0), both=False
        )
        self._ice_until = start_ms
        self._ice_on = [False] * len(self.ice)
        self.events: list[RoadEventTruth] = []

    # -- placing -----------------------------------------------------------------------------
    def _junction_m(self) -> FloatArray:
        g = self.g
        k = math.cos(math.radians(float(g.lat.mean())))
        mlat, mlon = (g.lat[g.src] + g.lat[g.dst]) / 2, (g.lon[g.src] + g.lon[g.dst]) / 2
        j = np.nonzero(g.junction)[0]
        out = np.full(g.n_edges, np.inf)
        for a in range(0, g.n_edges, 512):
            dy = (mlat[a : a + 512, None] - g.lat[j][None, :]) * _M_PER_DEG
            dx = (mlon[a : a + 512, None] - g.lon[j][None, :]) * _M_PER_DEG * k
            out[a : a + 512] = np.sqrt(dx * dx + dy * dy).min(axis=1)
        return out

    def _place(
        self,
        rng: np.random.Generator,
        kind: str,
        n: int,
        allowed: np.typing.NDArray[np.bool_],
        half: tuple[float, float],
        both: bool = True,
    ) -> list[_Site]:
        g = self.g
        pool = np.nonzero(allowed)[0]
        if n <= 0 or len(pool) == 0:
            return []
        w = g.length_m[pool] / g.length_m[pool].sum()
        sites = []
        k = math.cos(math.radians(float(g.lat.mean())))
        for e in rng.choice(pool, size=n, replace=True, p=w).tolist():
            f = float(rng.uniform(0.3, 0.7))
            s, d = int(g.src[e]), int(g.dst[e])
            lat = float(g.lat[s] + f * (g.lat[d] - g.lat[s]))
            lon = float(g.lon[s] + f * (g.lon[d] - g.lon[s]))
            half_m = float(rng.uniform(*half))
            if half_m > 0:
                # every edge (either way) whose middle lies within half_m: a stretch of road
                dy = ((g.lat[g.src] + g.lat[g.dst]) / 2 - lat) * _M_PER_DEG
                dx = ((g.lon[g.src] + g.lon[g.dst]) / 2 - lon) * _M_PER_DEG * k
                edges = frozenset(np.nonzero(np.hypot(dx, dy) <= half_m)[0].tolist()) | {e}
            else:
                edges = frozenset({e})
            if both:
                lo, hi = int(g.indptr[d]), int(g.indptr[d + 1])
                back = np.nonzero(g.dst[lo:hi] == s)[0]
                if len(back) and half_m == 0:
                    edges = edges | {lo + int(back[0])}
            sites.append(
                _Site(next(self._ids), kind, lat, lon, e, f * float(g.length_m[e]), half_m, edges)
            )
        return sites

    # -- time ------------------------------------------------------------------------------
    def _wet(self, site: int, ms: int) -> bool:
        day = ms // 86_400_000
        return bool(
            np.random.default_rng([self.seed, 0x1CE, site, day]).random() < self.rates.wet_p
        )

    def _advance_ice(self, until_ms: int) -> None:
        """Run the ice schedule forward in 10-minute steps up to until_ms."""
        while self._ice_until <= until_ms:
            t = self._ice_until
            air = self.climate.air_c(t)
            for i, site in enumerate(self.ice):
                if not self._ice_on[i] and air <= -0.5 and self._wet(i, t):
                    self._ice_on[i] = True
                    site.intervals.append([t, 0])
                elif self._ice_on[i] and air > 0.5:
                    self._ice_on[i] = False
                    site.intervals[-1][1] = t
            self._ice_until = t + _STEP_MS

    def _icy(self, site: _Site, ms: int) -> bool:
        return any(a <= ms and (b == 0 or ms < b) for a, b in site.intervals)

    def _queue_intervals(self, i: int, day: int) -> list[tuple[int, int]]:
        rng = np.random.default_rng([self.seed, 0x510, i, day])
        out = []
        for _ in range(int(rng.poisson(2.0))):
            start = day * 86_400_000 + int(rng.uniform(5.0, 17.0) * 3_600_000)  # UTC
            out.append((start, start + int(rng.uniform(15.0, 40.0) * 60_000)))
        return out

    def _queued(self, i: int, ms: int) -> bool:
        day = ms // 86_400_000
        return any(a <= ms < b for d in (day - 1, day) for a, b in self._queue_intervals(i, d))

    # -- a drive -----------------------------------------------------------------------------
    def caps(self, edges: IntArray, depart_ms: int) -> tuple[tuple[float, float, float], ...]:
        """Speed caps (from_m, to_m, m/s) along the route: speed bumps, and queues the car meets."""
        g = self.g
        cum = np.concatenate([[0.0], np.cumsum(g.length_m[edges])])
        free = np.concatenate([[0.0], np.cumsum(g.length_m[edges] / g.speed_mps[edges])])
        out: list[tuple[float, float, float]] = []
        for site in self.bumps:
            for pos in np.nonzero(np.isin(edges, list(site.edges)))[0].tolist():
                at = cum[pos] + self._offset(site, int(edges[pos]))
                out.append((at - 15.0, at + 12.0, 2.5))  # the grid is <= 10 m
        for i, site in enumerate(self.queues):
            for pos in np.nonzero(edges == site.edge)[0].tolist():
                at = cum[pos] + site.offset_m
                eta = depart_ms + int(1000 * 1.3 * free[pos])
                if self._queued(i, eta):
                    out.append((at - 30.0, at, 0.8))
        return tuple(out)

    def _offset(self, site: _Site, edge: int) -> float:
        return site.offset_m if edge == site.edge else float(self.g.length_m[edge]) - site.offset_m

    def mark(
        self, p: DriveProfile, edges: IntArray, vin: str, v: int, depart_ms: int
    ) -> DriveProfile:
        """The drive's jolts and ADAS engagements from the hazards it meets, and their truth."""
        g = self.g
        rng = np.random.default_rng([self.seed, 0x5AFE, v, depart_ms])
        cum = np.concatenate([[0.0], np.cumsum(g.length_m[edges])])
        n = p.duration_s
        e_pos = np.clip(np.searchsorted(cum, p.dist, side="right") - 1, 0, len(edges) - 1)
        on_edge = edges[e_pos]
        vert = p.vert_acc.copy()
        adas = np.zeros(n + 1)
        hits = []
        for sec, hid, peak in p.pothole_hits:
            if rng.random() < self.rates.straddle_p:
                vert[sec] = 0.0
                self._event(vin, depart_ms, sec, p, "pothole_straddled", 0.0, hid)
            else:
                hits.append((sec, hid, peak))
        for site in self.rough:
            secs = self._inside(site, p, on_edge)
            secs = secs[p.speed[secs] > 2.0]
            if len(secs):
                jolt = np.clip(1.3 + np.abs(rng.normal(0.0, 0.7, len(secs))), 1.3, 2.8)
                vert[secs] = np.maximum(vert[secs], np.round(jolt, 2))
        for site in self.bumps:
            for pos in np.nonzero(np.isin(edges, list(site.edges)))[0].tolist():
                at = cum[pos] + self._offset(site, int(edges[pos]))
                sec = int(np.searchsorted(p.dist, at, side="right")) - 1
                if 0 <= sec < n:
                    vert[sec] = max(vert[sec], round(float(rng.uniform(4.5, 7.0)), 2))
                    self._event(vin, depart_ms, sec, p, "speed_bump", vert[sec], site.hazard_id)
        for sec in range(n):
            if rng.random() < self.rates.glitches_per_hour / 3600.0:
                vert[sec] = max(vert[sec], round(float(rng.uniform(5.0, 15.0)), 2))
        if self.ice:
            self._advance_ice(depart_ms + (n + 1) * 1000)
            for site in self.ice:
                self._ice(site, p, on_edge, adas, rng, vin, depart_ms)
        for i, site in enumerate(self.queues):
            secs = np.nonzero((on_edge == site.edge) & (p.speed < 1.0))[0]
            if len(secs) and self._queued(i, depart_ms + int(secs[0]) * 1000):
                self._event(vin, depart_ms, int(secs[0]), p, "slowdown", 0.0, site.hazard_id)
        return replace(p, vert_acc=vert, adas=adas, pothole_hits=tuple(hits))

    def _inside(self, site: _Site, p: DriveProfile, on_edge: IntArray) -> IntArray:
        """Seconds the car spends on the stretch (on its edges, within half_m of its centre)."""
        k = math.cos(math.radians(site.lat))
        d = np.hypot((p.lat[:-1] - site.lat) * _M_PER_DEG, (p.lon[:-1] - site.lon) * _M_PER_DEG * k)
        return np.nonzero(np.isin(on_edge[:-1], list(site.edges)) & (d <= site.half_m))[0]

    def _ice(
        self,
        site: _Site,
        p: DriveProfile,
        on_edge: IntArray,
        adas: FloatArray,
        rng: np.random.Generator,
        vin: str,
        depart_ms: int,
    ) -> None:
        secs = self._inside(site, p, on_edge)
        secs = np.array([s for s in secs.tolist() if self._icy(site, depart_ms + s * 1000)])
        if len(secs) == 0:
            return
        speed = p.speed[secs]
        # a wheel slips when it brakes, accelerates or turns: only a moving car
        engaged = (rng.random(len(secs)) < np.clip(0.1 + speed / 20.0, 0.0, 0.8)) & (speed > 2.0)
        accel = p.accel[secs]
        bit = np.where(accel < -0.3, ABS, np.where(accel > 0.3, TCS, ESC))
        adas[secs] = np.where(engaged, bit, 0)
        first = int(secs[0])
        self._event(vin, depart_ms, first, p, "ice", float(engaged.sum()), site.hazard_id)

    def _event(
        self, vin: str, depart_ms: int, sec: int, p: DriveProfile, kind: str, value: float, hid: int
    ) -> None:
        self.events.append(
            RoadEventTruth(
                vin=vin,
                ts_ms=depart_ms + sec * 1000,
                kind=kind,
                lat=round(float(p.lat[sec]), 7),
                lon=round(float(p.lon[sec]), 7),
                value=round(value, 3),
                hazard_id=hid,
            )
        )

    # -- truth -------------------------------------------------------------------------------
    def truth(self, end_ms: int) -> list[HazardTruth]:
        """Every hazard: permanent ones once, ice and queues once per episode (same id; end 0:
        still there at end_ms)."""
        if self.ice:
            self._advance_ice(end_ms)
        out = []
        for site in self.rough + self.bumps:
            out.append(self._record(site, site.hazard_id, 0, 0))
        for site in self.ice:
            for a, b in site.intervals:
                if a < end_ms:
                    out.append(self._record(site, site.hazard_id, a, b))
        for i, site in enumerate(self.queues):
            for day in range(self.start_ms // 86_400_000 - 1, end_ms // 86_400_000 + 1):
                for a, b in self._queue_intervals(i, day):
                    if a < end_ms and b > self.start_ms:
                        out.append(self._record(site, site.hazard_id, a, b))
        return out

    def _record(self, site: _Site, hid: int, start: int, end: int) -> HazardTruth:
        return HazardTruth(
            hazard_id=hid,
            kind=site.kind,
            lat=round(site.lat, 7),
            lon=round(site.lon, 7),
            severity=0.0,
            start_ms=start,
            end_ms=end,
            length_m=round(2 * site.half_m, 1),
            heading_deg=self._heading(site.edge) if site.kind == "slowdown" else -1.0,
        )

    def _heading(self, edge: int) -> float:
        """The bearing of a directed edge, degrees clockwise from north."""
        g = self.g
        s, d = int(g.src[edge]), int(g.dst[edge])
        k = math.cos(math.radians(float(g.lat[s])))
        east, north = float(g.lon[d] - g.lon[s]) * k, float(g.lat[d] - g.lat[s])
        return round(math.degrees(math.atan2(east, north)) % 360.0, 1)
