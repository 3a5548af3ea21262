"""`volta ota image add-supplier|add`: the image repository in a folder, from the command line.

`add-supplier` delegates ECU types to a supplier and creates its key (`supplier-<name>-1`); it
needs the image repository's offline targets key. `add` lists an image file under its supplier's
role, signed with the supplier's key, and copies the image into the repository. Both sign a new
snapshot and timestamp and save the folder. Output: JSON, never key material.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from volta.clock import wall_ms
from volta.errors import VoltaError
from volta.failure import fail
from volta.ota.image_repo import ImageRepository
from volta.ota.keyring import Keyring
from volta.ota.keys import KeyStore
from volta.ota.roles import RoleKeys
from volta.ota.storage import (
    locked,
    online_keyring,
    open_image_repository,
    save_image_repository,
)

image_app = typer.Typer(help="The image repository: suppliers and their images.")

KeyDir = Annotated[Path, typer.Option("--keys", help="key directory")]
RepoDir = Annotated[Path, typer.Option("--repo-dir", help="folder of the repositories")]


def _open(keys: Path, repo_dir: Path, roles: list[str], extra: dict[str, str]) -> ImageRepository:
    """The repository in `repo_dir` with the signers of `roles` and of `extra` ({role: key})."""
    keyring = online_keyring(keys, repo_dir, "image", roles)
    store = KeyStore(keys)
    signers = {**keyring.signers, **{role: [store.signer(name)] for role, name in extra.items()}}
    return open_image_repository(repo_dir, Keyring(keyring.public, signers), wall_ms)


@image_app.command("add-supplier")
def add_supplier_command(
    keys: KeyDir,
    repo_dir: RepoDir,
    name: Annotated[str, typer.Option("--name", help="supplier, e.g. acme")],
    ecu_types: Annotated[list[str], typer.Option("--ecu-type", help="ECU type it builds")],
) -> None:
    """Delegate ECU types to a new supplier and create its key."""
    try:
        with locked(repo_dir):
            repo = _open(keys, repo_dir, ["targets", "snapshot", "timestamp"], {})
            store = KeyStore(keys)
            key = store.create(f"supplier-{name}-1")
            signer = store.signer(f"supplier-{name}-1")
            repo.add_supplier(name, ecu_types, RoleKeys((key,)), [signer])
            save_image_repository(repo, repo_dir)
    except VoltaError as exc:
        fail(exc)
    typer.echo(json.dumps({"supplier": name, "ecu_types": ecu_types, "keyid": key.keyid}))


@image_app.command("add")
def add_image_command(
    keys: KeyDir,
    repo_dir: RepoDir,
    supplier: Annotated[str, typer.Option("--supplier", help="the supplier that built it")],
    ecu_type: Annotated[str, typer.Option("--ecu-type")],
    variant: Annotated[str, typer.Option("--variant", help="hardware variant")],
    version: Annotated[str, typer.Option("--version", help="MAJOR.MINOR.PATCH[-suffix]")],
    image: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="the image file")],
) -> None:
    """List an image, signed by its supplier, and copy it into the repository."""
    try:
        role = f"supplier-{supplier}"
        with locked(repo_dir):
            repo = _open(keys, repo_dir, ["snapshot", "timestamp"], {role: f"{role}-1"})
            target = repo.add_image(supplier, ecu_type, variant, version, image.read_bytes())
            save_image_repository(repo, repo_dir)
    except VoltaError as exc:
        fail(exc)
    typer.echo(
        json.dumps(
            {"path": target.path, "length": target.length, "sha256": target.hashes["sha256"]}
        )
    )
