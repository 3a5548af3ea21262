"""Road-sensing goal: hazard detection and fusion keep up with 10,000 vehicles at 1 Hz on one core.

A simulated fleet with every road hazard on (`volta.sim.surface`) drives the Helsinki graph in
the morning rush; its telemetry (every signal a car sends, not only those detection reads) is
collected first, then fed batch by batch through `RoadSensing` (per-car detection, fusion,
expiry each simulated minute) and timed. One driving car at 1 Hz is one `Vehicle.Speed` sample
a second, so vehicles_at_1hz_per_core = Vehicle.Speed samples / CPU second. Wall and CPU time
are both reported: the machine may be shared.

    .venv/bin/python bench/hazards.py [--quick]

`--quick` simulates 20 cars for 3 h instead of 60 for 6 h, with every hazard on
(`volta.sim.surface.EVERY_HAZARD`). The last line of stdout is one JSON
object.
Also `GET /v1/hazards` for the city's bbox, goal p99 < 20 ms: over HTTP (the platform's app
behind uvicorn in this process, an operator's bearer token, one keep-alive client sending one
request after the other; every hazard lies inside the box), p50/p99 wall and the CPU per
request (client and server both). The hazards: `HTTP_PLACES` places on the graph where three
cars each confirmed a pothole (those within 15 m merge: ~800 distinct on this 18.6 km map, a
hazard every ~25 m of road, more than a city's streets carry at once); 500 requests (200 with
`--quick`). And the body alone (published hazards to GeoJSON, no HTTP) with 5,000 confirmed
potholes (1,000 with `--quick`).
And the warnings (`volta.hazards.warnings`): with 10,000 cars' fixes known and 1,000 hazards
published, the CPU per car fix, and the latency from a newly confirmed hazard to the warnings
handed to the MQTT notifier for every car whose road ahead leads to it (the broker hop not
included).
"""

from __future__ import annotations

import argparse
import json
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import uvicorn

from volta.api import create_app
from volta.config import Settings
from volta.geo.osm import load_roads
from volta.hazards.detect import SPEED
from volta.hazards.layer import HazardLayer
from volta.hazards.matching import RoadMatcher
from volta.hazards.model import Hazard, Kind, Report
from volta.hazards.sensing import RoadSensing
from volta.hazards.warnings import HazardWarner
from volta.platform import Platform
from volta.registry import Role
from volta.sim.faults import FaultRates
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.signals import ADAS_SIGNALS, Telemetry
from volta.sim.surface import EVERY_HAZARD

START_MS = 1_774_414_800_000  # 2026-03-25T05:00Z, 07:00 in Helsinki: frost and the rush hour
GOAL_VEHICLES = 10_000
HTTP_PLACES = 2_000

Chunk = tuple[int, list[tuple[str, list[tuple[int, str, object]]]]]  # (now_ms, [(vin, samples)])


def telemetry(vehicles: int, hours: float) -> list[Chunk]:
    """The fleet's batches per simulated window, as (now, [(vin, absolute samples)])."""
    config = FleetConfig(
        vehicles=vehicles,
        seed=5,
        start_ms=START_MS,
        window_s=60,
        pothole_per_km=3.0,
        faults=FaultRates(0.0, 0.0),
        surface=EVERY_HAZARD,
    )
    fleet = Fleet(config)
    tel = Telemetry(fleet.vins, 5, extra=ADAS_SIGNALS)
    out: list[Chunk] = []
    end = int(hours * 3600)
    while fleet.t < end:
        batches = tel.batches(fleet.step(end))
        now = fleet.start_ms + fleet.t * 1000
        out.append(
            (now, [(b.vin, [(b.ts + o, str(p), v) for o, p, v in b.samples]) for b in batches])
        )
    return out


