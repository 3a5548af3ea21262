"""One TUF repository's signed roles, built with python-tuf's Metadata API.

`RootChain` keeps every version of a repository's root; a new version is signed by a threshold
of the previous root's keys and of its own, so a car that trusts version 1 can follow the chain.
`Roles` keeps targets (and the roles it delegates to), snapshot and timestamp for one namespace
(the image repository, or one vehicle at the director) and publishes them as the files a TUF
client fetches: `N.root.json`, `N.targets.json`, `N.<delegated>.json`, `N.snapshot.json`,
`timestamp.json` (consistent snapshots).

Each role is verified against its delegator right after it is signed, so a missing or wrong key
fails here, on the server, instead of on every car. Time comes from the `clock` passed in
(milliseconds since the Unix epoch); nothing here reads the wall clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from securesystemslib.signer import Key, Signer
from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    Targets,
    Timestamp,
)

from volta.clock import Clock
from volta.ota.errors import KeyFileError

TOP_ROLES = ("root", "targets", "snapshot", "timestamp")
HASHES = ["sha256"]


@dataclass(frozen=True)
class Lifetimes:
    """How long each role's metadata stays valid after it is signed."""

    root: timedelta
    targets: timedelta
    snapshot: timedelta
    timestamp: timedelta

    def of(self, role: str) -> timedelta:
        return getattr(self, role) if role in TOP_ROLES else self.targets


# The image repository's roles change rarely and are signed offline; the director's are signed
# online for each vehicle and expire soon, so a replayed director file is useless within hours.
IMAGE_LIFETIMES = Lifetimes(
    root=timedelta(days=365),
    targets=timedelta(days=90),
    snapshot=timedelta(days=7),
    timestamp=timedelta(days=1),
)
DIRECTOR_LIFETIMES = Lifetimes(
    root=timedelta(days=365),
    targets=timedelta(days=1),
    snapshot=timedelta(days=1),
    timestamp=timedelta(hours=1),
)


@dataclass(frozen=True)
class RoleKeys:
    """The public keys of one role and how many of them must sign."""

    keys: tuple[Key, ...]
    threshold: int = 1


