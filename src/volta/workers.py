"""Scale-out processes: stateless gateway workers, the processors, the API's twin fed from the
bus, and the supervisor behind `volta serve --workers N`.

A gateway worker (`volta gateway --index I`) is the gateway, the MQTT transport on the shared
subscription `$share/{group}/{prefix}/+/telemetry` with its own persistent session
(`{client_id}-{I}`), the PostgreSQL store and the NATS bus: no API, no processors, no twin.
The processors process (`volta processors`) runs the driver services on the bus's durable
consumer and writes the derived store. The API process (`volta serve` without a broker of its
own) reads PostgreSQL and the derived store and keeps its twin current from the `StoredGroup`s
each worker publishes per commit (`stored.{index}`, which the processors consume too).
Keeping the processors out of the API process keeps their analysis off the GIL that answers
reads (GET /state's p99).

Only engines that several processes can share qualify: PostgreSQL (DuckDB admits one writing
process) and NATS (the in-process bus does not cross processes); `check_scale_out` refuses
anything else with the reason.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

from volta.backoff import backoff_delay
from volta.bus import (
    Bus,
    open_bus,
)
from volta.catalog import Catalog, default_catalog
from volta.config import Settings
from volta.derived.columns import signal_ids
from volta.derived.processor import DriverServices
from volta.derived.store import SQLiteDerivedStore
from volta.errors import BadRequest
from volta.ingest.gateway import Gateway
from volta.ingest.metrics import IngestMetrics
from volta.ingest.mqtt import MqttTransport
from volta.places.store import PlaceBook
from volta.registry import SQLiteRegistry
from volta.store import open_store

log = logging.getLogger(__name__)


def check_scale_out(settings: Settings, workers: int) -> None:
    """Raise `BadRequest` with the reason when `workers` gateway processes cannot run on
    `settings`' engines."""
    if workers < 1:
        raise BadRequest(f"--workers must be at least 1, got {workers}")
    check_shared_engines(settings, "gateway workers")
    if not settings.mqtt:
        raise BadRequest("gateway workers take telemetry from a broker: set VOLTA_MQTT=mqtt://…")


def check_shared_engines(settings: Settings, who: str) -> None:
    """Raise `BadRequest` unless store and bus can be shared by several processes."""
    if settings.store == "duckdb":
        raise BadRequest(
            f"{who} need a store that several processes can write: the embedded "
            "DuckDB store admits only one writing process; set VOLTA_STORE=postgresql://… "
            "or run without --workers"
        )
    if settings.bus == "memory":
        raise BadRequest(
            f"{who} need a bus that crosses processes (the API's twin and the "
            "processors follow the workers' events): set VOLTA_BUS=nats://host:4222"
        )


def worker_client_id(settings: Settings, index: int) -> str:
    """The persistent-session client id of worker `index`: the same across restarts, so the
    broker hands a restarted worker what its predecessor had not acknowledged."""
    return f"{settings.mqtt_client_id}-{index}"


class GatewayWorker:
    """One gateway worker process's parts; `start()` subscribes, `stop()` flushes (acking what
    was stored while still connected), disconnects and closes."""

    def __init__(
        self,
        settings: Settings,
        index: int,
        *,
        catalog: Catalog | None = None,
        require_registered: bool = True,
    ) -> None:
        if index < 0:
            raise BadRequest(f"worker index must be >= 0, got {index}")
        if not settings.mqtt:
            raise BadRequest("a gateway worker needs a broker: set VOLTA_MQTT=mqtt://…")
        if settings.store == "duckdb":
            check_scale_out(settings, 1)  # the same reason, worded once
        self.settings = settings
        self.index = index
        self.catalog = catalog or default_catalog()
        self.store = open_store(settings)
        self.bus: Bus = open_bus(settings)
        self.registry: SQLiteRegistry | None = None
        known: Callable[[str], bool] | None = None
        if require_registered:
            self.registry = SQLiteRegistry.open(settings.data_dir)
            known = self.registry.has_vehicle
        self.metrics = IngestMetrics(None)
        self.gateway = Gateway(
            catalog=self.catalog,
            store=self.store,
            bus=self.bus,
            settings=settings,
            metrics=self.metrics,
            known_vehicle=known,
            source=index,
        )
        self.mqtt = MqttTransport(
            self.gateway,
            url=settings.mqtt,
            topic_prefix=settings.mqtt_topic_prefix,
            client_id=worker_client_id(settings, index),
            shared_group=settings.mqtt_shared_group,
        )
        self._started = False

    def start(self) -> None:
        self.gateway.start()
        self.mqtt.start()
        self._started = True
        log.info("worker %d: subscribed to %s", self.index, self.mqtt.topic_filter)

    def stop(self) -> None:
        if self._started:
            self.gateway.stop()
            self.mqtt.stop()
            self._started = False
        self.bus.close()
        self.store.close()
        if self.registry is not None:
            self.registry.close()
        log.info(
            "worker %d: stopped (received %d, acked %d)",
            self.index,
            self.mqtt.received,
            self.mqtt.acked,
        )


