"""One running Volta: catalog, store, twin, bus, registry, gateway and the optional MQTT
transport, wired together. Used by `volta serve`, the tests and the demo."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry

from volta import assembly
from volta.alertwatch import AlertWatch
from volta.battery.watch import FadeWatch
from volta.bus import open_bus
from volta.catalog import Catalog, default_catalog
from volta.clock import Clock, wall_ms
from volta.commands.service import CommandMetrics, CommandService, MqttCommandLink
from volta.commands.store import SQLiteCommandStore
from volta.config import Settings
from volta.derived.engines import open_derived
from volta.diagnostics.mirror import DiagnosticsMirror
from volta.hazards.notify import MqttNotifier
from volta.ingest.activity import IngestActivity
from volta.ingest.metrics import IngestMetrics
from volta.ingest.mqtt import MqttTransport
from volta.ota.keeper import OtaKeeper
from volta.ota.runner import CampaignRunner
from volta.ota.service import open_runner
from volta.places.engines import open_places
from volta.planner.service import server_planner
from volta.planner.watch import TripWatch
from volta.processors.processor import DriverServices
from volta.registry import Registry, open_registry
from volta.service.desk import ServiceDesk
from volta.service.intake import CaseIntake
from volta.service.notify import Dispatcher
from volta.service.setup import open_desk
from volta.store import open_store
from volta.twin.follow import follow
from volta.twin.state import Twin

log = logging.getLogger(__name__)


class Platform:
    """Builds every part from `settings`; `start()` begins ingesting, `stop()` flushes and
    closes. `require_registered=False` lets unregistered VINs in (benchmarks only);
    `follow_workers=True` makes it a scale-out API process: its twin and ingest activity follow
    the gateway workers' commits on the bus too, and the driver services run in the processors
    process, not here."""

    def __init__(
        self,
        settings: Settings,
        *,
        catalog: Catalog | None = None,
        registry: Registry | None = None,
        clock: Clock = wall_ms,
        require_registered: bool = True,
        follow_workers: bool = False,
    ) -> None:
        self.settings = settings
        self.clock = clock
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = catalog or default_catalog()
        self.registry: Registry = registry or open_registry(settings)
        self.store = open_store(settings)
        self.twin = Twin()
        self.bus = open_bus(settings)
        self.activity = IngestActivity(clock)
        # The twin and the ingest rates follow every gateway's commits on the bus (this
        # process's own and, following the workers, theirs): from now on, then what was stored
        # before, so that nothing falls between the two. Closed with the bus.
        follow(self.bus, self.twin, self.activity.record)
        loaded = self.twin.load(self.store)
        self.metrics_registry = CollectorRegistry()
        self.metrics = IngestMetrics(self.metrics_registry)
        self.gateway = assembly.gateway(
            settings,
            self.catalog,
            self.store,
            self.bus,
            self.registry if require_registered else None,
            self.metrics,
            clock=clock,
        )
        self.derived = open_derived(settings)
        self.places = open_places(settings)
        self.fade = FadeWatch(self.derived, self.registry, clock)
        # Trips under way are checked against this process's twin (volta.planner.watch)
        self.trips: TripWatch | None = None
        if settings.roads is not None:
            self.trips = TripWatch(
                self.derived, self.twin, self.catalog, lambda: server_planner(settings), clock
            )
        # The alert log follows this process's twin (volta.alertwatch says why here).
        self.alerts = AlertWatch(
            self.twin, self.catalog, self.fade, self.registry, clock,
            sources=[self.trips.alerts] if self.trips is not None else [],
        )  # fmt: skip
        self.services: DriverServices | None = None
        if not follow_workers:
            self.services = assembly.driver_services(
                self.catalog, self.store, self.bus, self.derived, self.places, clock=clock
            )
        self.road_sensing = assembly.road_sensing(
            settings, self.catalog, self.bus, clock, durable=not follow_workers
        )
        # OTA: the repositories' folder is served by the API; with the online keys, this
        # process also signs their short-lived metadata anew before it expires
        self.ota_keeper: OtaKeeper | None = None
        if settings.ota_dir is not None and settings.ota_keys is not None:
            self.ota_keeper = OtaKeeper(settings.ota_dir, settings.ota_keys, clock)
        # after-sales diagnostics, kept in `settings.diagnostics`: followed here in the embedded
        # process; a scale-out API process reads what the processors keep. (Following every
        # batch beside the twin there made the twin fall behind at 10,000 vehicles: publish->twin
        # p99 28 s instead of 0.7 s on this 2-core machine.)
        self.diagnostics = assembly.diagnostics(
            settings, self.catalog, self.bus, self.registry, live=not follow_workers
        )
        # OTA campaigns: in the registry's database, signing director targets in the folder
        self.campaigns: CampaignRunner | None = None
        self._ota_push: MqttNotifier | None = None
        opened_runner = open_runner(
            settings,
            self.registry,
            self.twin,
            self.catalog,
            self.diagnostics,
            clock,
        )
        if opened_runner is not None:
            self.campaigns, self._ota_push = opened_runner
        self.mqtt: MqttTransport | None = None
        if settings.mqtt:
            self.mqtt = assembly.mqtt_transport(settings, settings.mqtt, self.gateway)
        # remote commands: stored in commands.sqlite, sent over MQTT when there is a broker
        self.commands = CommandService(
            SQLiteCommandStore.open(settings.data_dir),
            self.catalog,
            clock,
            metrics=CommandMetrics(self.metrics_registry),
        )
        if settings.mqtt:
            self.commands.link = MqttCommandLink(
                self.commands,
                url=settings.mqtt,
                topic_prefix=settings.mqtt_topic_prefix,
                client_id=f"{settings.mqtt_client_id}-commands",
            )
        # after-sales service: cases, workshops, recalls in the registry's database; its
        # notifications go out on a dispatcher thread of their own (never on a request)
        self.service: ServiceDesk | None = None
        self.notifications: Dispatcher | None = None
        opened = open_desk(settings, self.registry, self.twin, self.catalog, clock)
        self.intake: CaseIntake | None = None
        if opened is not None:
            self.service, self.notifications = opened
            # alerts that need a workshop open a case (the alert log's on its timer thread,
            # diagnostics' predictions queued from the bus and opened there too)
            self.intake = CaseIntake(self.service)
            diagnostics = self.diagnostics
            if isinstance(diagnostics, DiagnosticsMirror):
                # scale-out: the predictions the processors recorded are read on that timer
                # too, just before the intake opens them (so a stop never leaves one queued
                # that was marked as passed on)
                self.alerts.listen(lambda _: diagnostics.pass_on())
            self.alerts.listen(self.intake.sync)
            self.diagnostics.listen(self.intake.predicted)
        self._started = False
        self._push_started = False
        self._stopped = False
        log.info("platform: data dir %s, twin loaded with %d values", settings.data_dir, loaded)

    def start(self) -> None:
        if self._started:
            return
        if self.services is not None:
            self.services.start()
        if self.road_sensing is not None:
            self.road_sensing.start()
        self.diagnostics.start()
        self.gateway.start()
        if self.mqtt is not None:
            self.mqtt.start()
        self.commands.start()
        if self.ota_keeper is not None:
            self.ota_keeper.start()
        if self._ota_push is not None:
            self._ota_push.start()
            self._push_started = True
        if self.campaigns is not None:
            self.campaigns.start()
        self.alerts.start()
        if self.trips is not None:
            self.trips.start()
        if self.notifications is not None:
            self.notifications.start()
        self._started = True

    def stop(self) -> None:
        """Flush what was taken (acking it while still connected), stop the background jobs,
        open the cases of the predictions still queued (`CaseIntake.drain`), close."""
        if self._stopped:
            return
        self._stopped = True
        if self._started:
            self.gateway.stop()
        if self.mqtt is not None and self._started:
            self.mqtt.stop()
        self._started = False
        self.alerts.stop()
        if self.trips is not None:
            self.trips.stop()
        self.commands.close()
        if self.ota_keeper is not None:
            self.ota_keeper.stop()
        if self.campaigns is not None:
            self.campaigns.stop()
        if self._ota_push is not None and self._push_started:
            self._ota_push.stop()
        if self.notifications is not None:
            self.notifications.stop()
        if self.services is not None:
            self.services.stop()
        if self.road_sensing is not None:
            self.road_sensing.stop()
        self.diagnostics.stop()
        if self.intake is not None:
            # predictions are queued from the bus and opened on the alert watch's timer, which
            # has stopped: open what is left now that nothing queues any more (the registry is
            # still open), or count and log it
            self.intake.drain()
        self.bus.close()
        self.derived.close()
        self.places.close()
        self.store.close()
        self.registry.close()
        log.info("platform: stopped")

    def __enter__(self) -> Platform:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
