"""Dashboard goal: the fleet page with 10,000 vehicles renders < 1 s after the data arrives and
takes 1 Hz updates without dropped frames, measured in Debian's Chromium (headless).

A platform on a temp data dir behind uvicorn; 10,000 vehicles drive the shipped road network
(random walks along its edges); a tenth of them report position, heading, speed and SoC each
second, applied straight to the platform's twin. The page polls
`/v1/fleet/positions` at 1 Hz; in the browser, `requestAnimationFrame` deltas give the frame
times and the page's own marks (`window.voltaPerf`) the time from data arrival to painted.

    .venv/bin/python bench/dashboard.py [--quick] [--vehicles N] [--seconds S]

The last line of stdout is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn

from volta.api import create_app
from volta.clock import wall_ms
from volta.config import Settings
from volta.geo.graph import RoadGraph
from volta.geo.osm import load_roads
from volta.platform import Platform
from volta.registry import Role
from volta.store.base import AcceptedBatch
from volta.tuning import tune_for_ingest

CHROMIUM = os.environ.get("VOLTA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FRAME_MS = 1000 / 60
LAT = "Vehicle.CurrentLocation.Latitude"
LON = "Vehicle.CurrentLocation.Longitude"
HEADING = "Vehicle.CurrentLocation.Heading"
SPEED = "Vehicle.Speed"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"


class Walkers:
    """N vehicles moving along random road edges at their own speeds (vectorised)."""

    def __init__(self, graph: RoadGraph, n: int, seed: int = 0) -> None:
        self.g = graph
        self.rng = np.random.default_rng(seed)
        self.edge = self.rng.integers(0, graph.n_edges, n)
        self.along = self.rng.random(n)  # fraction of the edge done
        self.kmh = self.rng.uniform(0, 60, n).round(1)
        self.kmh[self.rng.random(n) < 0.3] = 0.0  # some parked
        self.soc = self.rng.uniform(5, 100, n)

    def step(self, dt_s: float = 1.0) -> None:
        g = self.g
        self.along += self.kmh / 3.6 * dt_s / g.length_m[self.edge]
        done = np.nonzero(self.along >= 1.0)[0]
        if len(done):
            nxt = g.dst[self.edge[done]]
            deg = g.indptr[nxt + 1] - g.indptr[nxt]
            self.edge[done] = g.indptr[nxt] + self.rng.integers(0, 1 << 30, len(done)) % deg
            self.along[done] = 0.0
        self.soc = np.maximum(self.soc - self.kmh * 2e-5, 1.0)

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g, s, d = self.g, self.g.src[self.edge], self.g.dst[self.edge]
        lat = g.lat[s] + (g.lat[d] - g.lat[s]) * self.along
        lon = g.lon[s] + (g.lon[d] - g.lon[s]) * self.along
        east = (g.lon[d] - g.lon[s]) * np.cos(np.radians(g.lat[s]))
        heading = np.degrees(np.arctan2(east, g.lat[d] - g.lat[s])) % 360.0
        return lat, lon, np.minimum(heading, 359.9)


def vin_of(i: int) -> str:
    return f"JHMZZ1A1XRV{i:06d}"


class Feed:
    """Every second, a tenth of the fleet reports (each vehicle every 10 s, as the simulator's
    vehicles do), applied straight to the twin: this benchmark measures the page, not the
    gateway (bench/ingest.py does that). `publish_once(every=1)` updates all of them."""

    def __init__(self, platform: Platform, walkers: Walkers) -> None:
        self.twin = platform.twin
        cat = platform.catalog
        self.sids = [cat.get(p).id for p in (LAT, LON, HEADING, SPEED, SOC)]
        self.walkers = walkers
        self.vins = [vin_of(i) for i in range(len(walkers.kmh))]
        self.seq = 0
        self.publish_s: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def publish_once(self, every: int = 10) -> None:
        t0 = time.perf_counter()
        w = self.walkers
        w.step()
        lat, lon, heading = w.columns()
        cols = np.stack([lat.round(6), lon.round(6), heading.round(1), w.kmh, w.soc.round(1)], 1)
        now = wall_ms()
        self.seq += 1
        ts = [now] * len(self.sids)
        txt: list[str | None] = [None] * len(self.sids)
        for i in range(self.seq % every, len(self.vins), every):
            values: list[float | None] = cols[i].tolist()
            self.twin.apply(
                AcceptedBatch(self.vins[i], self.seq, now, self.sids, ts, values, txt, now)
            )
        self.publish_s.append(time.perf_counter() - t0)

    def _run(self) -> None:
        while not self._stop.wait(max(0.0, 1.0 - (self.publish_s[-1] if self.publish_s else 0))):
            self.publish_once()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values), q))


RAF_PROBE = """() => {
  window.benchFrames = [];
  let last = performance.now();
  const loop = (t) => { window.benchFrames.push(t - last); last = t; requestAnimationFrame(loop); };
  requestAnimationFrame(loop);
}"""


def measure(url: str, token: str, seconds: float) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1366, "height": 900},
        )
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{url}/ui/#/signin")
        page.evaluate("t => sessionStorage.setItem('volta.token', t)", token)
        page.goto(f"{url}/ui/#/fleet")
        page.wait_for_function("window.voltaPerf && window.voltaPerf.firstRenderMs !== null")
        markers = int(page.locator("#fleet-map").get_attribute("data-markers") or "0")
        page.evaluate(RAF_PROBE)
        page.wait_for_timeout(seconds * 1000)
        perf = page.evaluate("window.voltaPerf")
        frames: list[float] = page.evaluate("window.benchFrames")[1:]
        ctx.close()
    dropped = sum(max(0, round(f / FRAME_MS) - 1) for f in frames if f > 1.5 * FRAME_MS)
    return {
        "markers": markers,
        "first_render_ms": round(perf["firstRenderMs"], 1),
        "updates": len(perf["updateMs"]),
        "update_p50_ms": round(pct(perf["updateMs"], 50), 1),
        "update_p99_ms": round(pct(perf["updateMs"], 99), 1),
        "parse_p50_ms": round(pct(perf["parseMs"], 50), 1),
        "list_p50_ms": round(pct(perf["listMs"], 50), 1),
        "paint_p50_ms": round(pct(perf["paintMs"], 50), 1),
        "frames": len(frames),
        "frame_p50_ms": round(pct(frames, 50), 1),
        "frame_p99_ms": round(pct(frames, 99), 1),
        "frame_max_ms": round(max(frames, default=float("nan")), 1),
        "dropped_frames": dropped,
        "console_errors": len(errors),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="a shorter measurement; < 30 s")
    ap.add_argument("--vehicles", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=None, help="frames measured (5 / 30)")
    args = ap.parse_args()
    seconds = args.seconds if args.seconds is not None else (5.0 if args.quick else 30.0)
    if not Path(CHROMIUM).is_file():
        raise SystemExit(f"{CHROMIUM} is missing: run scripts/browser.sh")
    with tempfile.TemporaryDirectory() as data_dir:
        platform = Platform(Settings(data_dir=Path(data_dir), mqtt=None), require_registered=False)
        tune_for_ingest()  # as `volta serve` does
        platform.start()
        token = platform.registry.issue_token(Role.OPERATOR).token
        feed = Feed(platform, Walkers(load_roads(), args.vehicles))
        feed.publish_once(every=1)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(platform),
                host="127.0.0.1",
                port=port,
                log_config=None,
                log_level="warning",
                access_log=False,
            )
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        while (
            len(httpx.get(f"{url}/v1/fleet/positions", headers=headers).json()["vin"])
            < args.vehicles
        ):
            time.sleep(0.1)
        feed.start()
        try:
            calls = []
            for _ in range(3 if args.quick else 10):
                t0 = time.perf_counter()
                body = httpx.get(f"{url}/v1/fleet/positions", headers=headers).content
                calls.append((time.perf_counter() - t0) * 1000)
            figures = measure(url, token, seconds)
        finally:
            feed.stop()
            server.should_exit = True
            platform.stop()
    result = {
        "vehicles": args.vehicles,
        **figures,
        "positions_ms_median": round(statistics.median(calls), 1),
        "positions_kb": round(len(body) / 1024, 1),
        "feed_publish_ms_median": round(statistics.median(feed.publish_s) * 1000, 1),
        "goal_first_render_ms": 1000,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
