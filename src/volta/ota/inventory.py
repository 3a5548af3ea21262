"""The fleet as campaigns target it, read from the twin and the registry.

Each car reports its ECUs as Volta's own VSS signals (`Vehicle.OTA.<Ecu>.SoftwareVersion` and
`.HardwareVariant`); the registry gives its model and group (used as the region). An ECU is
named at the director by its VSS branch (`BMS`, `Telematics`...): one node per ECU in the
overlay, so the name is unique within a car, and a car's primary must use it as the ECU's
serial for the director's targets to reach it.
"""

from __future__ import annotations

from collections.abc import Iterator

from volta.catalog import Catalog
from volta.ota.targeting import FleetVehicle, InstalledEcu
from volta.registry import Registry
from volta.twin.state import Twin

__all__ = ["ECU_TYPES", "fleet_from_twin"]

# The overlay's ECU branches and the image repository's ECU type of each.
ECU_TYPES = {"Telematics": "tcu", "BMS": "bms", "Infotainment": "ivi", "ADAS": "adas"}


def fleet_from_twin(twin: Twin, registry: Registry, catalog: Catalog) -> Iterator[FleetVehicle]:
    """Every registered vehicle with the ECUs it last reported (a car that never reported a
    version and variant of an ECU has none a campaign can target)."""
    ids = {
        name: (
            catalog.get(f"Vehicle.OTA.{name}.SoftwareVersion").id,
            catalog.get(f"Vehicle.OTA.{name}.HardwareVariant").id,
        )
        for name in ECU_TYPES
    }
    for vin in registry.vins():
        values = twin.get(vin)
        ecus = []
        for name, (version_id, variant_id) in ids.items():
            version, variant = values.get(version_id), values.get(variant_id)
            if version is not None and variant is not None and version.txt and variant.txt:
                ecus.append(InstalledEcu(name, ECU_TYPES[name], variant.txt, version.txt))
        if ecus:
            vehicle = registry.get_vehicle(vin)
            yield FleetVehicle(vin, vehicle.model or "", vehicle.group or "", tuple(ecus))
