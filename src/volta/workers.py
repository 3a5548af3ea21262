"""Scale-out processes: stateless gateway workers and the processors.

A gateway worker (`volta gateway --index I --workers N`) is the gateway, the MQTT transport
on its share of the telemetry shards (`volta.wire.topics`) in its own persistent session
(`{client_id}-{I}`), the PostgreSQL store and the NATS bus: no API, no processors, no twin.
The processors process (`volta processors`) runs the driver services and the after-sales
diagnostics on the bus's durable consumers and writes the derived store and the diagnostics
state, which the API process reads. The API process (`volta serve --workers N` without a
broker of its own, or `volta serve --api-only`: a `Platform` following the workers) reads
PostgreSQL and the derived store and keeps its twin current from the `StoredGroup`s each
worker publishes per commit (`stored.{index}`, which the processors consume too). Keeping the
processors out of the API process keeps their analysis off the GIL that answers reads (GET
/state's p99). `volta.supervisor` starts and
restarts these processes.

Only engines that several processes can share qualify: PostgreSQL (DuckDB admits one writing
process) and NATS (the in-process bus does not cross processes); `check_scale_out` refuses
anything else with the reason.
"""

from __future__ import annotations

import logging

from volta import assembly
from volta.bus import Bus, open_bus
from volta.catalog import Catalog, default_catalog
from volta.config import Settings
from volta.derived.engines import open_derived
from volta.errors import ConfigError, Unavailable
from volta.ingest.metrics import IngestMetrics
from volta.ingest.mqtt import claim_shards
from volta.places.engines import open_places
from volta.registry import Registry, open_registry
from volta.store import open_store
from volta.supervisor import background_process
from volta.tuning import tune_for_ingest
from volta.wire import SHARDS, owned_shards

log = logging.getLogger(__name__)


def check_scale_out(settings: Settings, workers: int) -> None:
    """Raise `ConfigError` with the reason when `workers` gateway processes cannot run on
    `settings`' engines."""
    if not 1 <= workers <= SHARDS:
        raise ConfigError(
            f"--workers must be 1 to {SHARDS} (the telemetry shards they share), got {workers}"
        )
    check_shared_engines(settings, "gateway workers")
    if not settings.mqtt:
        raise ConfigError("gateway workers take telemetry from a broker: set VOLTA_MQTT=mqtt://…")


def check_api_only(settings: Settings, workers: int) -> None:
    """Raise `ConfigError` with the reason when this process cannot be a scale-out API alone
    (`volta serve --api-only`): its twin follows the workers over a shared bus."""
    if workers:
        raise ConfigError(
            "--api-only runs no workers: drop --workers, or drop --api-only to start them here"
        )
    check_shared_engines(settings, "API processes apart from the gateway workers")


def check_shared_engines(settings: Settings, who: str) -> None:
    """Raise `ConfigError` unless store and bus can be shared by several processes."""
    if settings.store == "duckdb":
        raise ConfigError(
            f"{who} need a store that several processes can write: the embedded "
            "DuckDB store admits only one writing process; set VOLTA_STORE=postgresql://… "
            "or run without --workers"
        )
    if settings.bus == "memory":
        raise ConfigError(
            f"{who} need a bus that crosses processes (the API's twin and the "
            "processors follow the workers' events): set VOLTA_BUS=nats://host:4222"
        )


def claim_worker_shards(settings: Settings, workers: int) -> None:
    """Subscribe the session of each of `workers` workers to its shards before they start, so
    that changing the number of workers leaves no shard without a subscriber for a moment
    (`volta.ingest.mqtt.claim_shards`). A broker that cannot be reached is only logged: the
    workers subscribe by themselves once it is back."""
    if not settings.mqtt:
        check_scale_out(settings, workers)  # raises, with the reason worded once
        return
    sessions = {
        assembly.worker_client_id(settings, i): owned_shards(i, workers) for i in range(workers)
    }
    try:
        claim_shards(settings.mqtt, settings.mqtt_topic_prefix, sessions)
    except Unavailable as e:
        log.warning("workers: could not claim their shards ahead (%s); they will subscribe", e)


