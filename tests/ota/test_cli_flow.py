"""The operator's workflow from the command line, then a car that installs what it made."""

from __future__ import annotations

import json
from pathlib import Path

from tuf.api.metadata import Metadata, Root
from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.clock import wall_ms
from volta.ota.director import Assignment
from volta.ota.ecu import Ecu
from volta.ota.keyring import load_keys, public_keys
from volta.ota.keys import KeyStore
from volta.ota.primary import Primary, State, Step
from volta.ota.serving import InProcessFetcher, OtaFiles
from volta.ota.storage import open_director, open_image_repository, save_director

from .otakit import BASE, VIN


def volta(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["ota", *args])
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.output)
    return parsed


def test_keys_supplier_image_from_the_cli_then_a_car_installs_it(tmp_path: Path) -> None:
    _register_all()
    keys, repos = tmp_path / "keys", tmp_path / "repos"
    where = ["--keys", str(keys), "--repo-dir", str(repos)]
    volta("keys", "create", *where, "--repository", "image")
    volta("keys", "create", *where, "--repository", "director")
    volta("image", "add-supplier", *where, "--name", "acme", "--ecu-type", "bms")
    firmware = tmp_path / "bms-1.1.0.img"
    firmware.write_bytes(b"bms firmware 1.1.0" * 100)
    listed = volta(
        "image", "add", *where, "--supplier", "acme", "--ecu-type", "bms",
        "--variant", "bms-nmc-96s", "--version", "1.1.0", str(firmware),
    )  # fmt: skip
    assert listed["path"] == "bms/bms-nmc-96s/bms-1.1.0.img"
    assert listed["length"] == 1800

    store = KeyStore(keys)
    image_root = (repos / "image" / "metadata" / "1.root.json").read_bytes()
    director_root = (repos / "director" / "metadata" / "1.root.json").read_bytes()

    def served() -> OtaFiles:
        """Open both folders as the service would, assign the newest image, save the director."""
        image = open_image_repository(repos, load_keys(store, "image", {}, []), wall_ms)
        newest = max((repos / "director" / "metadata").glob("*.root.json"))
        root = Metadata[Root].from_bytes(newest.read_bytes()).signed
        online = ["targets", "snapshot", "timestamp"]
        director = open_director(
            repos, load_keys(store, "director", public_keys(root), online), wall_ms
        )
        target = image.roles.delegated["supplier-acme"].signed.targets[str(listed["path"])]
        director.assign(VIN, [Assignment("BMS-0001", target)])
        save_director(director, repos)
        return OtaFiles(image, director)

    bms = Ecu.built("BMS-0001", "BMS", "bms", "bms-nmc-96s", "1.0.0")
    files = served()
    primary = Primary(
        VIN, [bms], tmp_path / "car", image_root, director_root, BASE, InProcessFetcher(files.get)
    )
    assert primary.check_in()[-1] == Step(VIN, "BMS-0001", State.SUCCEEDED, "1.1.0")

    # the image repository's timestamp key is rotated; the car follows to root version 2
    volta("keys", "rotate", *where, "--repository", "image", "--role", "timestamp")
    firmware.write_bytes(b"bms firmware 1.2.0")
    volta(
        "image", "add", *where, "--supplier", "acme", "--ecu-type", "bms",
        "--variant", "bms-nmc-96s", "--version", "1.2.0", str(firmware),
    )  # fmt: skip
    listed["path"] = "bms/bms-nmc-96s/bms-1.2.0.img"
    files = served()
    primary.fetcher = InProcessFetcher(files.get)
    assert primary.check_in()[-1] == Step(VIN, "BMS-0001", State.SUCCEEDED, "1.2.0")
    trusted = Metadata[Root].from_file(str(tmp_path / "car" / "image" / "root.json")).signed
    assert trusted.version == 2
