"""A real Volta over HTTP for the schemathesis run: a platform on a temp data dir, uvicorn on a
free localhost port in a thread, one registered vehicle with a few hours of simulated data
(drives and charges included) and some quarantined batches, and an operator API token."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import uvicorn

from volta.api import create_app
from volta.config import Settings
from volta.ingest.inproc import InProcessTransport
from volta.platform import Platform
from volta.registry import Role
from volta.sim.fleet import FleetConfig, roster
from volta.sim.run import run
from volta.sim.senders import CallableSender

HOUR_MS = 3600_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _settings(data_dir: Path) -> Settings:
    # Rate limits and ingest budgets off where this tree has them: the run sends thousands of
    # requests with one token, and a 429 would hide what a route does with its input.
    wanted: dict[str, Any] = {"api_rate_per_s": 0.0, "ingest_budget_samples_per_s": 0.0}
    extra = {k: v for k, v in wanted.items() if k in Settings.model_fields}
    return Settings(data_dir=data_dir, mqtt=None, **extra)


class Server:
    """Platform + uvicorn in a thread. `url`, `vin`, `operator` and `vehicle` (tokens)."""

    def __init__(self, data_dir: Path, *, history_h: int = 30) -> None:
        self.platform = Platform(_settings(data_dir))
        self.platform.start()
        self.operator = self.platform.registry.issue_token(Role.OPERATOR).token
        self._feed(history_h)
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
        self._thread = threading.Thread(target=self._uvicorn.run, name="uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._uvicorn.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 20 s")
            time.sleep(0.02)

    def _feed(self, history_h: int) -> None:
        """A vehicle with `history_h` hours of simulated driving and charging, ending now, and
        a few batches that end in quarantine."""
        now = time.time_ns() // 1_000_000
        config = FleetConfig(vehicles=1, seed=7, start_ms=now - history_h * HOUR_MS, window_s=60)
        [(self.vin, model)] = roster(config)
        enrolled = self.platform.registry.add_vehicle(self.vin, model)
        self.vehicle = enrolled.token.token
        transport = InProcessTransport(self.platform.gateway)
        sender = CallableSender(deliver_many=transport.publish_many)
        run(config, history_h * 3600, sender, batch_s=10)
        bad = {"v": 1, "vin": self.vin, "seq": 1, "ts": now - 1000, "samples": [[0, "x", 1]]}
        transport.publish(self.vin, msgspec.json.encode(bad))
        transport.publish(self.vin, b"{not json")

    def close(self) -> None:
        self._uvicorn.should_exit = True
        self._thread.join(timeout=10)
        self.platform.stop()
