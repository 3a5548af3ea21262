"""The scale-out API process's twin at fleet size: how long its garbage collections hold it.

The API process of `volta serve --workers N` applies every worker commit to its twin on one
thread (`volta.twin.follow`). A full garbage collection holds the GIL for as long as it walks
the tracked objects: the start-up heap (~190,000 objects: every module the platform imports)
plus the twin of a 10,000-vehicle fleet (~230,000). This builds that process (a `Platform`
following the workers, on a private PostgreSQL and NATS), fills its twin with `--vehicles`
vehicles of 20 signals, then applies 100-sample batches at the fleet's rate (each vehicle one
batch every 5 s) in groups every 50 ms, as the bus delivers them, and reports the time to apply
a group (p50/p99/max) and every collection's pause. `--untuned` leaves the interpreter as it
starts (what `bench/fleet.py`'s API process was before it ran as `volta serve` runs it: tuned
by `volta.tuning.tune_for_ingest`, start-up heap frozen). `--alerts` also runs the alert log's
sync (every 5 s) beside it.

    .venv/bin/python bench/api_twin.py [--quick] [--untuned] [--alerts] [--vehicles N]

The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from volta.clock import wall_ms
from volta.config import Settings
from volta.devservices import PrivateNats, PrivatePostgres
from volta.platform import Platform
from volta.store.base import AcceptedBatch
from volta.store.postgres_store import Server
from volta.tuning import tune_for_ingest

GROUP = 100  # batches a bus message brings
EVERY_S = 0.05  # a group every 50 ms: 2,000 batches/s, 10,000 vehicles every 5 s
SIGNALS = list(range(1, 21)) * 5  # 20 signals x 5 ticks: 100 samples


def run(args: argparse.Namespace) -> dict[str, Any]:
    pauses: list[tuple[int, float, float]] = []  # generation, wall ms, CPU ms
    started = [0.0, 0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter(), time.process_time()]
        else:
            wall = (time.perf_counter() - started[0]) * 1000
            pauses.append((info["generation"], wall, (time.process_time() - started[1]) * 1000))

    with PrivatePostgres() as pg, PrivateNats() as nats:
        Server(pg.url).migrate()
        data_dir = Path(tempfile.mkdtemp(prefix="volta-api-twin-"))
        settings = Settings(data_dir=data_dir, store=pg.url, bus=f"{nats.url}?prefix=apitwin")
        platform = Platform(settings, require_registered=False, follow_workers=True)
        try:
            if not args.untuned:
                tune_for_ingest()  # as `volta serve` does once everything is built
            if args.alerts:
                platform.alerts.interval_s = 5.0
                platform.alerts.start()
            vins = [f"JHMZZ1A1XRV{i:06d}" for i in range(args.vehicles)]
            platform.twin.subscribe(vins[0], lambda vin, changes: None)  # a live page open
            gc.callbacks.append(on_gc)
            times: list[float] = []
            cpu0, end, k = time.process_time(), time.perf_counter() + args.seconds, 0
            while time.perf_counter() < end:
                now = wall_ms()
                ts = [now + (i // 20) * 1000 for i in range(len(SIGNALS))]
                group = [
                    AcceptedBatch(vins[(k + j) % len(vins)], k // len(vins) + 1, now, SIGNALS,
                                  ts, [float(j)] * len(SIGNALS), [None] * len(SIGNALS), now)
                    for j in range(GROUP)
                ]  # fmt: skip
                k += GROUP
                t0 = time.perf_counter()
                for batch in group:
                    platform.twin.apply(batch)
                took = time.perf_counter() - t0
                times.append(took * 1000)
                time.sleep(max(0.0, EVERY_S - took))
            cpu = time.process_time() - cpu0
            gc.callbacks.remove(on_gc)
            tracked = len(gc.get_objects())
        finally:
            platform.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
    times.sort()
    full = [p for p in pauses if p[0] == 2]
    return {
        "vehicles": args.vehicles,
        "seconds": args.seconds,
        "tuned": not args.untuned,
        "alert_sync": args.alerts,
        "groups_applied": len(times),
        "group_apply_p50_ms": round(times[len(times) // 2], 2),
        "group_apply_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
        "group_apply_max_ms": round(times[-1], 1),
        "gc_collections": [sum(1 for p in pauses if p[0] == g) for g in range(3)],
        "gc_pause_ms_total": round(sum(p[1] for p in pauses), 1),
        "gc_cpu_ms_total": round(sum(p[2] for p in pauses), 1),
        "full_gc_max_pause_ms": round(max((p[1] for p in full), default=0.0), 1),
        "full_gc_max_cpu_ms": round(max((p[2] for p in full), default=0.0), 1),
        "tracked_objects": tracked,
        "cpu_s": round(cpu, 2),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--untuned", action="store_true", help="leave the interpreter untuned")
    ap.add_argument("--alerts", action="store_true", help="run the alert log's sync too")
    ap.add_argument("--quick", action="store_true", help="15 s")
    args = ap.parse_args()
    if args.quick:
        args.seconds = min(args.seconds, 15.0)
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
