"""Signing keys of the OTA repositories, kept as files: private 0600, public beside it.

A key is a name (`image-root-1`, `director-timestamp`, `supplier-bms`) with two files in one
directory: `NAME.key`, the Ed25519 private key as PKCS#8 PEM, created 0600 in a 0700 directory
and never overwritten; and `NAME.pub.json`, the public key in TUF's key form with its key id.
Loading a private key whose file is readable by group or others is refused (as ssh does). No
function here logs or returns key material other than the public key.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner, SSlibKey

from volta.ota.errors import KeyFileError

_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{0,63}")


def generate() -> CryptoSigner:
    """A new Ed25519 signer held in memory only (tests, and `KeyStore.create`)."""
    return CryptoSigner.generate_ed25519()


class KeyStore:
    """The key files in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str, suffix: str) -> Path:
        if not _NAME.fullmatch(name):
            raise KeyFileError(f"key name {name!r}: use lower-case letters, digits, '.' and '-'")
        return self.directory / f"{name}{suffix}"

    def create(self, name: str) -> SSlibKey:
        """Generate the key `name` and write its files; refuses to replace an existing key."""
        private, public = self._path(name, ".key"), self._path(name, ".pub.json")
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        signer = generate()
        try:
            fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyFileError(f"key {name!r} exists already in {self.directory}") from None
        with os.fdopen(fd, "wb") as out:
            out.write(signer.private_bytes)
        key = signer.public_key
        public.write_text(json.dumps({"keyid": key.keyid, **key.to_dict()}, indent=2) + "\n")
        return key

    def public(self, name: str) -> SSlibKey:
        """The public key `name`."""
        path = self._path(name, ".pub.json")
        try:
            data = json.loads(path.read_text())
            return SSlibKey.from_dict(data.pop("keyid"), data)
        except (OSError, ValueError, KeyError) as e:
            raise KeyFileError(f"public key {name!r} in {self.directory}: {e}") from e

    def signer(self, name: str) -> CryptoSigner:
        """A signer with the private key `name`; the file must be private to its owner."""
        path = self._path(name, ".key")
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise KeyFileError(f"no private key {name!r} in {self.directory}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"private key {name!r} is readable by others (mode {stat.S_IMODE(mode):o}); "
                "make it 0600"
            )
        try:
            private = load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as e:
            raise KeyFileError(f"private key {name!r} cannot be read: {type(e).__name__}") from e
        return CryptoSigner(private, self.public(name))

    def names(self) -> list[str]:
        """The names of the keys whose public half is in the directory."""
        return sorted(p.name.removesuffix(".pub.json") for p in self.directory.glob("*.pub.json"))

    def retire(self, name: str, tag: str) -> None:
        """Move the key's files to `retired/` (kept, 0600, so old signatures stay checkable)."""
        retired = self.directory / "retired"
        retired.mkdir(mode=0o700, exist_ok=True)
        for suffix in (".key", ".pub.json"):
            path = self._path(name, suffix)
            if path.exists():
                path.rename(retired / f"{name}.{tag}{suffix}")
