"""Trip-planner goal: replan from the twin < 500 ms.

A car on a planned trip reports where it is and its SoC; the live check
(`volta.planner.live.check`) finds its place on the route and the SoC it will reach its next
stop with, and when that is short of the plan the trip is planned again from there
(`plan_trip` from the car's node with its SoC). Timed here, check + replan together, on the
shipped Helsinki extract and on Amsterdam (68k nodes), with the seeded DC sites and the scaled
Kona of `bench/planner.py`: each seeded trip with a stop is driven 40 % of the way to its first
stop with 8 points less than the plan's SoC there (at least the charger minimum + 0.5), so
the check mostly fails (`checks_short_of_plan`); a replan runs for every one, timed alike.
The charger index is built once per network and model (as the server keeps it) and not timed.

    .venv/bin/python bench/replan.py [--quick]

`--quick`: fewer trips (< 30 s). The last line of stdout is one JSON object. Wall and CPU
(`process_time`) times are both reported: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from volta.geo.osm import load_roads
from volta.planner.energy import edge_energy_wh
from volta.planner.live import check, trip_route
from volta.planner.network import RoadNetwork
from volta.planner.plan import PlanError
from volta.planner.roads_bin import EAST_WEST_EXTENT_M, load_roads_bin
from volta.planner.scenarios import scaled, seeded_sites, seeded_trips
from volta.planner.search import SiteIndex, plan_trip
from volta.vehicles.model import load_model

SHARED = Path("/work/shared/data/planner")


def city(name: str, net: RoadNetwork, factor: float, trips: int, seed: int) -> dict[str, float]:
    model = scaled(load_model("hyundai_kona_electric_2021"), factor)
    energy = edge_energy_wh(model, net.speed_mps, net.grade, net.length_m)
    index = SiteIndex(net, model, seeded_sites(net, 12, factor, seed), energy)
    wall: list[float] = []
    cpu: list[float] = []
    failed = short = 0
    for req in seeded_trips(net, 8 * trips, seed):
        if len(wall) == trips:
            break
        try:
            plan = plan_trip(index, req)
        except PlanError:
            continue
        if not plan.stops:
            continue
        route = trip_route(index, plan, req.min_charger_soc, req.min_arrival_soc)
        pos = int(route.targets[0] * 0.4)
        node = int(route.nodes[pos])
        used = route.energy_to_wh[pos] / route.full_wh * 100.0
        soc = max(req.start_soc - used - 8.0, req.min_charger_soc + 0.5)
        xy = (float(net.x_m[node]), float(net.y_m[node]))
        t0, c0 = time.perf_counter(), time.process_time()
        c = check(net, route, xy, soc)
        try:
            plan_trip(index, replace(req, origin=node, start_soc=soc))
        except PlanError:
            failed += 1  # no plan from there: the answer the driver gets, timed the same
        wall.append((time.perf_counter() - t0) * 1000.0)
        cpu.append((time.process_time() - c0) * 1000.0)
        short += not c.as_planned
    w, c_ = np.array(wall), np.array(cpu)
    return {
        f"{name}_nodes": float(net.n_nodes),
        f"{name}_replans": float(len(w)),
        f"{name}_replans_without_plan": float(failed),
        f"{name}_checks_short_of_plan": float(short),
        f"{name}_replan_median_ms": round(float(np.median(w)), 2),
        f"{name}_replan_p95_ms": round(float(np.percentile(w, 95)), 2),
        f"{name}_replan_max_ms": round(float(w.max()), 2),
        f"{name}_replan_cpu_median_ms": round(float(np.median(c_)), 2),
        f"{name}_replan_cpu_max_ms": round(float(c_.max()), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trips (< 30 s)")
    args = parser.parse_args()
    result: dict[str, float | str] = {"mode": "quick" if args.quick else "full"}
    helsinki = RoadNetwork.from_road_graph(load_roads())
    result.update(city("helsinki", helsinki, 0.004, 10 if args.quick else 50, seed=1))
    co, gr = SHARED / "amsterdam-roads.co.bin", SHARED / "amsterdam-roads.gr.bin"
    if co.exists():
        print(json.dumps(result))
        amsterdam = load_roads_bin(co, gr, EAST_WEST_EXTENT_M["amsterdam"])
        result.update(city("amsterdam", amsterdam, 0.05, 3 if args.quick else 20, seed=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
