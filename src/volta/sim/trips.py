"""Drivers and their days: where they go, when they leave, and how fast they drive there.

`plan_day` turns a `Driver` into the day's legs (home, work, errands, a long trip now and
then); `drive_profile` turns a node path into a 1 s speed trace that keeps to the limits,
accelerates and brakes within the driver's limits, slows for turns and junctions and stops at
some of them (lights, give-way), plus the positions, heading and road events along the way.
All randomness comes from the `Generator` passed in, so plans are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from volta.geo.graph import FloatArray, IntArray, RoadGraph

__all__ = [
    "DriveProfile",
    "Driver",
    "Leg",
    "Places",
    "drive_profile",
    "fit_to_map",
    "make_driver",
    "make_places",
    "node_path",
    "plan_day",
    "via_chain",
]

_GRID_M = 10.0  # speed-profile resolution along the route
_FREE_FLOW_MPS = 11.0  # converts a wanted distance into free-flow time on the anchor matrix


@dataclass(frozen=True, slots=True)
class Places:
    """Anchor nodes (homes, workplaces, errands, waypoints) and free-flow times between them."""

    anchors: IntArray
    time_s: FloatArray  # (K, K)
    homes: IntArray  # indices into anchors
    works: IntArray
    errands: IntArray
    # the longest free-flow drive between two anchors: how far the map lets anyone go
    span_s: float


def make_places(graph: RoadGraph, seed: int, k: int = 120) -> Places:
    """Pick k anchor nodes deterministically and measure the free-flow times between them."""
    rng = np.random.default_rng([seed, 0x91ACE])
    anchors = np.sort(rng.choice(graph.n_nodes, size=min(k, graph.n_nodes), replace=False))
    times = graph.travel_times(anchors)[:, anchors]
    idx = rng.permutation(len(anchors))
    n_home = max(1, len(idx) // 2)
    n_work = max(1, len(idx) // 6)
    reachable = times[np.isfinite(times)]
    return Places(
        anchors=anchors,
        time_s=times,
        homes=idx[:n_home],
        works=idx[n_home : n_home + n_work],
        errands=idx[n_home + n_work :] if len(idx) > n_home + n_work else idx,
        span_s=float(reachable.max()) if len(reachable) else 0.0,
    )


def via_chain(
    places: Places, a: int, b: int, target_s: float, rng: np.random.Generator
) -> tuple[int, ...]:
    """Anchor indices to pass through from anchor a to b so the drive takes about target_s,
    fitted to the map: never much longer than its longest drive (`Places.span_s`).

    Real trips (a 12 km commute, a 60 km day out) are longer than the shipped extract is wide
    (~1.5 km); winding through waypoints for the whole real length gave 50 km, three-hour
    loops of a few streets. So the wanted time is squeezed into the map's size: about the
    same for a short errand, at most one crossing of the map for the longest trip.
    """
    target_s = fit_to_map(target_s, places.span_s)
    via: list[int] = []
    cur, total = a, 0.0
    while total + places.time_s[cur, b] < target_s and len(via) < 400:
        w = int(rng.integers(len(places.anchors)))
        if w in (cur, b):
            continue
        total += places.time_s[cur, w]
        via.append(w)
        cur = w
    return tuple(via)


def fit_to_map(target_s: float, span_s: float) -> float:
    """A real trip's free-flow time squeezed into a map whose longest drive is `span_s`:
    nearly unchanged when short, never above span_s (span·(1 − e^(−t/span)))."""
    if span_s <= 0:
        return 0.0
    return float(span_s * -np.expm1(-target_s / span_s))


@dataclass(frozen=True, slots=True)
class Driver:
    """One driver's habits. Times are local seconds after midnight; SoC in %."""

    home: int  # anchor index
    work: int
    commutes: bool
    work_start_s: float
    work_hours_s: float
    commute_via: tuple[int, ...]
    accel_mps2: float
    decel_mps2: float
    speed_factor: float  # share of the limit the driver holds (≤ 1)
    harsh_brake_p: float  # chance per drive of one emergency stop
    home_charger_kw: float  # 0 = no home charger
    plug_below_soc: float
    charge_limit_soc: float
    public_below_soc: float
    errand_p: float
    long_day_p: float