def expiry(clock: Clock, lifetime: timedelta) -> datetime:
    """The expiry of metadata signed now: TUF dates have whole seconds."""
    now = datetime.fromtimestamp(clock() // 1000, tz=UTC)
    return now + lifetime


def replace_keys(role: str, new: RoleKeys) -> Callable[[Root], None]:
    """A root change (for `RootChain.rotate`) giving `role` the keys and threshold `new`."""

    def change(root: Root) -> None:
        for keyid in list(root.roles[role].keyids):
            root.revoke_key(keyid, role)
        for key in new.keys:
            root.add_key(key, role)
        root.roles[role].threshold = new.threshold

    return change


def _sign(md: Metadata[Any], signers: Sequence[Signer]) -> None:
    md.signatures.clear()
    for signer in signers:
        md.sign(signer, append=True)


def _verified(delegator: Metadata[Any], role: str, md: Metadata[Any]) -> None:
    """Refuse to publish `md` unless `delegator` would accept it (enough of the right keys)."""
    try:
        delegator.verify_delegate(role, md)
    except tuf_errors.UnsignedMetadataError as e:
        raise KeyFileError(f"{role}: not signed by a threshold of its keys ({e})") from e


class RootChain:
    """Every version of one repository's root metadata, oldest first."""

    def __init__(self, files: Mapping[int, bytes], lifetime: timedelta, clock: Clock) -> None:
        """The chain from its published files (`{version: bytes}`, 1, 2, ... without gaps)."""
        self.files = dict(sorted(files.items()))
        if list(self.files) != list(range(1, len(self.files) + 1)):
            raise KeyFileError(f"root versions {list(self.files)} are not 1..n without gaps")
        self.versions: list[Metadata[Root]] = [
            Metadata[Root].from_bytes(b) for b in self.files.values()
        ]
        self._lifetime = lifetime
        self._clock = clock

    @classmethod
    def create(
        cls,
        keys: Mapping[str, RoleKeys],
        signers: Sequence[Signer],
        lifetime: timedelta,
        clock: Clock,
    ) -> RootChain:
        """Version 1 of a new root listing `keys`, signed by the root `signers`."""
        root = Root(expires=expiry(clock, lifetime), consistent_snapshot=True)
        for role in TOP_ROLES:
            for key in keys[role].keys:
                root.add_key(key, role)
            root.roles[role].threshold = keys[role].threshold
        md = Metadata(root)
        _sign(md, signers)
        _verified(md, "root", md)
        return cls({1: md.to_bytes()}, lifetime, clock)

    @property
    def current(self) -> Metadata[Root]:
        return self.versions[-1]

    def rotate(
        self,
        change: Callable[[Root], None],
        old_signers: Sequence[Signer],
        new_signers: Sequence[Signer],
    ) -> Metadata[Root]:
        """Publish the next root: the current one changed by `change` (keys added or revoked,
        thresholds), signed by the old root's keys and the new one's. Refused unless both the
        old and the new root accept it, so no car is ever left behind."""
        old = self.current
        md = Metadata[Root].from_bytes(self.files[old.signed.version])
        change(md.signed)
        md.signed.version += 1
        md.signed.expires = expiry(self._clock, self._lifetime)
        _sign(md, [*old_signers, *new_signers])
        _verified(old, "root", md)
        _verified(md, "root", md)
        self.versions.append(md)
        self.files[md.signed.version] = md.to_bytes()
        return md


class Roles:
    """Targets (with its delegations), snapshot and timestamp of one namespace."""

    def __init__(
        self,
        root: RootChain,
        signers: Mapping[str, Sequence[Signer]],
        lifetimes: Lifetimes,
        clock: Clock,
    ) -> None:
        self.root = root
        self.signers = dict(signers)
        self.lifetimes = lifetimes
        self.clock = clock
        self.targets = Metadata(Targets(expires=expiry(clock, lifetimes.targets)))
        self.delegated: dict[str, Metadata[Targets]] = {}
        self.snapshot = Metadata(Snapshot(expires=expiry(clock, lifetimes.snapshot)))
        self.timestamp = Metadata(Timestamp(expires=expiry(clock, lifetimes.timestamp)))
        self.files: dict[str, bytes] = {}
        self._published: set[str] = set()  # roles whose version 1 is out: the next is 2

    @classmethod
    def load(
        cls,
        root: RootChain,
        files: Mapping[str, bytes],
        signers: Mapping[str, Sequence[Signer]],
        lifetimes: Lifetimes,
        clock: Clock,
    ) -> Roles:
        """The roles as published in `files` (`N.<role>.json` and `timestamp.json`, as
        `files` holds them), to go on publishing from the newest version of each."""
        roles = cls(root, signers, lifetimes, clock)
        newest: dict[str, tuple[int, bytes]] = {}
        for name, data in files.items():
            version, _, rest = name.partition(".")
            role = rest.removesuffix(".json")
            if version.isdigit() and role != "root" and int(version) > newest.get(role, (0,))[0]:
                newest[role] = (int(version), data)
        if "timestamp.json" not in files or not {"targets", "snapshot"} <= set(newest):
            raise KeyFileError("the folder lacks a published targets, snapshot or timestamp")
        roles.files = {n: d for n, d in files.items() if not n.endswith(".root.json")}
        roles.targets = Metadata[Targets].from_bytes(newest.pop("targets")[1])
        roles.snapshot = Metadata[Snapshot].from_bytes(newest.pop("snapshot")[1])
        roles.timestamp = Metadata[Timestamp].from_bytes(files["timestamp.json"])
        roles.delegated = {r: Metadata[Targets].from_bytes(d) for r, (_, d) in newest.items()}
        roles._published = {"targets", "snapshot", "timestamp", *roles.delegated}
        return roles

    def _signers(self, role: str) -> Sequence[Signer]:
        signers = self.signers.get(role)
        if not signers:
            raise KeyFileError(f"{role}: no signing key loaded for this role")
        return signers

    def _publish_role(self, role: str, md: Metadata[Any], delegator: Metadata[Any]) -> bytes:
        if role in self._published:
            md.signed.version += 1
        self._published.add(role)
        md.signed.expires = expiry(self.clock, self.lifetimes.of(role))
        _sign(md, self._signers(role))
        _verified(delegator, role, md)
        data = md.to_bytes()
        self.files[f"{md.signed.version}.{role}.json"] = data
        return data

    def publish(self, changed: Iterable[str] = ("targets",)) -> None:
        """Sign the `changed` targets roles anew, then a snapshot listing every targets role
        (with length and hash) and a timestamp pointing at that snapshot."""
        for role in sorted(changed, key=lambda r: r != "targets"):  # targets first: it delegates
            md = self.targets if role == "targets" else self.delegated[role]
            delegator = self.root.current if role == "targets" else self.targets
            data = self._publish_role(role, md, delegator)  # bumps the version
            self._list(role, md.signed.version, data)
        self._publish_snapshot()

    def accept(self, role: str, md: Metadata[Targets], data: bytes) -> None:
        """Publish a delegated role signed elsewhere (a supplier's), already verified, as is."""
        self.delegated[role] = md
        self._published.add(role)
        self.files[f"{md.signed.version}.{role}.json"] = data
        self._list(role, md.signed.version, data)
        self._publish_snapshot()

    def _list(self, role: str, version: int, data: bytes) -> None:
        self.snapshot.signed.meta[f"{role}.json"] = MetaFile.from_data(version, data, HASHES)

    def _publish_snapshot(self) -> None:
        snapshot = self._publish_role("snapshot", self.snapshot, self.root.current)
        self.timestamp.signed.snapshot_meta = MetaFile.from_data(
            self.snapshot.signed.version, snapshot, HASHES
        )
        self.refresh_timestamp()

    def refresh_timestamp(self) -> None:
        """A new timestamp for the same snapshot: what keeps a repository fresh between changes."""
        self._publish_role("timestamp", self.timestamp, self.root.current)
        self.files["timestamp.json"] = self.files.pop(
            f"{self.timestamp.signed.version}.timestamp.json"
        )

    def due(self, share_left: float = 1 / 3) -> list[str]:
        """The roles whose metadata has less than `share_left` of its lifetime left (or has
        expired), targets roles first."""
        now = datetime.fromtimestamp(self.clock() // 1000, tz=UTC)
        roles: list[tuple[str, Metadata[Any]]] = [("targets", self.targets)]
        roles += sorted(self.delegated.items())
        roles += [("snapshot", self.snapshot), ("timestamp", self.timestamp)]
        return [
            role
            for role, md in roles
            if md.signed.expires - now <= self.lifetimes.of(role) * share_left
        ]

    def renew(self, share_left: float = 1 / 3) -> list[str]:
        """Sign anew, before it expires, the metadata this process holds keys for (the online
        roles): a due targets role (then a snapshot and timestamp follow), else a due snapshot
        (then a timestamp), else a due timestamp. The roles signed anew, in order."""
        due = [role for role in self.due(share_left) if self.signers.get(role)]
        changed = [role for role in due if role not in ("snapshot", "timestamp")]
        if changed:
            self.publish(changed)
            return [*changed, "snapshot", "timestamp"]
        if "snapshot" in due:
            self._publish_snapshot()
            return ["snapshot", "timestamp"]
        if "timestamp" in due:
            self.refresh_timestamp()
            return ["timestamp"]
        return []

    def metadata_file(self, name: str) -> bytes | None:
        """The bytes a TUF client gets for the metadata file `name` (`3.root.json`, ...)."""
        version, _, rest = name.partition(".")
        if rest == "root.json" and version.isdigit():
            return self.root.files.get(int(version))
        return self.files.get(name)
