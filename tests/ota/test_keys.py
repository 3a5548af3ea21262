"""Key files: private 0600 in a 0700 directory, never overwritten, never printed."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volta.cli import _register_all, app
from volta.ota.errors import KeyFileError
from volta.ota.keys import KeyStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_key_file_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    key = store.create("image-root-1")
    assert mode(tmp_path / "keys") == 0o700
    assert mode(tmp_path / "keys" / "image-root-1.key") == 0o600
    assert store.public("image-root-1").keyid == key.keyid


def test_loaded_signer_signs_what_its_public_key_verifies(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    key = store.create("director-timestamp-1")
    signature = store.signer("director-timestamp-1").sign(b"payload")
    key.verify_signature(signature, b"payload")  # raises if it does not verify


def test_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.create("image-targets-1")
    before = (tmp_path / "image-targets-1.key").read_bytes()
    with pytest.raises(KeyFileError, match="exists already"):
        store.create("image-targets-1")
    assert (tmp_path / "image-targets-1.key").read_bytes() == before


def test_private_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    store.create("image-root-1")
    (tmp_path / "image-root-1.key").chmod(0o644)
    with pytest.raises(KeyFileError, match=r"readable by others \(mode 644\); make it 0600"):
        store.signer("image-root-1")


def test_key_name_cannot_leave_the_directory(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="key name"):
        KeyStore(tmp_path).create("../outside")


def test_cli_creates_keys_and_root_and_prints_no_private_key(tmp_path: Path) -> None:
    _register_all()
    keys, repo = tmp_path / "keys", tmp_path / "repo"
    args = ["--keys", str(keys), "--repo-dir", str(repo), "--repository", "director"]
    result = CliRunner().invoke(app, ["ota", "keys", "create", *args])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["root_version"] == 1
    assert summary["roles"]["root"]["threshold"] == 2
    assert len(summary["roles"]["root"]["keyids"]) == 3
    assert (repo / "director" / "metadata" / "1.root.json").exists()
    assert all(mode(p) == 0o600 for p in keys.glob("*.key"))
    assert len(list(keys.glob("*.key"))) == 6
    for p in keys.glob("*.key"):
        assert p.read_bytes().splitlines()[1].decode() not in result.output
    assert "PRIVATE KEY" not in result.output


def test_cli_rotation_retires_old_keys_and_publishes_next_root(tmp_path: Path) -> None:
    _register_all()
    keys, repo = tmp_path / "keys", tmp_path / "repo"
    args = ["--keys", str(keys), "--repo-dir", str(repo), "--repository", "image"]
    assert CliRunner().invoke(app, ["ota", "keys", "create", *args]).exit_code == 0
    result = CliRunner().invoke(
        app, ["ota", "keys", "rotate", *args, "--role", "root", "--count", "3", "--threshold", "2"]
    )
    assert result.exit_code == 0, result.output
    new_ids = set(json.loads(result.output)["roles"]["root"]["keyids"])
    store = KeyStore(keys)
    assert {store.public(f"image-root-{n}").keyid for n in (4, 5, 6)} == new_ids
    assert sorted(p.name for p in (keys / "retired").glob("*.key")) == [
        f"image-root-{n}.root-v2.key" for n in (1, 2, 3)
    ]
    assert (repo / "image" / "metadata" / "2.root.json").exists()


def test_cli_rotation_without_root_metadata_fails_with_the_reason(tmp_path: Path) -> None:
    _register_all()
    args = ["--keys", str(tmp_path / "k"), "--repo-dir", str(tmp_path / "r")]
    result = CliRunner().invoke(
        app, ["ota", "keys", "rotate", *args, "--repository", "image", "--role", "timestamp"]
    )
    assert result.exit_code == 1
    assert "run `volta ota keys create` first" in result.output


def test_cli_rotation_without_enough_root_keys_writes_no_new_key(tmp_path: Path) -> None:
    _register_all()
    keys, repo = tmp_path / "keys", tmp_path / "repo"
    args = ["--keys", str(keys), "--repo-dir", str(repo), "--repository", "image"]
    assert CliRunner().invoke(app, ["ota", "keys", "create", *args]).exit_code == 0
    for n in (1, 2):  # offline keys kept elsewhere: only one of the two needed is here
        (keys / f"image-root-{n}.key").unlink()
        (keys / f"image-root-{n}.pub.json").unlink()
    before = sorted(p.name for p in keys.iterdir())
    result = CliRunner().invoke(app, ["ota", "keys", "rotate", *args, "--role", "timestamp"])
    assert result.exit_code == 1
    assert "the current root needs 2 root keys to sign its successor; 1 found" in result.output
    assert sorted(p.name for p in keys.iterdir()) == before
    assert not (repo / "image" / "metadata" / "2.root.json").exists()
