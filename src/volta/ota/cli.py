"""`volta ota keys create|rotate`: the signing keys and root metadata of the OTA repositories.

`create` writes the keys of one repository (`image` or `director`) into a key directory
(private keys 0600) and the new repository into `<repo dir>/<repository>/` (`ota/storage.py`'s
layout); its `metadata/1.root.json` is what a car is built with. `rotate` gives one top-level
role new keys and publishes the next root version, signed by a threshold of the old root keys
and of the new ones, so cars that trust an older root follow the chain; the old keys move to
`retired/`.
The output is JSON with key ids only: no private key is ever printed or logged.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from volta.clock import wall_ms
from volta.errors import VoltaError
from volta.failure import fail
from volta.ota.director import Director
from volta.ota.image_repo import ImageRepository
from volta.ota.keyring import create_keys
from volta.ota.keys import KeyStore
from volta.ota.roles import (
    DIRECTOR_LIFETIMES,
    IMAGE_LIFETIMES,
    TOP_ROLES,
    RoleKeys,
    RootChain,
    replace_keys,
)
from volta.ota.storage import save_director, save_image_repository

ota = typer.Typer(help="Over-the-air updates: repositories and their keys.", no_args_is_help=True)
keys_app = typer.Typer(help="Signing keys of the image repository and the director.")
ota.add_typer(keys_app, name="keys", no_args_is_help=True)


class Repository(StrEnum):
    image = "image"
    director = "director"


KeyDir = Annotated[Path, typer.Option("--keys", help="key directory (created 0700)")]
RepoDir = Annotated[Path, typer.Option("--repo-dir", help="where root metadata is published")]
Repo = Annotated[Repository, typer.Option("--repository", help="image or director")]
Threshold = Annotated[int, typer.Option("--threshold", min=1, help="root keys that must sign")]


def _metadata_dir(repo_dir: Path, repository: Repository) -> Path:
    return repo_dir / repository.value / "metadata"


def _summary(repository: Repository, chain: RootChain) -> str:
    root = chain.current.signed
    return json.dumps(
        {
            "repository": repository.value,
            "root_version": root.version,
            "expires": root.expires.isoformat(),
            "roles": {
                role: {
                    "keyids": sorted(root.roles[role].keyids),
                    "threshold": root.roles[role].threshold,
                }
                for role in TOP_ROLES
            },
        },
        indent=2,
    )


@keys_app.command("create")
def create_command(
    keys: KeyDir,
    repo_dir: RepoDir,
    repository: Repo,
    root_keys: Annotated[int, typer.Option("--root-keys", min=1, help="number of root keys")] = 3,
    threshold: Threshold = 2,
) -> None:
    """Create a repository's keys and its root metadata version 1."""
    if threshold > root_keys:
        fail(VoltaError(f"a threshold of {threshold} needs at least {threshold} root keys"))
    try:
        keyring = create_keys(KeyStore(keys), repository.value, root_keys, threshold)
        if repository is Repository.image:
            image = ImageRepository.create(keyring, wall_ms)
            save_image_repository(image, repo_dir)
            chain = image.root
        else:
            director = Director.create(keyring, wall_ms)
            save_director(director, repo_dir)
            chain = director.root
    except VoltaError as exc:
        fail(exc)
    typer.echo(_summary(repository, chain))


@keys_app.command("rotate")
def rotate_command(
    keys: KeyDir,
    repo_dir: RepoDir,
    repository: Repo,
    role: Annotated[str, typer.Option("--role", help="root, targets, snapshot or timestamp")],
    count: Annotated[int, typer.Option("--count", min=1, help="number of new keys")] = 1,
    threshold: Threshold = 1,
) -> None:
    """Give `role` new keys and publish the next root version."""
    if role not in TOP_ROLES:
        fail(VoltaError(f"role {role!r} is not one of {', '.join(TOP_ROLES)}"))
    if threshold > count:
        fail(VoltaError(f"a threshold of {threshold} needs at least {threshold} keys"))
    lifetime = (IMAGE_LIFETIMES if repository is Repository.image else DIRECTOR_LIFETIMES).root
    folder = _metadata_dir(repo_dir, repository)
    files = {int(p.name.split(".")[0]): p.read_bytes() for p in folder.glob("*.root.json")}
    store = KeyStore(keys)
    prefix = f"{repository.value}-{role}-"
    try:
        if not files:
            raise VoltaError(f"no root metadata in {folder}: run `volta ota keys create` first")
        chain = RootChain(files, lifetime, wall_ms)
        old_names = [n for n in store.names() if n.startswith(prefix)]
        root_names = [n for n in store.names() if n.startswith(f"{repository.value}-root-")]
        old_root_signers = [store.signer(n) for n in root_names]
        needed = chain.current.signed.roles["root"].threshold
        if len(old_root_signers) < needed:  # checked before any new key is written
            raise VoltaError(
                f"the current root needs {needed} root keys to sign its successor; "
                f"{len(old_root_signers)} found in {keys}"
            )
        first = 1 + max((int(n.removeprefix(prefix)) for n in old_names), default=0)
        new_names = [f"{prefix}{n}" for n in range(first, first + count)]
        new_keys = tuple(store.create(n) for n in new_names)
        new_root_signers = [store.signer(n) for n in new_names] if role == "root" else []
        chain.rotate(
            replace_keys(role, RoleKeys(new_keys, threshold)), old_root_signers, new_root_signers
        )
    except VoltaError as exc:
        fail(exc)
    version = chain.current.signed.version
    (folder / f"{version}.root.json").write_bytes(chain.files[version])
    for name in old_names:
        store.retire(name, f"root-v{version}")
    typer.echo(_summary(repository, chain))


def register(app: typer.Typer) -> None:
    from volta.ota.image_cli import image_app

    ota.add_typer(image_app, name="image", no_args_is_help=True)
    app.add_typer(ota, name="ota")
