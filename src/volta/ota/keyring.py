"""`Keyring`: the public keys of a repository's roles and the signers loaded for some of them.

Key files are named `<repository>-<role>-<n>` in a `KeyStore` (`image-root-2`,
`director-timestamp-1`). Offline keys (the roots, the image repository's targets) are loaded
only for the operation that needs them; the online server holds snapshot and timestamp keys
(and, at the director, targets).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from securesystemslib.signer import Signer
from tuf.api.metadata import Root

from volta.ota.keys import KeyStore, generate
from volta.ota.roles import TOP_ROLES, RoleKeys


@dataclass(frozen=True)
class Keyring:
    """Public keys per role (what root lists) and the signers at hand, per role."""

    public: Mapping[str, RoleKeys]
    signers: Mapping[str, Sequence[Signer]] = field(default_factory=dict)

    @classmethod
    def generate(cls, root_keys: int = 3, root_threshold: int = 2) -> Keyring:
        """Fresh in-memory keys: `root_keys` root keys of which `root_threshold` must sign, one
        key for each other top-level role."""
        signers = {
            role: [generate() for _ in range(root_keys if role == "root" else 1)]
            for role in TOP_ROLES
        }
        public = {
            role: RoleKeys(
                tuple(s.public_key for s in signers[role]),
                root_threshold if role == "root" else 1,
            )
            for role in TOP_ROLES
        }
        return cls(public, signers)

    def with_signers(self, role: str, signers: Sequence[Signer], threshold: int = 1) -> Keyring:
        """This keyring with `role`'s keys replaced by those of `signers`."""
        public = {**self.public, role: RoleKeys(tuple(s.public_key for s in signers), threshold)}
        return Keyring(public, {**self.signers, role: list(signers)})


def key_names(repository: str, role: str, count: int) -> list[str]:
    return [f"{repository}-{role}-{n}" for n in range(1, count + 1)]


def create_keys(
    store: KeyStore, repository: str, root_keys: int = 3, root_threshold: int = 2
) -> Keyring:
    """Create the key files of a new repository and return its keyring with every signer."""
    public: dict[str, RoleKeys] = {}
    for role in TOP_ROLES:
        names = key_names(repository, role, root_keys if role == "root" else 1)
        keys = tuple(store.create(name) for name in names)
        public[role] = RoleKeys(keys, root_threshold if role == "root" else 1)
    return load_keys(store, repository, public, TOP_ROLES)


def load_keys(
    store: KeyStore, repository: str, public: Mapping[str, RoleKeys], roles: Iterable[str]
) -> Keyring:
    """The keyring of `repository` with the private keys of `roles` loaded from `store`."""
    wanted = set(roles)
    signers: dict[str, list[Signer]] = {}
    for name in store.names():
        repo, _, rest = name.partition("-")
        role = rest.rpartition("-")[0]
        if repo == repository and role in wanted:
            signers.setdefault(role, []).append(store.signer(name))
    return Keyring(public, signers)


def public_keys(root: Root) -> dict[str, RoleKeys]:
    """The keys and thresholds that `root` lists for each top-level role."""
    return {
        role: RoleKeys(
            tuple(root.get_key(keyid) for keyid in root.roles[role].keyids),
            root.roles[role].threshold,
        )
        for role in TOP_ROLES
    }
