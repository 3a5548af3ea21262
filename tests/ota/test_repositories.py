"""The image repository and the director, read by python-tuf's real client."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata, Root

from volta.ota.director import Assignment
from volta.ota.errors import BadMetadata, KeyFileError
from volta.ota.keys import generate
from volta.ota.roles import RoleKeys, replace_keys

from .otakit import VIN, Ota

State = Callable[[str], Path]


def test_image_listed_by_its_supplier_verifies_with_hashes_length_and_variant(
    ota: Ota, state: State
) -> None:
    data = b"bms firmware 2.0.0" * 100
    ota.image.add_image("acme", "bms", "bms-nmc-96s", "2.0.0", data)
    updater = ota.image_updater(state("car"))
    updater.refresh()
    info = updater.get_targetinfo("bms/bms-nmc-96s/bms-2.0.0.img")
    assert info is not None
    assert info.length == len(data)
    assert set(info.hashes) == {"sha256"}
    assert info.custom == {"ecu_type": "bms", "hardware_variant": "bms-nmc-96s", "version": "2.0.0"}
    path = updater.download_target(info)
    assert Path(path).read_bytes() == data


def test_supplier_cannot_list_another_suppliers_ecu_type(ota: Ota) -> None:
    with pytest.raises(BadMetadata, match="supplier 'infocorp' is not delegated 'bms' images"):
        ota.image.add_image("infocorp", "bms", "bms-nmc-96s", "9.9.9", b"x")


@pytest.mark.parametrize(
    ("variant", "version", "reason"),
    [
        ("bms/../tcu", "1.0.0", "'bms/../tcu' does not match the pattern"),
        ("bms-nmc-96s", "latest", "'latest' does not match the pattern"),
    ],
)
def test_image_with_a_variant_or_version_the_catalog_refuses_is_not_listed(
    ota: Ota, variant: str, version: str, reason: str
) -> None:
    with pytest.raises(BadMetadata, match=reason):
        ota.image.add_image("acme", "bms", variant, version, b"x")
    assert ota.image.roles.delegated["supplier-acme"].signed.targets == {}


def test_supplier_with_an_ecu_type_that_is_no_path_label_is_refused(ota: Ota) -> None:
    signer = generate()
    with pytest.raises(BadMetadata, match="'bms/\\*': use 1-32 lower-case letters"):
        ota.image.add_supplier("evil", ["bms/*"], RoleKeys((signer.public_key,)), [signer])


def test_image_root_needs_two_of_its_three_keys(ota: Ota) -> None:
    root = Metadata[Root].from_bytes(ota.image_root()).signed
    assert len(root.roles["root"].keyids) == 3
    assert root.roles["root"].threshold == 2


def test_director_targets_are_per_vehicle_and_short_lived(ota: Ota, clock: object) -> None:
    target = ota.image.add_image("acme", "bms", "bms-nmc-96s", "2.0.0", b"fw")
    ota.director.assign(VIN, [Assignment("BMS-0001", target)])
    ota.director.vehicle("WVOLTA00000000002")
    mine = ota.director.vehicles[VIN]
    assert list(mine.targets.signed.targets) == [target.path]
    assert mine.targets.signed.targets[target.path].custom["ecu_serial"] == "BMS-0001"
    assert ota.director.vehicles["WVOLTA00000000002"].targets.signed.targets == {}
    now = mine.timestamp.signed.expires - timedelta(hours=1)
    assert mine.targets.signed.expires - now == timedelta(days=1)
    assert ota.director.file("WVOLTA00000000099", "timestamp.json") is None


def test_old_client_follows_root_rotation_to_new_keys(ota: Ota, state: State) -> None:
    car = state("car")
    ota.director.vehicle(VIN)
    ota.director_updater(car).refresh()  # trusts root v1 and has seen timestamp v1
    old_root = ota.director_keys.signers["root"]
    new_root = [generate() for _ in range(3)]
    new_timestamp = generate()
    ota.director.root.rotate(
        replace_keys("root", RoleKeys(tuple(s.public_key for s in new_root), 2)),
        old_root[:2],
        new_root[:2],
    )
    ota.director.root.rotate(
        replace_keys("timestamp", RoleKeys((new_timestamp.public_key,))), [], new_root[1:]
    )
    for roles in ota.director.vehicles.values():
        roles.signers["timestamp"] = [new_timestamp]
    ota.director.assign(VIN, [])  # publishes a timestamp signed by the new key
    updater = ota.director_updater(car)
    updater.refresh()
    trusted = Metadata[Root].from_file(str(car / "director" / "root.json")).signed
    assert trusted.version == 3
    assert trusted.roles["timestamp"].keyids == [new_timestamp.public_key.keyid]


def test_root_signed_by_new_keys_alone_is_not_published(ota: Ota) -> None:
    new_root = [generate() for _ in range(3)]
    change = replace_keys("root", RoleKeys(tuple(s.public_key for s in new_root), 2))
    with pytest.raises(KeyFileError, match="root: not signed by a threshold"):
        ota.image.root.rotate(change, [], new_root)
    assert list(ota.image.root.files) == [1]