def sense(chunks: list[Chunk]) -> dict[str, float]:
    sensing = RoadSensing(RoadMatcher(load_roads()))
    samples = sum(len(s) for _, batch in chunks for _, s in batch)
    ticks = sum(1 for _, batch in chunks for _, s in batch for x in s if x[1] == SPEED)
    t0, c0 = time.perf_counter(), time.process_time()
    for now, batch in chunks:
        for vin, smp in batch:
            sensing.feed(vin, smp, now)
        sensing.expire(now)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    published = sensing.hazards(chunks[-1][0])
    return {
        "samples": samples,
        "vehicle_seconds": ticks,
        "reports": sensing.reports,
        "hazards_published": len(published),
        "wall_s": round(dt, 2),
        "cpu_s": round(cpu, 2),
        "samples_per_s": round(samples / cpu),
        "vehicles_at_1hz_per_core": round(ticks / cpu),
        "ratio_vs_goal": round(ticks / cpu / GOAL_VEHICLES, 2),
    }


def potholes(sensing: RoadSensing, places: int, now: int) -> None:
    """Potholes confirmed by three cars each at `places` random places on the graph."""
    g = sensing.matcher.graph
    rng = np.random.default_rng(1)
    for i, e in enumerate(rng.integers(g.n_edges, size=places).tolist()):
        lat, lon = sensing.matcher.point(e, float(rng.uniform(0.0, float(g.length_m[e]))))
        for car in range(3):
            sensing.fusion.add(Report(f"c{i}-{car}", now, Kind.POTHOLE, lat, lon, e, 0.0, 8.0), now)


def query(sensing: RoadSensing, hazards: int, calls: int = 200) -> dict[str, float]:
    """p50/p99 of the body of `GET /v1/hazards` for the whole city (no HTTP), with `hazards`
    confirmed potholes (three cars each) at random places on the graph."""
    g = sensing.matcher.graph
    now = START_MS
    potholes(sensing, hazards, now)
    bbox = (float(g.lon.min()), float(g.lat.min()), float(g.lon.max()), float(g.lat.max()))
    times = []
    c0 = time.process_time()
    for _ in range(calls):  # as after every change of the hazards: the layer built again
        t0 = time.perf_counter()
        body = HazardLayer(sensing.hazards(now)).geojson(bbox)
        times.append((time.perf_counter() - t0) * 1000)
    cpu_ms = (time.process_time() - c0) * 1000 / calls
    return {
        "query_cpu_ms_mean": round(cpu_ms, 2),
        "query_hazards_published": len(json.loads(body)["features"]),
        "query_p50_ms": round(float(np.percentile(times, 50)), 2),
        "query_p99_ms": round(float(np.percentile(times, 99)), 2),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_query(matcher: RoadMatcher, places: int, calls: int) -> dict[str, float]:
    """`GET /v1/hazards?bbox=<the whole graph>` over HTTP: p50/p99 wall, CPU per request."""
    g = matcher.graph
    sensing = RoadSensing(matcher)
    potholes(sensing, places, time.time_ns() // 1_000_000)
    bbox = f"{g.lon.min():.5f},{g.lat.min():.5f},{g.lon.max():.5f},{g.lat.max():.5f}"
    with tempfile.TemporaryDirectory() as data_dir:
        platform = Platform(Settings(data_dir=Path(data_dir), mqtt=None))
        platform.start()
        token = platform.registry.issue_token(Role.OPERATOR).token
        app = create_app(platform)
        app.state.road_sensing = sensing
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=port, log_config=None, log_level="warning",
                access_log=False,
            )
        )  # fmt: skip
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}/v1/hazards"
        headers = {"Authorization": f"Bearer {token}"}
        times: list[float] = []
        try:
            with httpx.Client(headers=headers) as client:
                for _ in range(20):  # warm: connection, caches
                    client.get(url, params={"bbox": bbox}).raise_for_status()
                c0 = time.process_time()
                for _ in range(calls):
                    t0 = time.perf_counter()
                    r = client.get(url, params={"bbox": bbox})
                    times.append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()
                cpu_ms = (time.process_time() - c0) * 1000 / calls
                features = len(r.json()["features"])
        finally:
            server.should_exit = True
            platform.stop()
    return {
        "http_hazards_in_bbox": features,
        "http_body_kb": round(len(r.content) / 1024, 1),
        "http_p50_ms": round(float(np.percentile(times, 50)), 2),
        "http_p99_ms": round(float(np.percentile(times, 99)), 2),
        "http_cpu_ms_per_request": round(cpu_ms, 2),
        "http_goal_p99_ms": 20,
    }


