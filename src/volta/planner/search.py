"""The fast planner: a charger graph, then a label-setting search over (stop, SoC).

1. `SiteIndex`: for every pair of chargers, time, distance and energy along a few candidate
   paths (ROUTE_WEIGHTS: fastest, least energy, and time + energy priced between them), bounded
   by a full battery; one query per charger and candidate in a contraction hierarchy of the
   road network (`planner.hierarchy`: exact shortest paths, each query touching the core and
   the targets' ancestors instead of the whole graph); built once per road network and
   vehicle model.
2. `plan_trip`: the same queries from the origin and to the destination join them to the
   chargers; then an A* search over labels (stop, SoC, time). A label charges one SoC grid
   step (time from the model's DC curve, capped by the station) or drives to any stop it can
   reach above the minimum SoC. A label is dropped when an earlier one at the same stop had at
   least its SoC (Pareto dominance: it arrived sooner with more, or so little later that the
   charging it saves makes up for it). The heuristic is the fastest road time to the
   destination plus the charging still needed at the fastest rate; it never overestimates.

Pure: no I/O, no clock. Only the candidate paths are considered between stops; the exact
baseline (`planner.exact`) considers every path.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.sparse import csr_matrix

from volta.planner.energy import ChargeCurve
from volta.planner.hierarchy import Hierarchy
from volta.planner.network import FloatArray, IntArray, RoadNetwork
from volta.planner.plan import (
    Leg,
    NoFeasiblePlan,
    NoRoute,
    Plan,
    Site,
    Stop,
    TripRequest,
    profile_of,
)
from volta.vehicles.model import VehicleModel

__all__ = ["ROUTE_WEIGHTS", "SiteIndex", "plan_trip", "route_costs"]


# Candidate paths between two stops: each minimises time + weight x energy. Weight 0 is the
# fastest path, None the least-energy one; between them, energy priced at what recharging it
# costs in time (s/Wh at the model's DC peak), half and twice that. Exact Pareto sets of paths
# are what CHArge computes; these five points of the set come close on the tested graphs.
ROUTE_WEIGHTS: tuple[float | None, ...] = (0.0, 0.5, 1.0, 2.0, None)


class SiteIndex:
    """Chargers on one road network for one vehicle model, with the drive costs between every
    pair along the candidate paths of ROUTE_WEIGHTS.

    Drive costs come from a contraction hierarchy of the network (`planner.hierarchy`, exact),
    built here unless one made for the same network, model and weights is given (it is the
    expensive part: `planner.hierarchy_file` keeps it on disk)."""

    def __init__(
        self, net: RoadNetwork, model: VehicleModel, sites: list[Site], energy_wh: FloatArray,
        max_leg_s: float = math.inf, weights: tuple[float | None, ...] = ROUTE_WEIGHTS,
        hierarchy: Hierarchy | None = None,
    ) -> None:  # fmt: skip
        if not weights or weights[0] != 0.0:
            raise ValueError("the first route weight must be 0 (the fastest path: A*'s heuristic)")
        self.weights = weights
        self.net = net
        self.model = model
        self.sites = sites
        self.energy_wh = energy_wh
        self.max_leg_s = max_leg_s
        self.full_wh = model.usable_kwh_new * 1000.0
        self._no_regen = bool(np.all(energy_wh >= 0.0))
        self.hierarchy = hierarchy or Hierarchy.build(
            net.src, net.dst, net.n_nodes, route_costs(net, model, energy_wh, weights),
            np.stack([net.time_s, net.length_m, energy_wh], axis=1),
        )  # fmt: skip
        if self.hierarchy.n != net.n_nodes or self.hierarchy.cost.shape[0] != len(weights):
            raise ValueError("the hierarchy was built for another network or other route weights")
        self._routes: dict[int, tuple[csr_matrix, csr_matrix]] = {}
        self.curves = [ChargeCurve(model, s.power_kw) for s in sites]
        # no station charges a % faster than this: with the least energy still to drive, a
        # lower bound on the charging still to come (A*'s second term)
        self.fastest_s_per_pct = min(
            (float(np.diff(c.cumulative_s).min()) / ChargeCurve.STEP_PCT for c in self.curves),
            default=0.0,
        )
        self.nodes = np.array([s.node for s in sites], dtype=np.int64)
        self._sweeps = (
            self.hierarchy.targets(self.nodes, reverse=False),
            self.hierarchy.targets(self.nodes, reverse=True),
        )
        k, r = len(sites), len(weights)
        self.time_s = np.full((r, k, k), np.inf)
        self.distance_m = np.zeros((r, k, k))
        self.e_wh = np.zeros((r, k, k))
        for i, site in enumerate(sites):
            for route in range(r):
                c = self.costs(site.node, reverse=False, route=route, targets=self.nodes)
                self.time_s[route, i], self.distance_m[route, i], self.e_wh[route, i] = c

    @property
    def routes(self) -> _Routes:
        """Per route, the (forward, backward) scipy matrices of its edge costs, for drawing a
        leg's road (`RoadNetwork.tree`); built when first asked for."""
        return _Routes(self)

    def costs(
        self, node: int, reverse: bool, route: int, targets: IntArray, bounded: bool = True
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(time s, distance m, energy Wh) from `node` to each target (from each, if reverse)
        along the route's shortest paths; inf time where unreached. Bounded: inf time where
        the route's cost passes a full battery's (or max_leg_s's) worth, or (on a graph
        without regeneration) where the path takes more energy than a full battery: no leg
        can drive it. The search stops at these bounds, which is what makes it fast on a
        large graph (a target whose shortest path is within them is exact, ties aside)."""
        weight = self.weights[route]
        value_limit = None
        if not bounded:
            limit = math.inf
        elif weight is None:
            limit = self.full_wh
        else:
            limit = self.max_leg_s + weight * 3.6 / self.model.dc_peak_kw * self.full_wh
            if self._no_regen:  # energy only grows along a path: stop where it passes a battery
                value_limit = (2, self.full_wh)
        cost, sums = self.hierarchy.query(
            node, route, targets, reverse, self._sweeps[1 if reverse else 0], limit, value_limit
        )
        ok = np.isfinite(cost) & (cost <= limit)
        if value_limit is not None:
            ok &= sums[:, 2] <= self.full_wh
        return np.where(ok, sums[:, 0], np.inf), sums[:, 1], sums[:, 2]


class _Routes:
    def __init__(self, index: SiteIndex) -> None:
        self.index = index

    def __getitem__(self, route: int) -> tuple[csr_matrix, csr_matrix]:
        index = self.index
        if route not in index._routes:
            costs = route_costs(
                index.net, index.model, index.energy_wh, index.weights[route : route + 1]
            )
            index._routes[route] = index.net.matrices(costs[0])
        return index._routes[route]


def route_costs(
    net: RoadNetwork, model: VehicleModel, energy_wh: FloatArray,
    weights: tuple[float | None, ...],
) -> FloatArray:  # fmt: skip
    """Edge costs (route, edge) of the candidate paths: time + w x (s per Wh at the model's DC
    peak) x energy, or energy alone for None; energy floored at 1e-6 Wh (Dijkstra needs >= 0)."""
    s_per_wh = 3.6 / model.dc_peak_kw
    positive = np.maximum(energy_wh, 1e-6)
    return np.stack(
        [positive if w is None else net.time_s + w * s_per_wh * positive for w in weights]
    )


def plan_trip(index: SiteIndex, req: TripRequest) -> Plan:
    """The fastest plan (driving + charging) for the request; NoRoute / NoFeasiblePlan if none."""
    k = len(index.sites)
    sel = np.concatenate(([req.origin], index.nodes, [req.destination]))
    n = k + 2  # stops: 0 origin, 1..k chargers, k+1 destination
    r = len(index.weights)
    time_s, dist_m, e_wh = np.full((r, n, n), np.inf), np.zeros((r, n, n)), np.zeros((r, n, n))
    time_s[:, 1 : k + 1, 1 : k + 1] = index.time_s
    dist_m[:, 1 : k + 1, 1 : k + 1] = index.distance_m
    e_wh[:, 1 : k + 1, 1 : k + 1] = index.e_wh
    h = np.full(n, np.inf)
    for r in range(len(index.weights)):
        # from the origin every route is bounded (a leg past a full battery cannot be driven);
        # to the destination the fastest route is not: its times are A*'s heuristic
        time_s[r, 0], dist_m[r, 0], e_wh[r, 0] = index.costs(req.origin, False, r, sel)
        back = index.costs(req.destination, True, r, sel, r > 0)
        time_s[r, :, -1], dist_m[r, :, -1], e_wh[r, :, -1] = back
        if r == 0:
            h = back[0]  # fastest time to the destination: A* heuristic, never too high
    if not math.isfinite(h[0]):
        raise NoRoute("the destination is not reachable by road from the origin")
    if req.start_soc < min(req.min_arrival_soc, req.min_charger_soc):
        raise NoFeasiblePlan(f"start SoC {req.start_soc:g} % is below the minimum SoC")
    for r in range(len(index.weights)):
        np.fill_diagonal(time_s[r], np.inf)  # staying is charging, not driving
    time_s[:, :, 0] = np.inf
    time_s[:, k + 1, :] = np.inf
    min_soc = np.full(n, req.min_charger_soc)
    min_soc[k + 1] = req.min_arrival_soc
    can_charge = np.zeros(n, dtype=bool)
    can_charge[1 : k + 1] = ~np.isin(index.nodes, list(req.no_charge))
    # the stop penalty is paid on arriving at a charger (passing one pays it too: a search cost)
    penalty = np.where(can_charge, req.stop_penalty_s, 0.0)
    d_soc = e_wh / index.full_wh * 100.0
    need = np.full(n, -np.inf)  # SoC below which a stop must still charge on the way
    if None in index.weights and np.all(index.energy_wh >= 0.0):
        # least energy to the destination (0 where unreached: still a lower bound); without
        # regeneration no path uses less, so this many % must be charged at the least. Filters
        # and the stop penalty only take chargers away or add time: the bound still holds.
        need = d_soc[index.weights.index(None), :, -1] + req.min_arrival_soc
    return _search(
        index, req,
        _Stops(sel, time_s, dist_m, e_wh, d_soc, min_soc, h, need, index.fastest_s_per_pct,
               can_charge, penalty),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Stops:
    node: FloatArray
    time_s: FloatArray  # (route, from stop, to stop)
    dist_m: FloatArray
    e_wh: FloatArray
    d_soc: FloatArray
    min_soc: FloatArray
    h: FloatArray  # fastest road time to the destination
    need: FloatArray  # SoC % each stop needs to reach the destination without charging
    s_per_pct: float  # the fastest charging anywhere
    can_charge: np.ndarray  # bool per stop: a charger the request's filters accept
    penalty: FloatArray  # search cost added on arriving at each stop (stop_penalty_s)

    def key(self, t: float, stop: int, soc: float) -> float:
        """A* key: time so far, fastest road time to go, and the charging still needed at the
        fastest rate. Not consistent across SoC, but a label it orders first at a stop with
        more SoC is never worse than one it drops (docs/planner.md)."""
        return t + float(self.h[stop]) + max(0.0, float(self.need[stop]) - soc) * self.s_per_pct


# label: (stop, soc, time, km, parent label, charged here, route driven to get here)
_Label = tuple[int, float, float, float, int, bool, int]


@dataclass(frozen=True, slots=True)
class _Batch:
    """The drives out of one expanded label, sorted by A* key: popped one at a time, so drives
    that could only finish after the optimum are never turned into labels."""

    parent: int
    key: FloatArray  # time + heuristic, ascending
    stop: IntArray
    route: IntArray
    arrive: FloatArray
    time_s: FloatArray
    km: FloatArray


def _search(index: SiteIndex, req: TripRequest, st: _Stops) -> Plan:
    n = len(st.min_soc)
    dest = n - 1
    h = st.h
    labels: list[_Label] = [(0, req.start_soc, 0.0, 0.0, -1, False, 0)]
    batches: list[_Batch] = []
    # heap entries: (A* key, time, sequence, label id or -1 - batch id, position in the batch)
    heap: list[tuple[float, float, int, int, int]] = [(st.key(0.0, 0, req.start_soc), 0.0, 0, 0, 0)]
    seq = 1
    best = np.full(n, -np.inf)  # highest SoC expanded at each stop so far
    while heap:
        _, t, _, ref, pos = heapq.heappop(heap)
        if ref < 0:  # the next drive of a batch
            b = batches[-1 - ref]
            stop = int(b.stop[pos])
            if b.arrive[pos] <= best[stop] + 1e-9:  # dominated since it was queued
                pos = _next_live(b, pos, best)
                if pos >= 0:
                    heapq.heappush(heap, (b.key[pos], b.time_s[pos], seq, ref, pos))
                    seq += 1
                continue
            nxt_pos = _next_live(b, pos, best)
            if nxt_pos >= 0:
                heapq.heappush(heap, (b.key[nxt_pos], b.time_s[nxt_pos], seq, ref, nxt_pos))
                seq += 1
            labels.append(
                (
                    stop,
                    float(b.arrive[pos]),
                    t,
                    float(b.km[pos]),
                    b.parent,
                    False,
                    int(b.route[pos]),
                )
            )
            ref = len(labels) - 1
        lid = ref
        stop, soc, _, km, _, _, _ = labels[lid]
        if soc <= best[stop] + 1e-9:
            continue
        best[stop] = soc
        if stop == dest:
            return _reconstruct(index, req, labels, lid, st)
        if st.can_charge[stop] and soc < req.max_charge_soc:
            step = req.soc_step
            nxt = min(math.floor(soc / step + 1e-9) * step + step, req.max_charge_soc)
            dt = index.curves[stop - 1].seconds(soc, nxt)
            if math.isfinite(dt):
                labels.append((stop, nxt, t + dt, km, lid, True, 0))
                heapq.heappush(heap, (st.key(t + dt, stop, nxt), t + dt, seq, len(labels) - 1, 0))
                seq += 1
        arrive = soc - st.d_soc[:, stop, :]
        ok = np.isfinite(st.time_s[:, stop, :]) & (arrive >= st.min_soc) & (arrive > best + 1e-9)
        route, j = np.nonzero(ok)
        if len(j) == 0:
            continue
        tj = t + st.time_s[route, stop, j] + st.penalty[j]
        arrive_j = arrive[route, j]
        key = tj + h[j] + np.maximum(0.0, st.need[j] - arrive_j) * st.s_per_pct
        order = np.argsort(key, kind="stable")
        km_j = km + st.dist_m[route, stop, j] / 1000.0
        batches.append(
            _Batch(
                lid,
                key[order],
                j[order],
                route[order],
                arrive_j[order],
                tj[order],
                km_j[order],
            )
        )
        heapq.heappush(heap, (float(key[order[0]]), float(tj[order[0]]), seq, -len(batches), 0))
        seq += 1
    raise NoFeasiblePlan(_why_not(labels, best, h))


def _next_live(b: _Batch, pos: int, best: FloatArray) -> int:
    # the next drive after `pos` not yet dominated (dominance only grows: skipped stays skipped)
    rest = np.flatnonzero(b.arrive[pos + 1 :] > best[b.stop[pos + 1 :]] + 1e-9)
    return pos + 1 + int(rest[0]) if len(rest) else -1


def _why_not(labels: list[_Label], best: FloatArray, h: FloatArray) -> str:
    # the expanded stop closest (in road time) to the destination, with the most SoC it reached
    reached = [lab for lab in labels if best[lab[0]] > -np.inf and lab[0] != len(best) - 1]
    stop, _, _, km, _, _, _ = min(reached, key=lambda lab: (h[lab[0]], -lab[1]))
    where = "the origin" if stop == 0 else f"km {km:.0f}"
    return f"no charger reachable from {where} with {best[stop]:.0f} % SoC"


def _reconstruct(
    index: SiteIndex, req: TripRequest, labels: list[_Label], lid: int, st: _Stops
) -> Plan:
    chain = []
    while lid >= 0:
        chain.append(labels[lid])
        lid = labels[lid][4]
    chain.reverse()
    nodes = st.node
    legs: list[Leg] = []
    stops: list[Stop] = []
    leg: list[float] | None = None  # the leg being driven: passing a charger extends it
    via: list[tuple[int, int, int]] = []
    for prev, lab in pairwise(chain):
        if lab[5]:  # a charge step at the current stop
            if leg is not None:
                legs.append(_leg(leg, via))
                leg = None
                stops.append(Stop(index.sites[lab[0] - 1], lab[3], prev[1], 0.0, prev[1]))
            last = stops[-1]
            stops[-1] = Stop(
                last.site, last.km, last.arrival_soc, last.charge_s + lab[2] - prev[2], lab[1]
            )
            continue
        a, b, r = prev[0], lab[0], lab[6]
        if leg is None:
            leg = [nodes[a], nodes[b], 0.0, 0.0, 0.0, prev[1], lab[1]]
            via = []
        leg[1] = nodes[b]
        leg[2] += st.dist_m[r, a, b]
        leg[3] += st.time_s[r, a, b]
        leg[4] += st.e_wh[r, a, b]
        leg[6] = lab[1]
        via.append((int(nodes[a]), int(nodes[b]), int(r)))
    if leg is not None:
        legs.append(_leg(leg, via))
    return Plan(tuple(legs), tuple(stops), profile_of(legs, stops))


def _leg(v: list[float], via: list[tuple[int, int, int]]) -> Leg:
    return Leg(
        int(v[0]), int(v[1]), float(v[2]), float(v[3]), float(v[4]), float(v[5]), float(v[6]),
        tuple(via),
    )  # fmt: skip