def background_process(settings: Settings) -> threading.Event:
    """Make this process a background one (`settings.background_nice`; before any thread
    starts, as threads inherit it) and return an event that SIGTERM or SIGINT sets."""
    if settings.background_nice:
        os.nice(settings.background_nice)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def run_worker(settings: Settings, index: int, *, require_registered: bool = True) -> None:
    """Run one worker until SIGTERM or SIGINT, then stop it cleanly."""
    stop = background_process(settings)
    worker = GatewayWorker(settings, index, require_registered=require_registered)
    worker.start()
    try:
        stop.wait()
    finally:
        worker.stop()


# -- the processors -------------------------------------------------------------------------


def run_processors(settings: Settings) -> None:
    """Run the driver services (drives, charges, battery health, places) on the bus's durable
    consumer until SIGTERM or SIGINT, then finish what is queued and stop."""
    check_shared_engines(settings, "the processors")
    stop = background_process(settings)
    with Processors(settings) as processors:
        log.info("processors: following %s", settings.bus.split("?", 1)[0])
        stop.wait()
    log.info("processors: stopped after %d runs", processors.services.runs)


class Processors:
    """The driver services with what they read and write, as one process runs them."""

    def __init__(self, settings: Settings, *, catalog: Catalog | None = None) -> None:
        self.store = open_store(settings)
        self.bus: Bus = open_bus(settings)
        self.derived = SQLiteDerivedStore.open(settings.data_dir)
        self.places = PlaceBook.open(settings.data_dir)
        self.services = DriverServices(
            self.bus,
            self.derived,
            signal_ids(catalog or default_catalog()),
            telemetry=self.store,
            tagger=self.places.tagger,
        )

    def __enter__(self) -> Processors:
        self.services.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.services.stop()
        self.bus.close()
        self.places.close()
        self.derived.close()
        self.store.close()


def processors_command() -> list[str]:
    """The command line of the processors process: this interpreter, this Volta."""
    return [sys.executable, "-m", "volta.cli", "processors"]


# -- the supervisor -------------------------------------------------------------------------

# A worker that ran this long before it died starts again without delay: it was not crashing
# in a loop.
_STABLE_S = 30.0


def settings_env(settings: Settings) -> dict[str, str]:
    """`settings` as VOLTA_* variables, so a child process reads the same settings."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"VOLTA_{name.upper()}"] = str(value)
    return env


def worker_command(index: int, *extra: str) -> list[str]:
    """The command line of worker `index`: this interpreter, this Volta."""
    return [sys.executable, "-m", "volta.cli", "gateway", "--index", str(index), *extra]


def scale_out_supervisor(workers: int, settings: Settings) -> Supervisor:
    """`volta serve --workers N`'s children: N gateway workers and one processors process."""
    return Supervisor(
        workers + 1,
        settings,
        command=lambda i: worker_command(i) if i < workers else processors_command(),
        label=lambda i: f"worker {i}" if i < workers else "processors",
    )


class Supervisor:
    """Runs `count` worker processes and restarts one that dies, with the same index (so its
    persistent MQTT session, with what it had not acknowledged, is resumed), after a jittered
    back-off when it keeps dying. `stop()` asks each to finish (SIGTERM) and waits."""

    def __init__(
        self,
        count: int,
        settings: Settings,
        *,
        command: Callable[[int], list[str]] = worker_command,
        label: Callable[[int], str] = "worker {}".format,
        stop_timeout_s: float = 30.0,
    ) -> None:
        self.count = count
        self._command = command
        self._label = label
        self._env = {**os.environ, **settings_env(settings)}
        self._stop_timeout_s = stop_timeout_s
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self.restarts = [0] * count
        self._started_at = [0.0] * count
        self._due = [0.0] * count  # when a dead worker may start again
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        for i in range(self.count):
            self._spawn(i)
        self._thread = threading.Thread(target=self._watch, name="volta-supervisor", daemon=True)
        self._thread.start()

    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self.procs if p is not None]

    def _spawn(self, index: int) -> None:
        proc = subprocess.Popen(self._command(index), env=self._env)
        with self._lock:
            self.procs[index] = proc
            self._started_at[index] = time.monotonic()
        log.info("supervisor: %s started, pid %d", self._label(index), proc.pid)

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            for i in range(self.count):
                with self._lock:
                    proc = self.procs[i]
                if proc is None or proc.poll() is None:
                    continue
                now = time.monotonic()
                if not self._due[i]:
                    ran = now - self._started_at[i]
                    failures = 0 if ran > _STABLE_S else self.restarts[i]
                    self._due[i] = now + (backoff_delay(failures, cap_s=30.0) if failures else 0)
                    log.warning(
                        "supervisor: %s (pid %d) exited with %s after %.1f s; restarting",
                        self._label(i),
                        proc.pid,
                        proc.returncode,
                        ran,
                    )
                if now >= self._due[i] and not self._stopping.is_set():
                    self._due[i] = 0.0
                    self.restarts[i] += 1
                    self._spawn(i)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            procs = [p for p in self.procs if p is not None]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._stop_timeout_s
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("supervisor: pid %d did not stop in time; killing it", p.pid)
                p.kill()
                p.wait()
