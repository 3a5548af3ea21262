"""Which vehicles a campaign updates, and with which image: a pure function of the fleet.

A campaign updates one ECU type. Its filter narrows the fleet by model, region, VIN list, and by
the hardware variant and current version of that ECU; vehicles already running the campaign's
version or a newer one are left out (the car would refuse the image as a rollback). Before the
campaign starts, `plan` refuses a filter that matches no vehicle and a selection with a hardware
variant for which the campaign has no image: better no campaign than one that fails by design.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tuf.api.metadata import TargetFile

from volta.errors import BadRequest
from volta.ota.director import Assignment
from volta.ota.targets import custom_of
from volta.ota.version import is_newer


@dataclass(frozen=True)
class InstalledEcu:
    """One ECU of a vehicle as the vehicle last reported it."""

    serial: str
    ecu_type: str
    hardware_variant: str
    version: str


@dataclass(frozen=True)
class FleetVehicle:
    """What targeting knows of a vehicle."""

    vin: str
    model: str
    region: str
    ecus: tuple[InstalledEcu, ...]


@dataclass(frozen=True)
class TargetFilter:
    """The vehicles a campaign is for; an empty set means any."""

    ecu_type: str
    models: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    vins: frozenset[str] = frozenset()
    hardware_variants: frozenset[str] = frozenset()
    versions: frozenset[str] = frozenset()  # the ECU's current version


def _ecu(vehicle: FleetVehicle, ecu_type: str) -> InstalledEcu | None:
    return next((e for e in vehicle.ecus if e.ecu_type == ecu_type), None)


def matches(vehicle: FleetVehicle, target: TargetFilter) -> bool:
    """Whether the filter selects `vehicle` (which must have an ECU of the campaign's type)."""
    ecu = _ecu(vehicle, target.ecu_type)
    checks = (
        (target.models, vehicle.model),
        (target.regions, vehicle.region),
        (target.vins, vehicle.vin),
        (target.hardware_variants, ecu.hardware_variant if ecu else None),
        (target.versions, ecu.version if ecu else None),
    )
    return ecu is not None and all(not wanted or value in wanted for wanted, value in checks)


def plan(
    campaign_id: str,
    fleet: Iterable[FleetVehicle],
    target: TargetFilter,
    images: Mapping[str, TargetFile],
) -> dict[str, Assignment]:
    """The assignment of each selected vehicle, in fleet order; `images` by hardware variant.

    Raises `BadRequest` when the filter selects no vehicle, or selects vehicles of a hardware
    variant that `images` lacks (naming the variant, how many vehicles, and one of them)."""
    selected = [v for v in fleet if matches(v, target)]
    if not selected:
        raise BadRequest(f"campaign {campaign_id}: its filter matches no vehicle")
    missing: dict[str, list[str]] = {}
    assignments: dict[str, Assignment] = {}
    for vehicle in selected:
        ecu = _ecu(vehicle, target.ecu_type)
        if ecu is None:
            continue  # matches() selects only vehicles with the ECU
        image = images.get(ecu.hardware_variant)
        if image is None:
            missing.setdefault(ecu.hardware_variant, []).append(vehicle.vin)
            continue
        version = custom_of(image).get("version")
        if isinstance(version, str) and is_newer(version, ecu.version):
            assignments[vehicle.vin] = Assignment(ecu.serial, image)
    if missing:
        variant, vins = sorted(missing.items())[0]
        raise BadRequest(
            f"campaign {campaign_id}: no {target.ecu_type} image for hardware variant "
            f"{variant!r} ({len(vins)} selected vehicles, e.g. {vins[0]})"
        )
    if not assignments:
        raise BadRequest(f"campaign {campaign_id}: every selected vehicle runs this version")
    return assignments
