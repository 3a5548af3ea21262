"""The OTA repositories saved to a folder, exactly as they are served, and opened again.

    <folder>/image/metadata/N.root.json, N.targets.json, N.supplier-*.json, N.snapshot.json,
                            timestamp.json
    <folder>/image/targets/<ecu type>/<variant>/<sha256>.<file>
    <folder>/director/metadata/N.root.json
    <folder>/director/vehicles/<vin>/N.targets.json, N.snapshot.json, timestamp.json

A versioned file is signed once and never changes, so saving writes only files that are not
there yet, plus `timestamp.json`; each write goes to a temporary file first and is renamed into
place, so a crash never leaves half a file for a car to fetch. Keys are not saved here: they are
key files (`volta.ota.keys`), loaded into the `Keyring` given to `open_*`.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tuf.api.metadata import Metadata, Root

from volta.clock import Clock
from volta.ota.director import Director
from volta.ota.errors import KeyFileError
from volta.ota.image_repo import ImageRepository
from volta.ota.keyring import Keyring, load_keys, public_keys
from volta.ota.keys import KeyStore
from volta.ota.roles import (
    DIRECTOR_LIFETIMES,
    IMAGE_LIFETIMES,
    Lifetimes,
    Roles,
    RootChain,
)


def _write_new(folder: Path, files: Mapping[str, bytes]) -> None:
    for name, data in files.items():
        path = folder / name
        if path.exists() and name != "timestamp.json":
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)


def _read(folder: Path) -> dict[str, bytes]:
    """The files under `folder` by their path relative to it (no temporary ones)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def _roots(files: Mapping[str, bytes]) -> dict[int, bytes]:
    return {int(n.split(".")[0]): d for n, d in files.items() if n.endswith(".root.json")}


def _root_files(root: RootChain) -> dict[str, bytes]:
    return {f"{version}.root.json": data for version, data in root.files.items()}


def save_image_repository(repo: ImageRepository, folder: Path) -> None:
    """Write what `repo` serves that `folder` does not have yet."""
    _write_new(folder / "image" / "metadata", _root_files(repo.root) | repo.roles.files)
    _write_new(folder / "image" / "targets", repo.images)


def open_image_repository(
    folder: Path, keyring: Keyring, clock: Clock, lifetimes: Lifetimes = IMAGE_LIFETIMES
) -> ImageRepository:
    """The image repository saved in `folder`, signing with `keyring`'s signers."""
    metadata = _read(folder / "image" / "metadata")
    if not metadata:
        raise KeyFileError(f"no image repository in {folder}")
    root = RootChain(_roots(metadata), lifetimes.root, clock)
    roles = Roles.load(root, metadata, keyring.signers, lifetimes, clock)
    return ImageRepository(roles, _read(folder / "image" / "targets"))


def save_director(director: Director, folder: Path) -> None:
    """Write what `director` serves that `folder` does not have yet."""
    _write_new(folder / "director" / "metadata", _root_files(director.root))
    for vin, roles in director.vehicles.items():
        _write_new(folder / "director" / "vehicles" / vin, roles.files)


def open_director(
    folder: Path,
    keyring: Keyring,
    clock: Clock,
    lifetimes: Lifetimes = DIRECTOR_LIFETIMES,
    vins: Iterable[str] | None = None,
) -> Director:
    """The director saved in `folder`, signing with `keyring`'s signers; with `vins`, only
    those vehicles are read (what changing a few cars' targets needs, in a fleet of 10,000)."""
    roots = _roots(_read(folder / "director" / "metadata"))
    if not roots:
        raise KeyFileError(f"no director in {folder}")
    root = RootChain(roots, lifetimes.root, clock)
    vehicles_dir = folder / "director" / "vehicles"
    paths = sorted(vehicles_dir.glob("*")) if vins is None else [vehicles_dir / v for v in vins]
    vehicles = {
        path.name: Roles.load(root, _read(path), keyring.signers, lifetimes, clock)
        for path in paths
        if path.is_dir()
    }
    return Director(root, keyring, clock, lifetimes, vehicles)


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's writer lock: the command line and the server's re-signing job both
    open, sign and save, and two writers would publish two different files of one version."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def online_keyring(keys: Path, folder: Path, repository: str, roles: list[str]) -> Keyring:
    """The keyring of `repository` (image or director) in `folder`, with the private keys of
    `roles` from the key folder `keys`; the public keys are the newest root's."""
    metadata = folder / repository / "metadata"
    newest = max(
        metadata.glob("*.root.json"), key=lambda p: int(p.name.split(".")[0]), default=None
    )
    if newest is None:
        raise KeyFileError(
            f"no {repository} repository in {folder}: run `volta ota keys create` first"
        )
    root = Metadata[Root].from_bytes(newest.read_bytes()).signed
    return load_keys(KeyStore(keys), repository, public_keys(root), roles)


def served_file(folder: Path, path: str) -> Path | None:
    """The file of `folder` a car asks for by its served path (`image/metadata/3.root.json`,
    `image/targets/...`, `director/<vin>/metadata/<name>`), None if there is none. Nothing
    outside the repositories is ever named: no empty, hidden or `..` path segment."""
    parts = path.split("/")
    if any(not part or part.startswith(".") for part in parts):
        return None
    if parts[0] == "image" and len(parts) >= 3 and parts[1] in ("metadata", "targets"):
        file = folder.joinpath(*parts)
    elif parts[0] == "director" and len(parts) == 4 and parts[2] == "metadata":
        vin, name = parts[1], parts[3]
        file = (
            folder / "director" / "metadata" / name
            if name.endswith(".root.json")
            else folder / "director" / "vehicles" / vin / name
        )
    else:
        return None
    return file if file.is_file() else None
