"""A real Volta for the browser tests and the dashboard benchmark: a platform on a temp data
dir, uvicorn on a free localhost port in a thread, fed by the simulator in process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import uvicorn

from volta.api import create_app
from volta.clock import wall_ms
from volta.config import Settings
from volta.demo_fleet import plan
from volta.devservices import free_port
from volta.geo.osm import default_osm_path, load_roads
from volta.ingest.inproc import InProcessTransport
from volta.platform import Platform
from volta.registry import Role
from volta.sim.fleet import local_offset_s, roster
from volta.sim.labels import fleet_labels
from volta.sim.run import run
from volta.sim.senders import CallableSender


class Stopped(Exception):
    """Raised in the simulator's sleep when the server shuts down."""


class Server:
    """Platform + uvicorn; `feed_fleet` drives simulated vehicles into it. `settings`
    default: the data dir, no broker, the shipped Helsinki extract as the road network (road
    sensing and the trip planner answer)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        require_registered: bool = True,
        settings: Settings | None = None,
    ) -> None:
        self.platform = Platform(
            settings or Settings(data_dir=data_dir, mqtt=None, roads=default_osm_path()),
            require_registered=require_registered,
        )
        self.platform.start()
        self.operator = self.platform.registry.issue_token(Role.OPERATOR).token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(self.platform),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            log_level="warning",
            access_log=False,
        )
        self._uvicorn = uvicorn.Server(config)
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.transport = InProcessTransport(self.platform.gateway)
        self.vins: list[str] = []  # the fleet `feed_fleet` drives
        self._start_thread(self._uvicorn.run, "uvicorn")
        deadline = time.monotonic() + 20
        while not self._uvicorn.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 20 s")
            time.sleep(0.02)

    def _start_thread(self, target: Callable[[], object], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def feed_fleet(self, vehicles: int, *, seed: int = 3, history_s: int = 1800) -> list[str]:
        """Register a fleet and drive it: its first `history_s` seconds at full speed (so the
        charts have something to draw), then on in real time, a batch a second, with sample
        times close to the wall clock. Returns (and keeps in `vins`) its VINs once the history
        is in."""
        now_ms = wall_ms()
        # The demo's fleet (`volta.demo_fleet.plan`): its drivers' day opens at the evening
        # commute on a weekday whatever the hour, with the demo's staged scenes (a DC and a
        # home charge under way, cars on the road, faults), so the pages and the README's
        # pictures show what `make demo` shows. Only the history is shorter than the demo's.
        demo = plan(now_ms, vehicles, seed, local_offset_s(load_roads(default_osm_path())))
        start_ms = now_ms - history_s * 1000
        start_ms -= start_ms % 60_000
        config = replace(demo, start_ms=start_ms, showcase_s=(now_ms - start_ms) // 1000).config()
        fleet_start_ms = config.start_ms - config.start_ms % 60_000  # as the fleet rounds it
        behind_s = (now_ms - fleet_start_ms) / 1000
        cars = roster(config)
        self.vins = [vin for vin, _ in cars]
        for (vin, model), label in zip(cars, fleet_labels(cars), strict=True):
            self.platform.registry.add_vehicle(
                vin, model, name=label.name, plate=label.plate, group=label.group
            )
        caught_up = threading.Event()
        calls = [0]

        def clock() -> float:
            # The run paces sample times against its first reading of this clock: reading
            # `behind_s` in the past sends the history at once, then each second as it ends.
            calls[0] += 1
            return time.monotonic() - (behind_s if calls[0] == 1 else 0.0)

        def sleep(seconds: float) -> None:
            caught_up.set()
            if self._stop.wait(seconds):
                raise Stopped

        def drive() -> None:
            sender = CallableSender(deliver_many=self.transport.publish_many)
            try:
                run(
                    config,
                    history_s + 3600,
                    sender,
                    batch_s=1,
                    speedup=1.0,
                    clock=clock,
                    sleep=sleep,
                )
            except Stopped:
                return

        self._start_thread(drive, "fleet")
        limit_s = 120 + history_s // 60  # a loaded machine sends the demo's 10 h in minutes
        if not caught_up.wait(limit_s):
            raise RuntimeError(f"the simulated fleet did not catch up in {limit_s} s")
        return self.vins

    def close(self) -> None:
        self._stop.set()
        self._uvicorn.should_exit = True
        for thread in self._threads:
            thread.join(timeout=10)
        self.platform.stop()
