"""The exact baseline: Dijkstra over (road node, SoC), for small graphs.

Every road node is a state; a label (node, SoC, time) drives each outgoing edge, and at a
charger node also charges one SoC grid step (the same grid and curves as `planner.search`). A
label is dropped when an earlier one at the node had at least its SoC (plus `tolerance_soc`,
default 0: the exact Pareto search; a tolerance makes it faster but can lose a label that a
SoC threshold later needs, so the benchmark and tests use 0). Unlike the fast planner it
considers every path, including slower ones that save energy. It is the naive reference the
benchmark compares against: its cost grows with the number of road nodes, not chargers.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from volta.errors import VoltaError
from volta.planner.energy import ChargeCurve
from volta.planner.network import FloatArray, RoadNetwork
from volta.planner.plan import NoFeasiblePlan, NoRoute, Site, TripRequest
from volta.vehicles.model import VehicleModel

__all__ = ["SearchBudgetExceeded", "exact_total_s"]


class SearchBudgetExceeded(VoltaError):
    """The exact search expanded more labels than allowed; no answer (use the fast planner)."""


def exact_total_s(
    net: RoadNetwork, model: VehicleModel, sites: list[Site], energy_wh: FloatArray,
    req: TripRequest, tolerance_soc: float = 0.0, max_labels: int | None = None,
) -> float:  # fmt: skip
    """Total trip time (driving + charging, s) of the best plan; NoRoute / NoFeasiblePlan;
    SearchBudgetExceeded after `max_labels` expanded labels (the Pareto sets of (time, SoC) at
    each node can grow large: on Amsterdam some trips need millions)."""
    h, _ = net.tree(req.destination, reverse=True)
    if not math.isfinite(h[req.origin]):
        raise NoRoute("the destination is not reachable by road from the origin")
    curve = {s.node: ChargeCurve(model, s.power_kw) for s in sites}
    cap_wh = model.usable_kwh_new * 1000.0
    d_soc = (energy_wh / cap_wh * 100.0).tolist()
    edge_t = net.time_s.tolist()
    indptr = np.searchsorted(net.src, np.arange(net.n_nodes + 1)).tolist()
    dst = net.dst.tolist()
    h_list = h.tolist()
    floor_soc = min(req.min_charger_soc, req.min_arrival_soc)
    best = [-math.inf] * net.n_nodes
    expanded = 0
    heap = [(h_list[req.origin], 0.0, req.origin, req.start_soc)]
    while heap:
        _, t, v, soc = heapq.heappop(heap)
        if soc <= best[v] + tolerance_soc:
            continue
        best[v] = soc
        expanded += 1
        if max_labels is not None and expanded > max_labels:
            raise SearchBudgetExceeded(f"exact search gave up after {max_labels:,} labels")
        if v == req.destination and soc >= req.min_arrival_soc:
            return t
        c = curve.get(v)
        if c is not None and soc >= req.min_charger_soc and soc < req.max_charge_soc:
            step = req.soc_step
            nxt = min(math.floor(soc / step + 1e-9) * step + step, req.max_charge_soc)
            dt = c.seconds(soc, nxt)
            if math.isfinite(dt):
                heapq.heappush(heap, (t + dt + h_list[v], t + dt, v, nxt))
        for e in range(indptr[v], indptr[v + 1]):
            w = dst[e]
            arrive = soc - d_soc[e]
            if arrive >= floor_soc and arrive > best[w] + tolerance_soc and h_list[w] < math.inf:
                tw = t + edge_t[e]
                heapq.heappush(heap, (tw + h_list[w], tw, w, arrive))
    raise NoFeasiblePlan("no plan keeps the battery above the minimum SoC")
