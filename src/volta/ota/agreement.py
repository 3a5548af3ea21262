"""Whether an image the director assigns may be installed: Uptane's checks, as a pure function.

Both repositories have already been verified by python-tuf (signatures, thresholds, versions,
expiry, snapshot consistency). What is left is Uptane's own rule: the director says *what* to
install on *which* ECU, the image repository says *what exists*, and an image is installed only
when the two agree on it, it fits the ECU, and it is newer than what the ECU runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from tuf.api.metadata import TargetFile

from volta.errors import ValidationError
from volta.ota.ecu import Ecu
from volta.ota.targets import custom_of
from volta.ota.version import is_newer


def agreed(
    assigned: TargetFile, listed: TargetFile | None, ecus: Mapping[str, Ecu]
) -> TargetFile | str:
    """The image repository's target to install for `assigned` (the director's), else why not.
    `listed` is the image repository's target at the same path (None when it has none)."""
    serial = custom_of(assigned).get("ecu_serial")
    ecu = ecus.get(serial) if isinstance(serial, str) else None
    if ecu is None:
        return f"{assigned.path}: the director names ECU {serial!r}, which this vehicle lacks"
    if listed is None:
        return f"{assigned.path}: not in the image repository (arbitrary software)"
    if listed.length != assigned.length or listed.hashes != assigned.hashes:
        return (
            f"{assigned.path}: the director and the image repository disagree on its length "
            "or hashes"
        )
    custom = custom_of(listed)
    if custom.get("ecu_type") != ecu.ecu_type:
        return (
            f"{assigned.path}: built for ECU type {custom.get('ecu_type')!r}, not {ecu.ecu_type!r}"
        )
    if custom.get("hardware_variant") != ecu.hardware_variant:
        return (
            f"{assigned.path}: built for hardware variant {custom.get('hardware_variant')!r}, "
            f"ECU {ecu.serial} is {ecu.hardware_variant!r}"
        )
    version = custom.get("version")
    try:
        newer = isinstance(version, str) and is_newer(version, ecu.running.version)
    except ValidationError as e:
        return f"{assigned.path}: {e}"
    if not newer:
        return (
            f"{assigned.path}: version {version!r} is not newer than the installed "
            f"{ecu.running.version!r} (rollback)"
        )
    return listed