def warn(matcher: RoadMatcher, cars: int = 10_000, hazards: int = 1_000) -> dict[str, float]:
    """Warnings: per-fix CPU with `hazards` published, and a new hazard's latency to the sends
    for the cars heading there, among `cars` cars at random places on the graph."""
    g = matcher.graph
    rng = np.random.default_rng(2)
    sent: list[str] = []
    warner = HazardWarner(matcher, lambda vin, payload: sent.append(vin))

    def hazard(i: int) -> Hazard:
        e = int(rng.integers(g.n_edges))
        lat, lon = matcher.point(e, 0.5 * float(g.length_m[e]))
        return Hazard(f"h{i}", Kind.POTHOLE, lat, lon, e, 0, 0.7, 3, START_MS, START_MS, 8.0)

    published = [hazard(i) for i in range(hazards)]
    warner.hazards(published, START_MS)
    edges = rng.integers(g.n_edges, size=cars)
    fixes = [(*matcher.point(int(e), 1.0), float(matcher.bearing[e])) for e in edges]
    c0 = time.process_time()
    for i, (lat, lon, heading) in enumerate(fixes):  # cold: every road ahead worked out
        warner.car(f"car{i}", lat, lon, heading, START_MS)
    cold_us = (time.process_time() - c0) * 1e6 / cars
    c0 = time.process_time()
    for i, (lat, lon, heading) in enumerate(fixes):  # the next fixes, on the same roads
        warner.car(f"car{i}", lat, lon, heading, START_MS)
    fix_cpu_us = (time.process_time() - c0) * 1e6 / cars
    before = len(sent)
    latencies = []
    for i in range(20):
        t0 = time.perf_counter()
        published.append(hazard(hazards + i))
        warner.hazards(published, START_MS)
        latencies.append((time.perf_counter() - t0) * 1000)
    return {
        "warn_first_fix_cpu_us": round(cold_us, 1),
        "warn_fix_cpu_us": round(fix_cpu_us, 1),
        "warn_fixes_per_core_s": round(1e6 / fix_cpu_us),
        "warn_new_hazard_p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "warn_new_hazard_max_ms": round(max(latencies), 2),
        "warn_cars_warned_per_new_hazard": round((len(sent) - before) / len(latencies), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20 cars for 3 h instead of 60 for 6 h")
    args = ap.parse_args()
    vehicles, hours = (20, 3.0) if args.quick else (60, 6.0)
    chunks = telemetry(vehicles, hours)
    out = {"vehicles": vehicles, "hours": hours, **sense(chunks)}
    matcher = RoadMatcher(load_roads())
    out.update(query(RoadSensing(matcher), 1000 if args.quick else 5000))
    out.update(http_query(matcher, HTTP_PLACES, 200 if args.quick else 500))
    out.update(warn(matcher))
    print(
        f"{out['samples']:,} samples ({out['vehicle_seconds']:,} vehicle-seconds) in"
        f" {out['cpu_s']} s CPU: {out['vehicles_at_1hz_per_core']:,} vehicles at 1 Hz per core"
    )
    print(
        f"GET /v1/hazards body, {out['query_hazards_published']:,} hazards in the bbox:"
        f" p99 {out['query_p99_ms']} ms"
    )
    print(
        f"GET /v1/hazards over HTTP, {out['http_hazards_in_bbox']:,} hazards in the city bbox:"
        f" p50 {out['http_p50_ms']} ms, p99 {out['http_p99_ms']} ms (goal < 20 ms),"
        f" {out['http_cpu_ms_per_request']} ms CPU a request"
    )
    print(
        f"warnings: {out['warn_fix_cpu_us']} µs CPU per car fix; a new hazard reaches the"
        f" {out['warn_cars_warned_per_new_hazard']} cars heading there (of 10,000) in"
        f" {out['warn_new_hazard_p50_ms']} ms (p50)"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
