"""Trip-planner goal: trips with charging stops, <= 0.5 % from optimal, fast.

Small real graphs (Helsinki OSM extract, Amsterdam from anvaka/ngraph.path.demo, scaled to
23 km east-west): seeded DC sites and trips with a Kona whose battery and charging power are
scaled to the city (docs/planner.md); each trip is planned by the fast planner and by the exact
Dijkstra over (node, SoC); reported: worst deviation of the fast total time from the exact one,
median/p95 planning times, and the exact search's time over the fast one (`ratio_vs_naive`).
The charger index (built once per network and model) is timed separately. The full run adds the
real Moscow topology (412k nodes, synthetic DC sites) and the generated ~1M-node NY region with
the 528 real DC stations (trips of 200-600 km with 1-4 stops; the exact search on the first
`--exact-trips` within a label budget). Their contraction hierarchies are kept in
build/planner-cache (minutes to build the first time, seconds to load after).

    .venv/bin/python bench/planner.py [--quick] [--parts region] [--region-nodes 100000]

`--quick`: fewer trips and sites (< 30 s). The last line of stdout is one JSON object.
Wall and CPU (`process_time`) times are both reported: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from region_graph import region_graph
from volta.geo.osm import load_roads
from volta.planner.charger_files import load_afdc_csv
from volta.planner.energy import edge_energy_wh
from volta.planner.exact import SearchBudgetExceeded, exact_total_s
from volta.planner.hierarchy_file import cached_hierarchy, fingerprint
from volta.planner.network import RoadNetwork
from volta.planner.plan import NoFeasiblePlan, NoRoute, Site, TripRequest
from volta.planner.roads_bin import EAST_WEST_EXTENT_M, load_roads_bin
from volta.planner.scenarios import scaled, seeded_sites, seeded_trips
from volta.planner.search import ROUTE_WEIGHTS, SiteIndex, plan_trip, route_costs
from volta.vehicles.model import load_model

SHARED = Path("/work/shared/data/planner")
# On the region graph: fastest and least-energy paths only (each weight is 528 Dijkstras).
REGION_WEIGHTS = (0.0, None)
CACHE = Path(__file__).resolve().parents[1] / "build" / "planner-cache"  # contraction hierarchies
MAX_LABELS = 1_000_000  # the exact search's budget per trip (its Pareto sets can explode)


def city(
    name: str, net: RoadNetwork, factor: float, sites: int, trips: int, seed: int,
    cache: bool = False, max_labels: int = MAX_LABELS,
) -> dict[str, float | None]:  # fmt: skip
    """Fast vs exact on one city; times in ms. `cache`: the contraction hierarchy from (or
    into) build/planner-cache, timed apart from the charger index."""
    model = scaled(load_model("hyundai_kona_electric_2021"), factor)
    energy = edge_energy_wh(model, net.speed_mps, net.grade, net.length_m)
    site_list = seeded_sites(net, sites, factor, seed)
    hierarchy = None
    t0, c0 = time.perf_counter(), time.process_time()
    if cache:
        costs = route_costs(net, model, energy, ROUTE_WEIGHTS)
        values = np.stack([net.time_s, net.length_m, energy], axis=1)
        hierarchy = cached_hierarchy(CACHE, net, costs, values)
    hier_s, hier_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    index = SiteIndex(net, model, site_list, energy, hierarchy=hierarchy)
    index_s, index_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    fast_ms, exact_ms, cpu_ms, deviation, stops = [], [], [], [], []
    agree_no_plan = gave_up = 0
    for req in seeded_trips(net, trips, seed):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            plan = plan_trip(index, req)
        except (NoRoute, NoFeasiblePlan):
            plan = None
        fast_ms.append((time.perf_counter() - t0) * 1000)
        cpu_ms.append((time.process_time() - c0) * 1000)
        t0 = time.perf_counter()
        try:
            exact = exact_total_s(net, model, site_list, energy, req, max_labels=max_labels)
        except (NoRoute, NoFeasiblePlan):
            exact = None
        except SearchBudgetExceeded:
            gave_up += 1
            continue
        exact_ms.append((time.perf_counter() - t0) * 1000)
        if plan is None or exact is None:
            if (plan is None) != (exact is None):
                raise SystemExit(f"{name}: fast and exact disagree on whether {req} has a plan")
            agree_no_plan += 1
            continue
        deviation.append(plan.total_s / exact - 1.0)
        stops.append(len(plan.stops))
    out: dict[str, float | None] = {
        f"{name}_nodes": net.n_nodes,
        f"{name}_sites": sites,
        f"{name}_trips": trips,
        f"{name}_trips_with_stops": sum(1 for s in stops if s),
        f"{name}_trips_without_plan_both": agree_no_plan,
        f"{name}_trips_exact_gave_up": gave_up,
        f"{name}_trips_compared": len(deviation),
        f"{name}_max_deviation_pct": round(100 * max(deviation), 3) if deviation else None,
        f"{name}_min_deviation_pct": round(100 * min(deviation), 3) if deviation else None,
        f"{name}_fast_median_ms": round(float(np.median(fast_ms)), 2),
        f"{name}_fast_p95_ms": round(float(np.percentile(fast_ms, 95)), 2),
        f"{name}_fast_max_ms": round(max(fast_ms), 2),
        f"{name}_fast_cpu_median_ms": round(float(np.median(cpu_ms)), 2),
        f"{name}_fast_cpu_p95_ms": round(float(np.percentile(cpu_ms, 95)), 2),
        f"{name}_exact_median_ms": round(float(np.median(exact_ms)), 2) if exact_ms else None,
        # median exact time (trips it answered) over median fast time (all trips)
        f"{name}_ratio_vs_naive": (
            round(float(np.median(exact_ms) / np.median(fast_ms)), 2) if exact_ms else None
        ),
        f"{name}_hierarchy_s": round(hier_s, 2) if cache else None,
        f"{name}_hierarchy_cpu_s": round(hier_cpu_s, 2) if cache else None,
        f"{name}_hierarchy_mb": round(index.hierarchy.nbytes / 1e6, 1),
        f"{name}_index_s": round(index_s, 2),
        f"{name}_index_cpu_s": round(index_cpu_s, 2),
    }
    return out


def region(
    target_nodes: int, trips: int, seed: int, exact_trips: int, exact_labels: int
) -> dict[str, float | None]:
    """Trips of 200-600 km on the generated region graph with the 528 real NY DC stations; the
    first `exact_trips` also by the exact search (budget `exact_labels` labels each)."""
    stations = load_afdc_csv(SHARED / "alt_fuel_stations_NY_2025-02.csv").dc_fast()
    lat = np.array([st.lat for st in stations])
    lon = np.array([st.lon for st in stations])
    t0 = time.perf_counter()
    net, nodes = region_graph(lat, lon, target_nodes, seed)
    build_s = time.perf_counter() - t0
    model = load_model("hyundai_kona_electric_2021")
    energy = edge_energy_wh(model, net.speed_mps, net.grade, net.length_m)
    sites = [Site(int(n), st.power_kw, st.name) for n, st in zip(nodes, stations, strict=True)]
    costs = route_costs(net, model, energy, REGION_WEIGHTS)
    values = np.stack([net.time_s, net.length_m, energy], axis=1)
    cached = (CACHE / f"hierarchy-{fingerprint(net, costs, values)}.npz").exists()
    t0, c0 = time.perf_counter(), time.process_time()
    hierarchy = cached_hierarchy(CACHE, net, costs, values)
    hier_s, hier_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    index = SiteIndex(net, model, sites, energy, weights=REGION_WEIGHTS, hierarchy=hierarchy)
    index_s, index_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    rng = np.random.default_rng(seed)
    ms: list[float] = []
    cpu_ms: list[float] = []
    stops: list[int] = []
    km: list[float] = []
    deviation: list[float] = []
    exact_ms: list[float] = []
    gave_up = outside = 0
    gave_up_ms: list[float] = []
    x, y = net.x_m[nodes], net.y_m[nodes]
    while len(ms) < trips:
        a, b = (int(i) for i in rng.choice(len(stations), 2, replace=False))
        if not 200_000 <= math.hypot(x[a] - x[b], y[a] - y[b]) <= 500_000:
            continue
        req = TripRequest(int(nodes[a]), int(nodes[b]), start_soc=80.0, min_arrival_soc=10.0)
        t0, c0 = time.perf_counter(), time.process_time()
        plan = plan_trip(index, req)
        wall_ms = (time.perf_counter() - t0) * 1000
        cpu = (time.process_time() - c0) * 1000
        if not (200 <= plan.distance_m / 1000 <= 600 and 1 <= len(plan.stops) <= 4):
            outside += 1  # not a trip of the goal (200-600 km, 1-4 stops)
            continue
        ms.append(wall_ms)
        cpu_ms.append(cpu)
        stops.append(len(plan.stops))
        km.append(plan.distance_m / 1000)
        if len(exact_ms) + gave_up < exact_trips:
            t0 = time.perf_counter()
            try:
                exact = exact_total_s(net, model, sites, energy, req, max_labels=exact_labels)
            except SearchBudgetExceeded:
                gave_up += 1
                gave_up_ms.append((time.perf_counter() - t0) * 1000)
                continue
            exact_ms.append((time.perf_counter() - t0) * 1000)
            deviation.append(plan.total_s / exact - 1.0)
    graph_mb = sum(
        a.nbytes
        for a in (net.x_m, net.y_m, net.src, net.dst, net.length_m, net.speed_mps, net.grade)
    )
    index_mb = sum(a.nbytes for a in (index.time_s, index.distance_m, index.e_wh))
    compared = len(exact_ms)
    return {
        "region_nodes": net.n_nodes,
        "region_edges": len(net.src),
        "region_sites": len(sites),
        "region_build_s": round(build_s, 1),
        "region_hierarchy_cached": cached,
        "region_hierarchy_s": round(hier_s, 1),
        "region_hierarchy_cpu_s": round(hier_cpu_s, 1),
        "region_hierarchy_edges": len(hierarchy.src),
        "region_hierarchy_core_nodes": int(np.sum(hierarchy.level == hierarchy.core)),
        "region_index_s": round(index_s, 1),
        "region_index_cpu_s": round(index_cpu_s, 1),
        "region_graph_mb": round(graph_mb / 1e6, 1),
        "region_hierarchy_mb": round(hierarchy.nbytes / 1e6, 1),
        "region_index_mb": round(index_mb / 1e6, 1),
        "region_trips": trips,
        "region_trips_outside_goal_skipped": outside,
        "region_trip_km_median": round(float(np.median(km)), 1),
        "region_stops_min": min(stops),
        "region_stops_max": max(stops),
        "region_plan_median_ms": round(float(np.median(ms)), 1),
        "region_plan_p95_ms": round(float(np.percentile(ms, 95)), 1),
        "region_plan_max_ms": round(max(ms), 1),
        "region_plan_cpu_median_ms": round(float(np.median(cpu_ms)), 1),
        "region_plan_cpu_p95_ms": round(float(np.percentile(cpu_ms, 95)), 1),
        "region_plan_cpu_max_ms": round(max(cpu_ms), 1),
        "region_trips_compared": compared,
        "region_trips_exact_gave_up": gave_up,
        "region_max_deviation_pct": round(100 * max(deviation), 3) if deviation else None,
        "region_min_deviation_pct": round(100 * min(deviation), 3) if deviation else None,
        "region_exact_median_ms": round(float(np.median(exact_ms)), 1) if compared else None,
        # how long the exact search ran before giving up: the ratio is at least this / fast
        "region_exact_gave_up_after_median_ms": (
            round(float(np.median(gave_up_ms)), 1) if gave_up_ms else None
        ),
        # median exact time over median fast time (the fast planner on every trip)
        "region_ratio_vs_naive": (
            round(float(np.median(exact_ms) / np.median(ms)), 1) if compared else None
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trips and sites (< 30 s)")
    parser.add_argument(
        "--parts", default="helsinki,amsterdam,moscow,region",
        help="comma-separated graphs to run (moscow and region not in --quick)",
    )  # fmt: skip
    parser.add_argument(
        "--region-nodes", type=int, default=1_000_000, help="region graph size (not in --quick)"
    )
    parser.add_argument(
        "--exact-trips", type=int, default=2, help="region trips also solved by the exact search"
    )
    parser.add_argument(
        "--exact-labels", type=int, default=2_000_000, help="the exact search's budget per trip"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if args.quick:
        parts -= {"moscow", "region"}
    result: dict[str, float | str | None] = {"mode": "quick" if args.quick else "full"}
    if "helsinki" in parts:
        helsinki = RoadNetwork.from_road_graph(load_roads())
        result.update(city("helsinki", helsinki, 0.004, 12, 20 if args.quick else 100, seed=1))
        print(json.dumps(result))
    co, gr = SHARED / "amsterdam-roads.co.bin", SHARED / "amsterdam-roads.gr.bin"
    if "amsterdam" in parts and co.exists():
        amsterdam = load_roads_bin(co, gr, EAST_WEST_EXTENT_M["amsterdam"])
        sites, trips = (12, 2) if args.quick else (12, 20)
        result.update(city("amsterdam", amsterdam, 0.05, sites, trips, seed=2))
        print(json.dumps(result))
    co, gr = SHARED / "moscow-roads.co.bin", SHARED / "moscow-roads.gr.bin"
    if "moscow" in parts and co.exists():
        moscow = load_roads_bin(co, gr, EAST_WEST_EXTENT_M["moscow"])
        # 100 synthetic DC sites, a Kona scaled to 6.4 kWh (~40 km): trips across the city stop
        result.update(city("moscow", moscow, 0.1, 100, 20, seed=4, cache=True, max_labels=300_000))
        print(json.dumps(result))
    if "region" in parts:
        result.update(region(args.region_nodes, 30, 3, args.exact_trips, args.exact_labels))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
