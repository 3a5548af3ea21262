"""Both repositories saved to a folder and opened again: cars carry on as if nothing happened."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from volta.ota.director import Assignment
from volta.ota.errors import KeyFileError
from volta.ota.keyring import Keyring
from volta.ota.primary import State, Step
from volta.ota.serving import OtaFiles
from volta.ota.storage import (
    open_director,
    open_image_repository,
    save_director,
    save_image_repository,
)

from .otakit import VIN, Ota, car


def reopen(ota: Ota, folder: Path) -> None:
    """Save both repositories, then serve what opening the folder gives back."""
    save_image_repository(ota.image, folder)
    save_director(ota.director, folder)
    signers = {**ota.image_keys.signers, "supplier-acme": [ota.supplier_signers["acme"]]}
    keyring = Keyring(ota.image_keys.public, signers)
    ota.image = open_image_repository(folder, keyring, ota.clock)
    ota.director = open_director(folder, ota.director_keys, ota.clock)
    ota.files = OtaFiles(ota.image, ota.director)


def test_car_updates_from_repositories_opened_from_their_folder(
    ota: Ota, state: Callable[[str], Path], tmp_path: Path
) -> None:
    first = ota.image.add_image("acme", "bms", "bms-nmc-96s", "1.1.0", b"bms 1.1.0")
    ota.director.assign(VIN, [Assignment("BMS-0001", first)])
    primary = car(ota, state("car"))
    assert primary.check_in()[-1].state is State.SUCCEEDED
    reopen(ota, tmp_path / "repos")
    second = ota.image.add_image("acme", "bms", "bms-nmc-96s", "1.2.0", b"bms 1.2.0")
    ota.director.assign(VIN, [Assignment("BMS-0001", second)])
    # the car trusts the versions it saw before the restart: they must go on from there
    assert primary.check_in()[-1] == Step(VIN, "BMS-0001", State.SUCCEEDED, "1.2.0")
    assert primary.ecus["BMS-0001"].active == "A"


def test_saved_files_are_the_served_files(ota: Ota, tmp_path: Path) -> None:
    ota.image.add_image("acme", "bms", "bms-nmc-96s", "1.1.0", b"bms 1.1.0")
    ota.director.vehicle(VIN)
    save_image_repository(ota.image, tmp_path)
    save_director(ota.director, tmp_path)
    for name, data in ota.image.roles.files.items():
        assert (tmp_path / "image" / "metadata" / name).read_bytes() == data
    for name, data in ota.image.images.items():
        assert (tmp_path / "image" / "targets" / name).read_bytes() == data
    for name, data in ota.director.vehicles[VIN].files.items():
        assert (tmp_path / "director" / "vehicles" / VIN / name).read_bytes() == data
    assert (tmp_path / "director" / "metadata" / "1.root.json").read_bytes() == ota.director_root()


def test_opening_a_folder_without_repositories_says_so(ota: Ota, tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="no image repository in"):
        open_image_repository(tmp_path, ota.image_keys, ota.clock)
    with pytest.raises(KeyFileError, match="no director in"):
        open_director(tmp_path, ota.director_keys, ota.clock)