def make_driver(places: Places, rng: np.random.Generator) -> Driver:
    """A driver with plausible habits (commute length log-normal around 12 km)."""
    home = int(rng.choice(places.homes))
    work = int(rng.choice(places.works))
    commute_km = float(np.clip(rng.lognormal(np.log(12.0), 0.5), 3.0, 40.0))
    has_home = rng.random() < 0.7
    return Driver(
        home=home,
        work=work,
        commutes=bool(rng.random() < 0.8),
        work_start_s=float(np.clip(rng.normal(8.0, 0.75), 6.0, 10.5) * 3600),
        work_hours_s=float(rng.uniform(7.5, 9.5) * 3600),
        commute_via=via_chain(places, home, work, commute_km * 1000 / _FREE_FLOW_MPS, rng),
        accel_mps2=float(rng.uniform(1.0, 2.2)),
        decel_mps2=float(rng.uniform(1.5, 2.8)),
        speed_factor=float(rng.uniform(0.85, 1.0)),
        harsh_brake_p=float(rng.uniform(0.02, 0.2)),
        home_charger_kw=float(rng.choice([7.4, 11.0])) if has_home else 0.0,
        plug_below_soc=float(rng.uniform(50.0, 90.0)),
        charge_limit_soc=float(rng.choice([80.0, 90.0, 100.0])),
        public_below_soc=30.0 if not has_home else 15.0,
        errand_p=float(rng.uniform(0.1, 0.5)),
        long_day_p=float(rng.uniform(0.0, 0.05)),
    )


@dataclass(frozen=True, slots=True)
class Leg:
    """One planned drive: leave at depart_s (absolute sim second) for dest via waypoints."""

    depart_s: int
    via: tuple[int, ...]  # graph nodes
    dest: int  # graph node
    purpose: str  # "work", "home", "errand", "trip", "charge"


def plan_day(
    d: Driver, places: Places, midnight_s: int, weekday: int, rng: np.random.Generator
) -> list[Leg]:
    """The day's legs, starting and ending at home. midnight_s: sim second of local midnight."""

    def at(hours: float) -> int:
        return midnight_s + round(hours * 3600)

    def leg(t_h: float, via: tuple[int, ...], dest: int, purpose: str) -> Leg:
        a = places.anchors
        return Leg(at(t_h), tuple(int(a[w]) for w in via), int(a[dest]), purpose)

    def errand_trip(start_h: float, origin: int) -> list[Leg]:
        e = int(rng.choice(places.errands))
        km = float(np.clip(rng.lognormal(np.log(4.0), 0.6), 1.0, 25.0))
        there = via_chain(places, origin, e, km * 500 / _FREE_FLOW_MPS, rng)
        back = via_chain(places, e, origin, km * 500 / _FREE_FLOW_MPS, rng)
        dwell_h = rng.uniform(0.3, 1.5)
        purpose = "home" if origin == d.home else "work"
        return [leg(start_h, there, e, "errand"), leg(start_h + dwell_h, back, origin, purpose)]

    if rng.random() < d.long_day_p:
        trip: list[Leg] = []
        cur, t = d.home, float(rng.uniform(7.5, 10.0))
        for _ in range(int(rng.integers(2, 5))):
            dest = int(rng.choice(places.errands))
            km = rng.uniform(40.0, 80.0)
            trip.append(
                leg(t, via_chain(places, cur, dest, km * 1000 / _FREE_FLOW_MPS, rng), dest, "trip")
            )
            t += km / 40.0 + rng.uniform(0.3, 1.0)
            cur = dest
        trip.append(
            leg(t, via_chain(places, cur, d.home, 30_000 / _FREE_FLOW_MPS, rng), d.home, "home")
        )
        return trip

    legs: list[Leg] = []
    if d.commutes and weekday < 5 and rng.random() < 0.95:
        start = (d.work_start_s + rng.normal(0.0, 600.0)) / 3600
        legs.append(leg(start, d.commute_via, d.work, "work"))
        if rng.random() < 0.1:
            legs += errand_trip(rng.uniform(11.5, 12.5), d.work)
        leave = start + (d.work_hours_s + rng.normal(0.0, 900.0)) / 3600
        legs.append(leg(leave, d.commute_via[::-1], d.home, "home"))
        if rng.random() < d.errand_p:
            legs += errand_trip(max(leave + 1.5, rng.uniform(18.5, 20.5)), d.home)
    else:
        t = rng.uniform(9.5, 12.0)
        for _ in range(int(rng.poisson(1.2))):
            if t > 19.0:
                break
            legs += errand_trip(t, d.home)
            t += rng.uniform(2.0, 4.0)
    return legs


