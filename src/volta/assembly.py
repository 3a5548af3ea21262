"""The parts that several kinds of Volta process run, each built one way for all of them.

The embedded process (`platform.Platform`), a gateway worker (`workers.GatewayWorker`) and the
processors process (`workers.Processors`) differ in which parts they have, not in how a part
is put together: that is here, once. Each factory only builds; starting, stopping and closing
stay with the process that owns the part.
"""

from __future__ import annotations

from volta.bus import Bus
from volta.catalog import Catalog
from volta.clock import Clock, wall_ms
from volta.config import Settings
from volta.derived.columns import signal_ids
from volta.derived.store import DerivedStore
from volta.diagnostics.decode import Descriptions, load_descriptions
from volta.diagnostics.mirror import DiagnosticsMirror, DiagnosticsSource
from volta.diagnostics.store import open_diagnostics_table
from volta.errors import NotFound
from volta.geo.osm import load_roads
from volta.hazards.follow import HazardFollower
from volta.hazards.matching import RoadMatcher
from volta.hazards.notify import MqttNotifier
from volta.hazards.sensing import RoadSensing
from volta.hazards.store import open_hazard_table
from volta.hazards.warnings import HazardWarner
from volta.ingest.gateway import Gateway
from volta.ingest.metrics import IngestMetrics
from volta.ingest.mqtt import MqttTransport
from volta.places.store import PlaceBook
from volta.processors.diagnostics import DiagnosticsFollower
from volta.processors.processor import DriverServices
from volta.registry import Registry
from volta.store.base import TelemetryStore
from volta.wire import owned_shards


def gateway(
    settings: Settings,
    catalog: Catalog,
    store: TelemetryStore,
    bus: Bus,
    registry: Registry | None,
    metrics: IngestMetrics,
    *,
    clock: Clock = wall_ms,
    source: int = 0,
) -> Gateway:
    """A gateway that stores into `store` and announces each commit on `bus` as
    `stored.{source}`. It admits only vehicles of `registry`; None admits any VIN (benchmarks)."""
    return Gateway(
        catalog=catalog,
        store=store,
        bus=bus,
        settings=settings,
        clock=clock,
        metrics=metrics,
        known_vehicle=registry.has_vehicle if registry is not None else None,
        source=source,
    )


def worker_client_id(settings: Settings, index: int) -> str:
    """The persistent-session client id of worker `index`: the same across restarts, so the
    broker hands a restarted worker what its predecessor had not acknowledged."""
    return f"{settings.mqtt_client_id}-{index}"


def mqtt_transport(
    settings: Settings,
    url: str,
    gateway: Gateway,
    worker: int | None = None,
    workers: int = 1,
) -> MqttTransport:
    """The MQTT transport that feeds `gateway` from the broker at `url`: the process's own
    subscription to every shard, or, for gateway worker `worker` of `workers`, its shards in
    the worker's persistent session (and its share of the cars that publish without a
    shard)."""
    if worker is None:
        return MqttTransport(
            gateway,
            url=url,
            topic_prefix=settings.mqtt_topic_prefix,
            client_id=settings.mqtt_client_id,
        )
    return MqttTransport(
        gateway,
        url=url,
        topic_prefix=settings.mqtt_topic_prefix,
        client_id=worker_client_id(settings, worker),
        shared_group=settings.mqtt_shared_group,
        shards=owned_shards(worker, workers),
    )


def driver_services(
    catalog: Catalog,
    store: TelemetryStore,
    bus: Bus,
    derived: DerivedStore,
    places: PlaceBook,
    *,
    clock: Clock = wall_ms,
) -> DriverServices:
    """The driver services (drives, charges, battery health, places) on `bus`'s stored batches,
    reading `store` and writing `derived`; `clock` says when a silent car is asleep. Not
    started."""
    return DriverServices(
        bus, derived, signal_ids(catalog), telemetry=store, tagger=places.tagger, clock=clock
    )


def road_sensing(
    settings: Settings, catalog: Catalog, bus: Bus, clock: Clock, *, durable: bool
) -> HazardFollower | None:
    """Road sensing on `bus`'s stored batches, matched to the roads of `settings.roads`; None
    when no road network is configured. `durable` names a bus consumer (the process that owns
    the hazards, and keeps them in `settings.hazards` across restarts); a scale-out API process
    follows without one (it loads the kept hazards at start, writes none). Not started."""
    if settings.roads is None:
        return None
    matcher = RoadMatcher(load_roads(settings.roads))
    notifier = None
    if durable and settings.mqtt:  # the owner warns the cars heading towards a hazard
        client_id = f"{settings.mqtt_client_id}-hazards"
        notifier = MqttNotifier(settings.mqtt, settings.mqtt_topic_prefix, client_id)
    return HazardFollower(
        bus,
        catalog,
        RoadSensing(matcher),
        clock,
        durable="hazards" if durable else None,
        warner=HazardWarner(matcher, notifier.send) if notifier is not None else None,
        notifier=notifier,
        table=open_hazard_table(settings),
    )


def diagnostics(
    settings: Settings, catalog: Catalog, bus: Bus, registry: Registry, *, live: bool
) -> DiagnosticsSource:
    """After-sales diagnostics, with the maker's DTC descriptions of `settings.dtc_descriptions`
    (a bad file is a `ConfigError`), kept in `settings.diagnostics`. `live`: followed on
    `bus`'s stored batches by this process (the embedded platform, `volta processors`: the
    durable consumer, loading the kept state at start and writing it as it goes); else read
    from what the processors keep (a scale-out API process). Not started."""
    descriptions = (
        load_descriptions(settings.dtc_descriptions)
        if settings.dtc_descriptions is not None
        else Descriptions()
    )
    table = open_diagnostics_table(settings)
    if not live:
        return DiagnosticsMirror(table, descriptions)

    def model_of(vin: str) -> str:
        try:
            return registry.get_vehicle(vin).model or "unknown"
        except NotFound:  # a VIN the registry does not know (benchmarks admit any)
            return "unknown"

    return DiagnosticsFollower(bus, catalog, model_of, descriptions, table=table)
