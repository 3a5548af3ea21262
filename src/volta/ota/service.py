"""Building the campaign runner of a server from its settings and parts."""

from __future__ import annotations

from collections.abc import Mapping

from volta.catalog import Catalog
from volta.clock import Clock
from volta.config import Settings
from volta.diagnostics.mirror import DiagnosticsSource
from volta.diagnostics.reliability import Exposure, Occurrence
from volta.hazards.notify import MqttNotifier
from volta.ota.campaign_store import CampaignStore
from volta.ota.inventory import fleet_from_twin
from volta.ota.runner import CampaignRunner, FolderDirector, images_in_folder
from volta.ota.windows import CHARGING, LONGITUDE, SOC, SPEED, Sample
from volta.registry import Registry
from volta.registry.sql import SqlRegistry
from volta.twin.state import Twin

__all__ = ["open_runner"]


def open_runner(
    settings: Settings,
    registry: Registry,
    twin: Twin,
    catalog: Catalog,
    diagnostics: DiagnosticsSource | None,
    clock: Clock,
) -> tuple[CampaignRunner, MqttNotifier | None] | None:
    """The runner (not started) and the MQTT client it tells cars with, when the server has
    a registry database, the repositories' folder and the online keys (it signs director
    targets); None otherwise."""
    if not isinstance(registry, SqlRegistry):
        return None
    folder, keys = settings.ota_dir, settings.ota_keys
    if folder is None or keys is None:
        return None
    signals = {path: catalog.get(path) for path in (SPEED, CHARGING, SOC, LONGITUDE)}

    def state_of(vin: str) -> Mapping[str, Sample]:
        values = twin.get(vin)
        out: dict[str, Sample] = {}
        for path, signal in signals.items():
            v = values.get(signal.id)
            if v is not None:  # the twin keeps the stored form (a string as JSON text)
                out[path] = (v.ts_ms, signal.from_stored(v.num, v.txt))
        return out

    notifier = None
    if settings.mqtt:
        client_id = f"{settings.mqtt_client_id}-ota"
        notifier = MqttNotifier(settings.mqtt, settings.mqtt_topic_prefix, client_id)
    dtc = None
    if diagnostics is not None:
        follower = diagnostics

        def dtc_records(ecu: str) -> tuple[list[Occurrence], list[Exposure]]:
            return follower.read(lambda f: f.records_for(ecu))

        dtc = dtc_records
    runner = CampaignRunner(
        CampaignStore(registry.database),
        FolderDirector(folder, keys, clock),
        images_in_folder(folder),
        lambda: list(fleet_from_twin(twin, registry, catalog)),
        clock,
        state_of=state_of,
        push=notifier.send if notifier is not None else None,
        dtc=dtc,
        tick_s=settings.ota_campaign_tick_s,
    )
    return runner, notifier
