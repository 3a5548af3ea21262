"""Road sensing against the simulator's truth at the issue's scale: a week of a 1,000-vehicle fleet
with winter days, figures per kind of hazard.

The fleet (every road hazard on: `volta.sim.surface.EVERY_HAZARD`, potholes at 3/km) drives
the shipped Helsinki graph from Monday 2026-03-02T00:00Z, a week of frosty nights (down to
-10 °C) and afternoons just above freezing, so ice forms and melts most days. Its telemetry goes
through `RoadSensing` batch by batch; what is published each simulated minute is compared with
the truth (`volta.hazards.evaluation`, which `tests/hazards/test_against_truth.py` runs at
80 cars for a day). Goals (issue 20): potholes passed by >= 3 cars precision and recall >= 0.9;
speed bumps never published; ice confirmed <= 10 min after the third car that slipped on it and
gone <= 30 min after it melted; median pothole location error < 15 m.

    .venv/bin/python bench/hazards_week.py [--quick] [--vehicles N] [--days D]

`--quick`: 60 cars for 12 h (the first night's frost and the morning). Progress goes to
stderr; the last line of stdout is one JSON object, a key per kind. CPU time is given beside
wall time: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

from volta.hazards.evaluation import (
    Figures,
    bumps_published,
    ice_episodes,
    location_errors,
    precision_recall,
    report,
    run,
)
from volta.hazards.model import Kind

WEEK_MS = 1_772_409_600_000  # 2026-03-02T00:00Z, a Monday


def per_kind(fig: Figures) -> dict[str, Any]:
    """Precision, recall and location error per kind; the ice timings; the goals."""
    out: dict[str, Any] = {}
    for kind in Kind:
        p, r, published, truths = precision_recall(fig, kind)
        err = location_errors(fig, kind)
        out[str(kind)] = {
            "published": published,
            "truths_met_by_3_cars": truths,
            "precision": round(p, 3),
            "recall": round(r, 3),
            "median_location_error_m": round(statistics.median(err), 1) if err else None,
        }
    episodes = ice_episodes(fig)
    confirm = [(e.confirmed_ms - e.third_car_ms) / 60_000 for e in episodes if e.confirmed_ms]
    melt = [(e.expired_ms - e.melted_ms) / 60_000 for e in episodes if e.expired_ms and e.melted_ms]
    out["slippery"].update(
        {
            "ice_episodes_met_by_3_cars": len(episodes),
            "never_confirmed": sum(1 for e in episodes if e.confirmed_ms is None),
            "confirm_after_third_car_max_min": round(max(confirm), 1) if confirm else None,
            "confirm_after_third_car_median_min": round(statistics.median(confirm), 1)
            if confirm
            else None,
            "melted_still_published": sum(
                1 for e in episodes if e.melted_ms and e.expired_ms is None
            ),
            "expire_after_melt_max_min": round(max(melt), 1) if melt else None,
        }
    )
    out["speed_bump"] = {
        "bumps": len(fig.truths("speed_bump")),
        "published": bumps_published(fig),
    }
    pot, ice = out["pothole"], out["slippery"]
    out["goals_met"] = {
        "pothole_precision_recall_0.9": pot["precision"] >= 0.9 and pot["recall"] >= 0.9,
        "pothole_median_error_under_15_m": (pot["median_location_error_m"] or 99.0) < 15.0,
        "speed_bumps_never_published": out["speed_bump"]["published"] == 0,
        "ice_confirmed_within_10_min": ice["never_confirmed"] == 0
        and (ice["confirm_after_third_car_max_min"] or 0.0) <= 10.0,
        "ice_expired_within_30_min": ice["melted_still_published"] == 0
        and (ice["expire_after_melt_max_min"] or 0.0) <= 30.0,
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="60 cars for 12 h")
    ap.add_argument("--vehicles", type=int, default=1000)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    vehicles, hours = (60, 12.0) if args.quick else (args.vehicles, 24.0 * args.days)
    wall0, cpu0 = time.perf_counter(), time.process_time()

    def progress(t: int, fig: Figures) -> None:
        if t % 3600 == 0:
            print(
                f"{t / 3600:.0f} h simulated: {fig.samples:,} samples,"
                f" {time.process_time() - cpu0:.0f} s CPU, {time.perf_counter() - wall0:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    fig = run(vehicles, hours, args.seed, WEEK_MS, progress)
    sim_cpu = time.process_time() - cpu0
    print(report(fig))
    out = {
        "vehicles": vehicles,
        "hours": hours,
        "samples": fig.samples,
        "wall_s": round(time.perf_counter() - wall0, 1),
        "cpu_s": round(sim_cpu, 1),
        **per_kind(fig),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
