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
    signals = {
        name: (
            catalog.get(f"Vehicle.OTA.{name}.SoftwareVersion"),
            catalog.get(f"Vehicle.OTA.{name}.HardwareVariant"),
        )
        for name in ECU_TYPES
    }
    for vin in registry.vins():
        values = twin.get(vin)
        ecus = []
        for name, (version_signal, variant_signal) in signals.items():
            stored = values.get(version_signal.id), values.get(variant_signal.id)
            if stored[0] is None or stored[1] is None:
                continue
            # the twin keeps each value in its stored form (a string as JSON text)
            version = version_signal.from_stored(stored[0].num, stored[0].txt)
            variant = variant_signal.from_stored(stored[1].num, stored[1].txt)
            if isinstance(version, str) and isinstance(variant, str) and version and variant:
                ecus.append(InstalledEcu(name, ECU_TYPES[name], variant, version))
        if ecus:
            vehicle = registry.get_vehicle(vin)
            yield FleetVehicle(vin, vehicle.model or "", vehicle.group or "", tuple(ecus))