@dataclass(frozen=True, slots=True)
class DriveProfile:
    """A drive sampled at 1 s: index i is second i after departure, n = duration_s.

    State arrays have n + 1 entries (the last is the stop at the destination); interval
    arrays (vmean, accel, grade) have n, for the second from i to i + 1.
    """

    speed: FloatArray  # m/s
    dist: FloatArray  # m since departure
    lat: FloatArray
    lon: FloatArray
    heading: FloatArray  # degrees, 0 = north
    lat_acc: FloatArray  # m/s², lateral
    vert_acc: FloatArray  # m/s², peak vertical in that second (potholes)
    limit: FloatArray  # m/s, legal limit where the car is
    vmean: FloatArray
    accel: FloatArray
    grade: FloatArray
    pothole_hits: tuple[tuple[int, int, float], ...]  # (second, hazard id, peak m/s²)
    harsh_brakes: tuple[tuple[int, float], ...]  # (second, deceleration m/s²)
    adas: FloatArray | None = None  # ABS/ESC/TCS engagement bits (volta.sim.surface), n + 1

    @property
    def duration_s(self) -> int:
        return len(self.vmean)

    @property
    def length_m(self) -> float:
        return float(self.dist[-1])


def _bearing(graph: RoadGraph, edges: IntArray) -> FloatArray:
    s, d = graph.src[edges], graph.dst[edges]
    p1, p2 = np.radians(graph.lat[s]), np.radians(graph.lat[d])
    dl = np.radians(graph.lon[d] - graph.lon[s])
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.asarray(np.degrees(np.arctan2(y, x)) % 360.0, dtype=np.float64)


