"""Alert log upkeep: what one `AlertWatch.sync` costs the process that holds the twin (it runs
every 10 s and before each alerts request; the fleet page asks every 3 s).

A twin of N vehicles with the signals the rules read (four tyres, 12 V, SoC), 2 % of them with
a low tyre and 1 % with a low SoC, over a SQLite registry in a temp dir: the first sync (raises
every alert), steady syncs (nothing changed), and syncs after 1 % of the vehicles changed
(some alerts raised, some cleared). Wall and CPU time (`process_time`): the machine may be
shared.

    .venv/bin/python bench/alerts.py [--quick] [--vehicles N]

The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from volta.alerts import LV_VOLTAGE, SOC, TYRES
from volta.alertwatch import AlertWatch
from volta.battery.watch import FadeWatch
from volta.catalog import default_catalog
from volta.derived.store import SQLiteDerivedStore
from volta.registry import SQLiteRegistry
from volta.store.base import LatestValue
from volta.twin.state import Twin

NOW_MS = 1_764_201_600_000


def fill(twin: Twin, vins: list[str], rng: np.random.Generator, ts_ms: int) -> None:
    catalog = default_catalog()
    ids = {p: catalog.get(p).id for p in (*TYRES, LV_VOLTAGE, SOC)}
    values = []
    for vin in vins:
        low_tyre, low_soc = rng.random() < 0.02, rng.random() < 0.01
        for i, path in enumerate(TYRES):
            kpa = 175.0 if low_tyre and i == 0 else 240.0
            values.append(LatestValue(vin, ids[path], ts_ms, kpa, None))
        values.append(LatestValue(vin, ids[LV_VOLTAGE], ts_ms, 12.6, None))
        values.append(LatestValue(vin, ids[SOC], ts_ms, 7.0 if low_soc else 60.0, None))
    twin.load_values(values)


def timed(fn: object, runs: int) -> tuple[list[float], list[float]]:
    wall, cpu = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--vehicles", type=int, default=10_000)
    args = ap.parse_args()
    runs = 5 if args.quick else 20
    rng = np.random.default_rng(1)
    vins = [f"VLTBENCH{i:09d}" for i in range(args.vehicles)]
    with tempfile.TemporaryDirectory() as tmp:
        registry = SQLiteRegistry.open(Path(tmp))
        derived = SQLiteDerivedStore.open(Path(tmp))
        clock = [NOW_MS]
        twin = Twin()
        fill(twin, vins, rng, NOW_MS - 1000)
        watch = AlertWatch(
            twin, default_catalog(), FadeWatch(derived, registry, lambda: clock[0]), registry,
            lambda: clock[0],
        )  # fmt: skip
        w, c = time.perf_counter(), time.process_time()
        first = watch.sync()
        first_ms = ((time.perf_counter() - w) * 1000, (time.process_time() - c) * 1000)
        steady_wall, steady_cpu = timed(watch.sync, runs)
        changing_wall: list[float] = []
        changing_cpu: list[float] = []
        moved = 0
        for r in range(runs):
            clock[0] += 10_000
            some = list(rng.choice(vins, size=max(1, len(vins) // 100), replace=False))
            fill(twin, some, rng, clock[0] - 500)
            w, c = time.perf_counter(), time.process_time()
            changes = watch.sync()
            changing_wall.append((time.perf_counter() - w) * 1000)
            changing_cpu.append((time.process_time() - c) * 1000)
            moved += len(changes.raised) + len(changes.cleared)
            del r
        registry.close()
        derived.close()
    result = {
        "vehicles": args.vehicles,
        "open_alerts": len(first.raised),
        "first_sync_ms": round(first_ms[0], 1),
        "first_sync_cpu_ms": round(first_ms[1], 1),
        "steady_sync_p50_ms": round(statistics.median(steady_wall), 1),
        "steady_sync_cpu_p50_ms": round(statistics.median(steady_cpu), 1),
        "changing_sync_p50_ms": round(statistics.median(changing_wall), 1),
        "changing_sync_cpu_p50_ms": round(statistics.median(changing_cpu), 1),
        "raised_or_cleared_per_changing_sync": round(moved / runs, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
