"""A real Volta over HTTP for the schemathesis run: the browser tests' server (a platform on a
temp data dir, uvicorn on a free localhost port in a thread) with one registered vehicle with a
few hours of simulated data (drives and charges included), some quarantined batches, and an
operator API token."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tests.web import server
from volta.clock import wall_ms
from volta.config import Settings
from volta.geo.osm import default_osm_path
from volta.sim.fleet import FleetConfig, roster
from volta.sim.run import run
from volta.sim.senders import CallableSender

HOUR_MS = 3600_000


class Server(server.Server):
    """`url`, `vin`, `operator` and `vehicle` (tokens)."""

    def __init__(self, data_dir: Path, *, history_h: int = 30) -> None:
        # Rate limits and ingest budgets off: the run sends thousands of requests with one
        # token, and a 429 would hide what a route does with its input.
        # Every optional part on (road network for road sensing and trip planning, an OTA
        # folder), so that each route does its real work instead of answering 503.
        settings = Settings(
            data_dir=data_dir,
            mqtt=None,
            api_rate_per_s=0.0,
            ingest_budget_samples_per_s=0.0,
            roads=default_osm_path(),
            ota_dir=data_dir / "ota",
            ota_keys=data_dir / "ota-keys",  # OTA campaigns (they sign director targets)
        )
        super().__init__(data_dir, settings=settings)
        self._feed(history_h)

    def _feed(self, history_h: int) -> None:
        """A vehicle with `history_h` hours of simulated driving and charging, ending now, and
        a few batches that end in quarantine."""
        now = wall_ms()
        config = FleetConfig(vehicles=1, seed=7, start_ms=now - history_h * HOUR_MS, window_s=60)
        [(self.vin, model)] = roster(config)
        enrolled = self.platform.registry.add_vehicle(self.vin, model)
        self.vehicle = enrolled.token.token
        sender = CallableSender(deliver_many=self.transport.publish_many)
        run(config, history_h * 3600, sender, batch_s=10)
        bad = {"v": 1, "vin": self.vin, "seq": 1, "ts": now - 1000, "samples": [[0, "x", 1]]}
        self.transport.publish(self.vin, msgspec.json.encode(bad))
        self.transport.publish(self.vin, b"{not json")