def drive_profile(
    graph: RoadGraph,
    nodes: IntArray,
    d: Driver,
    rng: np.random.Generator,
    potholes: dict[int, list[tuple[float, float, int]]] | None = None,
    caps: tuple[tuple[float, float, float], ...] = (),
) -> DriveProfile:
    """1 s speed trace along a node path (at least two nodes), with positions and road events.

    `caps` are extra speed limits (from_m, to_m along the route, m/s): speed bumps, queues."""
    edges = graph.edges_of(nodes)
    n_e = len(edges)
    length = graph.length_m[edges]
    limit = graph.speed_mps[edges]
    cum = np.concatenate([[0.0], np.cumsum(length)])
    bearing = _bearing(graph, edges)

    # caps at the route's nodes: turns, junctions (sometimes a full stop), start and end
    node_cap = np.full(n_e + 1, np.inf)
    node_cap[1:-1] = np.minimum(limit[:-1], limit[1:])
    turn = np.abs((bearing[1:] - bearing[:-1] + 180.0) % 360.0 - 180.0)
    turn_cap = np.select(
        [turn < 25, turn < 60, turn < 120, turn < 160], [np.inf, 8.3, 5.6, 4.2], 1.5
    )
    node_cap[1:-1] = np.minimum(node_cap[1:-1], turn_cap)
    junction = graph.junction[nodes[1:-1]]
    node_cap[1:-1] = np.where(junction, np.minimum(node_cap[1:-1], 11.0), node_cap[1:-1])
    stop = np.zeros(n_e + 1, dtype=bool)
    stop[1:-1] = junction & (rng.random(n_e - 1) < 0.12)
    node_cap[stop] = 0.0
    node_cap[0] = node_cap[-1] = 0.0
    dwell = np.where(stop, rng.uniform(3.0, 30.0, n_e + 1), 0.0)

    # grid every ≤ 10 m; caps at grid points inside an edge are the edge's limit
    n_sub = np.maximum(np.ceil(length / _GRID_M).astype(np.int64), 1)
    rep = np.repeat(np.arange(n_e), n_sub)
    first = np.concatenate([[0], np.cumsum(n_sub)[:-1]])
    k = np.arange(len(rep)) - first[rep]
    s = np.concatenate([cum[rep] + length[rep] * k / n_sub[rep], [cum[-1]]])
    cap = np.concatenate([limit[rep] * d.speed_factor, [0.0]])
    at_node = np.concatenate([k == 0, [True]])
    node_pos = np.nonzero(at_node)[0]
    cap[node_pos] = np.minimum(cap[node_pos], node_cap)
    grid_dwell = np.zeros(len(s))
    grid_dwell[node_pos] = dwell
    for lo_m, hi_m, cap_mps in caps:
        cap[(s >= lo_m) & (s <= hi_m)] = np.minimum(cap[(s >= lo_m) & (s <= hi_m)], cap_mps)

    a, b = d.accel_mps2, d.decel_mps2
    cap2 = np.minimum(cap, 60.0) ** 2
    # v² is linear in s under constant acceleration, so both passes are cumulative minima
    v_bwd2 = -2 * b * s + np.minimum.accumulate((cap2 + 2 * b * s)[::-1])[::-1]
    v2 = np.minimum(2 * a * s + np.minimum.accumulate(cap2 - 2 * a * s), v_bwd2)
    harsh: tuple[float, float] | None = None
    fast = np.nonzero(v2[len(s) // 5 : 4 * len(s) // 5] > 36.0)[0] + len(s) // 5  # > 6 m/s
    if len(fast) and rng.random() < d.harsh_brake_p:
        # an emergency stop: full speed until late, then 6–8.5 m/s² (the normal backward pass
        # would have braked early and gently)
        h = int(rng.choice(fast))
        bh = float(rng.uniform(6.0, 8.5))
        harsh = (float(s[h]), bh)
        grid_dwell[h] += rng.uniform(2.0, 6.0)
        fwd_cap2 = cap2.copy()
        fwd_cap2[h] = 0.0
        v_fwd2 = 2 * a * s + np.minimum.accumulate(fwd_cap2 - 2 * a * s)
        v_h2 = np.where(s <= s[h], 2 * bh * (s[h] - s), np.inf)
        v2 = np.minimum(np.minimum(v_fwd2, v_bwd2), v_h2)
    v = np.sqrt(np.maximum(v2, 0.0))

    dt = 2 * np.diff(s) / np.maximum(v[:-1] + v[1:], 0.05)
    t_arr = np.concatenate([[0.0], np.cumsum(dt)]) + np.concatenate(
        [[0.0], np.cumsum(grid_dwell)[:-1]]
    )
    t_dep = t_arr + grid_dwell
    knots_t = np.stack([t_arr, t_dep], axis=1).ravel()
    knots_v = np.repeat(v, 2)
    n = max(int(np.ceil(knots_t[-1])), 1)
    ts = np.minimum(np.arange(n + 1, dtype=np.float64), knots_t[-1])
    speed = np.interp(ts, knots_t, knots_v)
    speed[-1] = 0.0
    # position integrates the sampled speed (so odometer, GNSS and energy agree), scaled by the
    # tiny sampling error (≈ 0.1 %) so that the drive ends exactly at the destination
    vmean = 0.5 * (speed[:-1] + speed[1:])
    dist = np.concatenate([[0.0], np.cumsum(vmean)])
    if dist[-1] > 0:
        scale = cum[-1] / dist[-1]
        dist *= scale
        vmean = vmean * scale

    e_idx = np.clip(np.searchsorted(cum, dist, side="right") - 1, 0, n_e - 1)
    lat = np.interp(dist, cum, graph.lat[nodes])
    lon = np.interp(dist, cum, graph.lon[nodes])
    heading = bearing[e_idx]
    yaw = np.radians((np.diff(heading, append=heading[-1]) + 180.0) % 360.0 - 180.0)
    lat_acc = np.clip(speed * yaw, -8.0, 8.0)
    accel = np.diff(speed)

    vert = np.zeros(n + 1)
    hits: list[tuple[int, int, float]] = []
    if potholes:
        for pos, e in enumerate(edges.tolist()):
            for off, sev, hid in potholes.get(e, ()):
                i = int(np.searchsorted(dist, cum[pos] + off, side="right")) - 1
                if 0 <= i < n:
                    peak = round(5.0 * sev * float(np.clip(speed[i] / 8.0, 0.4, 2.0)), 2)
                    vert[i] = max(vert[i], peak)
                    hits.append((i, hid, peak))
    brakes: tuple[tuple[int, float], ...] = ()
    if harsh is not None:
        i = int(np.searchsorted(dist, harsh[0], side="left"))
        lo = max(i - 6, 0)
        j = lo + int(np.argmin(accel[lo : max(i, lo + 1)])) if i > lo else min(i, n - 1)
        brakes = ((j, float(-accel[j])),)
    return DriveProfile(
        speed=speed,
        dist=dist,
        lat=lat,
        lon=lon,
        heading=heading,
        lat_acc=lat_acc,
        vert_acc=vert,
        limit=limit[e_idx],
        vmean=vmean,
        accel=accel,
        grade=graph.grade[edges[e_idx[:-1]]],
        pothole_hits=tuple(hits),
        harsh_brakes=brakes,
    )


def node_path(graph: RoadGraph, stops: list[int]) -> NDArray[np.int64] | None:
    """Concatenated fastest routes through a sequence of nodes (None if one is unreachable)."""
    parts: list[IntArray] = [np.array([stops[0]], dtype=np.int64)]
    for u, v in pairwise(stops):
        if u == v:
            continue
        r = graph.route(u, v)
        if r is None:
            return None
        parts.append(r.nodes[1:])
    return np.concatenate(parts)