class GatewayWorker:
    """One gateway worker process's parts; `start()` subscribes, `stop()` flushes (acking what
    was stored while still connected), disconnects and closes."""

    def __init__(
        self,
        settings: Settings,
        index: int,
        *,
        workers: int = 1,
        catalog: Catalog | None = None,
        require_registered: bool = True,
    ) -> None:
        if not 1 <= workers <= SHARDS:
            check_scale_out(settings, workers)  # the same reason, worded once
        if not 0 <= index < workers:
            raise ConfigError(f"worker index must be 0 to {workers - 1} of {workers}, got {index}")
        if not settings.mqtt:
            raise ConfigError("a gateway worker needs a broker: set VOLTA_MQTT=mqtt://…")
        if settings.store == "duckdb":
            check_scale_out(settings, 1)  # the same reason, worded once
        self.settings = settings
        self.index = index
        self.workers = workers
        self.catalog = catalog or default_catalog()
        self.store = open_store(settings)
        self.bus: Bus = open_bus(settings)
        self.registry: Registry | None = None
        if require_registered:
            self.registry = open_registry(settings)
        self.metrics = IngestMetrics(None)
        self.gateway = assembly.gateway(
            settings,
            self.catalog,
            self.store,
            self.bus,
            self.registry,
            self.metrics,
            source=index,
        )
        self.mqtt = assembly.mqtt_transport(
            settings, settings.mqtt, self.gateway, worker=index, workers=workers
        )
        self._started = False

    def start(self) -> None:
        self.gateway.start()
        self.mqtt.start()
        self._started = True
        log.info(
            "worker %d of %d: telemetry shards %s",
            self.index,
            self.workers,
            ",".join(map(str, owned_shards(self.index, self.workers))),
        )

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


def run_worker(
    settings: Settings, index: int, *, workers: int = 1, require_registered: bool = True
) -> None:
    """Run worker `index` of `workers` until SIGTERM or SIGINT, then stop it cleanly."""
    stop = background_process(settings)
    worker = GatewayWorker(settings, index, workers=workers, require_registered=require_registered)
    tune_for_ingest()
    worker.start()
    try:
        stop.wait()
    finally:
        worker.stop()


def warn_if_disk_shared(settings: Settings, who: str) -> None:
    """Log what `who` keeps in the data dir that the API and the processors both use: with
    it there, they must run on one disk (or a shared volume)."""
    local = [
        f"{what} ({name}=sqlite)"
        for what, name, engine in (
            ("the derived store", "VOLTA_DERIVED", settings.derived),
            ("places", "VOLTA_PLACES", settings.places),
            ("diagnostics", "VOLTA_DIAGNOSTICS", settings.diagnostics),
        )
        if engine == "sqlite"
    ]
    if local:
        log.warning(
            "%s: %s in %s: the API and the processors must share that disk; "
            "set them to postgresql://… to run on separate machines",
            who,
            " and ".join(local),
            settings.data_dir.resolve(),
        )


# -- the processors -------------------------------------------------------------------------


def run_processors(settings: Settings) -> None:
    """Run the driver services (drives, charges, battery health, places) and the after-sales
    diagnostics on the bus's durable consumers until SIGTERM or SIGINT, then finish what is
    queued and stop."""
    check_shared_engines(settings, "the processors")
    warn_if_disk_shared(settings, "processors")
    stop = background_process(settings)
    with Processors(settings) as processors:
        log.info("processors: following %s", settings.bus.split("?", 1)[0])
        stop.wait()
    log.info("processors: stopped after %d runs", processors.services.runs)


class Processors:
    """The driver services and the after-sales diagnostics with what they read and write, as
    one process runs them."""

    def __init__(self, settings: Settings, *, catalog: Catalog | None = None) -> None:
        catalog = catalog or default_catalog()
        self.store = open_store(settings)
        self.bus: Bus = open_bus(settings)
        self.derived = open_derived(settings)
        self.places = open_places(settings)
        self.registry = open_registry(settings)  # the vehicles' models, for reliability
        self.services = assembly.driver_services(
            catalog, self.store, self.bus, self.derived, self.places
        )
        self.diagnostics = assembly.diagnostics(
            settings, catalog, self.bus, self.registry, live=True
        )

    def __enter__(self) -> Processors:
        self.diagnostics.start()
        self.services.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.services.stop()
        self.diagnostics.stop()
        self.registry.close()
        self.bus.close()
        self.places.close()
        self.derived.close()
        self.store.close()
