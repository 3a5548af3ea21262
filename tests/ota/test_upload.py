"""A supplier's targets metadata, signed offline and uploaded by an operator, is checked first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata, TargetFile, Targets

from volta.ota.director import Assignment
from volta.ota.errors import BadMetadata
from volta.ota.image_repo import image_path, served_name
from volta.ota.keys import generate
from volta.ota.primary import State
from volta.ota.upload import accept_supplier_targets

from .otakit import VIN, ManualClock, Ota, car

ROLE = "supplier-acme"
DATA = b"bms 2.0.0 built and signed by acme"


def supplier_targets(
    ota: Ota, version: int = 2, path: str | None = None, custom_version: object = "2.0.0"
) -> Metadata[Targets]:
    """What acme signs offline: its current role plus one image (whose bytes Volta holds)."""
    path = path or image_path("bms", "bms-nmc-96s", "2.0.0")
    target = TargetFile.from_data(path, DATA, ["sha256"])
    target.unrecognized_fields["custom"] = {
        "ecu_type": "bms",
        "hardware_variant": "bms-nmc-96s",
        "version": custom_version,
    }
    ota.image.images[served_name(target)] = DATA  # the image itself was uploaded before
    md = Metadata[Targets].from_bytes(ota.image.roles.delegated[ROLE].to_bytes())
    md.signed.version = version
    md.signed.targets[path] = target
    md.signatures.clear()
    md.sign(ota.supplier_signers["acme"])
    return md


def test_signed_supplier_metadata_is_served_and_installs(
    ota: Ota, state: Callable[[str], Path], clock: ManualClock
) -> None:
    md = supplier_targets(ota)
    accept_supplier_targets(ota.image, ROLE, md.to_bytes(), clock)
    target = md.signed.targets[image_path("bms", "bms-nmc-96s", "2.0.0")]
    ota.director.assign(VIN, [Assignment("BMS-0001", target)])
    primary = car(ota, state("car"))
    assert primary.check_in()[-1].state is State.SUCCEEDED
    assert primary.ecus["BMS-0001"].running.version == "2.0.0"


def resigned_by_stranger(ota: Ota) -> bytes:
    md = supplier_targets(ota)
    md.signatures.clear()
    md.sign(generate())
    return md.to_bytes()


def unsigned(ota: Ota) -> bytes:
    md = supplier_targets(ota)
    md.signatures.clear()
    return md.to_bytes()


def expired(ota: Ota) -> bytes:
    md = supplier_targets(ota)
    md.signed.expires -= timedelta(days=400)
    md.signatures.clear()
    md.sign(ota.supplier_signers["acme"])
    return md.to_bytes()


@pytest.mark.parametrize(
    ("make", "role", "reason"),
    [
        (lambda ota: b"{not json", ROLE, f"{ROLE}: not TUF metadata"),
        (lambda ota: ota.image_root(), ROLE, f"{ROLE}: a root role, expected targets"),
        (unsigned, ROLE, f"{ROLE}: not signed by a threshold of its keys"),
        (resigned_by_stranger, ROLE, f"{ROLE}: not signed by a threshold of its keys"),
        (
            lambda ota: supplier_targets(ota, version=1).to_bytes(),
            ROLE,
            f"{ROLE}: version 1 is not newer than the served 1",
        ),
        (
            lambda ota: supplier_targets(ota, path="ivi/ivi-hd/ivi-2.0.0.img").to_bytes(),
            ROLE,
            "'ivi/ivi-hd/ivi-2.0.0.img' is outside the delegated paths",
        ),
        (
            lambda ota: supplier_targets(ota, custom_version="latest").to_bytes(),
            ROLE,
            "custom version 'latest' is not a version",
        ),
        (expired, ROLE, f"{ROLE}: expired at"),
        (lambda ota: supplier_targets(ota).to_bytes(), "supplier-nobody", "delegates no such role"),
    ],
)
def test_bad_supplier_metadata_is_refused_with_its_reason(
    ota: Ota, clock: ManualClock, make: Callable[[Ota], bytes], role: str, reason: str
) -> None:
    served = ota.image.file("metadata/timestamp.json")
    with pytest.raises(BadMetadata, match=reason):
        accept_supplier_targets(ota.image, role, make(ota), clock)
    assert ota.image.file("metadata/timestamp.json") == served  # nothing was published


def test_metadata_listing_an_image_never_uploaded_is_refused(ota: Ota, clock: ManualClock) -> None:
    md = supplier_targets(ota)
    ota.image.images.clear()
    with pytest.raises(BadMetadata, match="no image with that hash was uploaded"):
        accept_supplier_targets(ota.image, ROLE, md.to_bytes(), clock)
