"""The image repository: what software exists, per ECU type and hardware variant.

Its root and targets keys are offline; targets delegates each ECU type to the supplier that
builds it (`supplier-<name>`, paths `<ecu type>/*/*`, terminating), and the supplier's own key
signs that supplier's images. Images live at `<ecu type>/<hardware variant>/<file>` with their
length, SHA-256 and `custom` fields `ecu_type`, `hardware_variant` and `version`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta

from securesystemslib.signer import Signer
from tuf.api.metadata import DelegatedRole, Delegations, Metadata, TargetFile, Targets

from volta.catalog import default_catalog
from volta.clock import Clock
from volta.ota.errors import BadMetadata
from volta.ota.keyring import Keyring
from volta.ota.roles import (
    HASHES,
    IMAGE_LIFETIMES,
    Lifetimes,
    RoleKeys,
    Roles,
    RootChain,
    expiry,
)

_LABEL = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


def image_path(ecu_type: str, hardware_variant: str, version: str) -> str:
    """Where an image is listed and served: `<ecu type>/<variant>/<ecu type>-<version>.img`."""
    return f"{ecu_type}/{hardware_variant}/{ecu_type}-{version}.img"


def served_name(target: TargetFile) -> str:
    """The file name a TUF client asks for with consistent snapshots: the hash before the name."""
    directory, _, name = target.path.rpartition("/")
    return f"{directory}/{target.hashes['sha256']}.{name}"


class ImageRepository:
    """Targets per ECU type and hardware variant, delegated to suppliers, and the images."""

    def __init__(self, roles: Roles, images: Mapping[str, bytes]) -> None:
        """The repository as published (`roles`) with its images (by served name)."""
        self.root = roles.root
        self.roles = roles
        self.images = dict(images)
        delegations = roles.targets.signed.delegations
        self._suppliers: dict[str, tuple[str, ...]] = {
            name.removeprefix("supplier-"): tuple(p.partition("/")[0] for p in role.paths or ())
            for name, role in ((delegations.roles or {}) if delegations else {}).items()
        }

    @classmethod
    def create(
        cls, keyring: Keyring, clock: Clock, lifetimes: Lifetimes = IMAGE_LIFETIMES
    ) -> ImageRepository:
        """A new repository: root version 1 and empty targets that will delegate."""
        root = RootChain.create(keyring.public, keyring.signers["root"], lifetimes.root, clock)
        roles = Roles(root, keyring.signers, lifetimes, clock)
        roles.targets.signed.delegations = Delegations(keys={}, roles={})
        roles.publish()
        return cls(roles, {})

    def add_supplier(
        self, name: str, ecu_types: Sequence[str], keys: RoleKeys, signers: Sequence[Signer]
    ) -> None:
        """Delegate the images of `ecu_types` to the supplier `name` (needs the targets key)."""
        for label in (name, *ecu_types):  # both become parts of role names and paths
            if not _LABEL.fullmatch(label):
                raise BadMetadata(f"{label!r}: use 1-32 lower-case letters, digits and '-'")
        role = f"supplier-{name}"
        targets = self.roles.targets.signed
        targets.delegations.roles[role] = DelegatedRole(  # type: ignore[union-attr,index]
            name=role,
            keyids=[],
            threshold=keys.threshold,
            terminating=True,
            paths=[f"{t}/*/*" for t in ecu_types],
        )
        for key in keys.keys:
            targets.add_key(key, role)
        lifetime: timedelta = self.roles.lifetimes.targets
        self.roles.delegated[role] = Metadata(Targets(expires=expiry(self.roles.clock, lifetime)))
        self.roles.signers[role] = list(signers)
        self._suppliers[name] = tuple(ecu_types)
        self.roles.publish(["targets", role])

    def add_image(
        self, supplier: str, ecu_type: str, hardware_variant: str, version: str, data: bytes
    ) -> TargetFile:
        """List an image under its supplier's role, signed by the supplier, and keep its bytes."""
        if ecu_type not in self._suppliers.get(supplier, ()):
            raise BadMetadata(f"supplier {supplier!r} is not delegated {ecu_type!r} images")
        # The car reports these as catalog signals: refuse what the catalog would quarantine
        # (every ECU's signals share one pattern, so the BMS's stand for all).
        catalog = default_catalog()
        for signal, value in (("HardwareVariant", hardware_variant), ("SoftwareVersion", version)):
            problem = catalog.get(f"Vehicle.OTA.BMS.{signal}").check(value)
            if problem is not None:
                raise BadMetadata(f"image {ecu_type}/{hardware_variant} {version}: {problem}")
        path = image_path(ecu_type, hardware_variant, version)
        target = TargetFile.from_data(path, data, HASHES)
        target.unrecognized_fields["custom"] = {
            "ecu_type": ecu_type,
            "hardware_variant": hardware_variant,
            "version": version,
        }
        role = f"supplier-{supplier}"
        self.roles.delegated[role].signed.targets[path] = target
        self.images[served_name(target)] = data
        self.roles.publish([role])
        return target

    def file(self, path: str) -> bytes | None:
        """What the repository serves at `path`: `metadata/<name>` or `targets/<served name>`."""
        kind, _, name = path.partition("/")
        if kind == "metadata":
            return self.roles.metadata_file(name)
        if kind == "targets":
            return self.images.get(name)
        return None
