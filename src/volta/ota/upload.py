"""Metadata an operator uploads: a supplier's targets, signed offline, checked before it is served.

Every check python-tuf's client would make on a car is made here first, so that bad metadata is
refused at the door with its reason (`BadMetadata`, an HTTP 400) instead of reaching the fleet
and failing on every car: it must parse as TUF metadata, be a targets role the image repository
delegates, be signed by a threshold of that role's keys, be newer than what is served, list only
paths the delegation allows, with a hash and a `custom` version for each, and not be expired.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import DelegatedRole, Metadata, Targets
from tuf.api.serialization import DeserializationError

from volta.clock import Clock
from volta.errors import ValidationError
from volta.ota.errors import BadMetadata
from volta.ota.image_repo import ImageRepository, served_name
from volta.ota.targets import custom_of
from volta.ota.version import version_key


def _parsed(role: str, data: bytes) -> Metadata[Targets]:
    try:
        md = Metadata[Targets].from_bytes(data)
    except DeserializationError as e:
        raise BadMetadata(f"{role}: not TUF metadata ({e})") from e
    if not isinstance(md.signed, Targets):
        raise BadMetadata(f"{role}: a {md.signed.type} role, expected targets")
    return md


def _check_targets(role: DelegatedRole, md: Metadata[Targets], images: dict[str, bytes]) -> None:
    for path, target in md.signed.targets.items():
        if not role.is_delegated_path(path):
            raise BadMetadata(f"{role.name}: {path!r} is outside the delegated paths {role.paths}")
        if "sha256" not in target.hashes:
            raise BadMetadata(f"{role.name}: {path!r} has no sha256 hash")
        version = custom_of(target).get("version")
        try:
            version_key(version if isinstance(version, str) else "")
        except ValidationError as e:
            raise BadMetadata(f"{role.name}: {path!r}: custom version {e}") from e
        if served_name(target) not in images:
            raise BadMetadata(f"{role.name}: {path!r}: no image with that hash was uploaded")


def accept_supplier_targets(
    repo: ImageRepository, role_name: str, data: bytes, clock: Clock
) -> Metadata[Targets]:
    """Verify a supplier's signed targets metadata and serve it; `BadMetadata` says why not."""
    delegations = repo.roles.targets.signed.delegations
    role = delegations.roles.get(role_name) if delegations and delegations.roles else None
    if role is None:
        raise BadMetadata(f"{role_name}: the image repository delegates no such role")
    md = _parsed(role_name, data)
    try:
        repo.roles.targets.verify_delegate(role_name, md)
    except tuf_errors.UnsignedMetadataError as e:
        raise BadMetadata(f"{role_name}: not signed by a threshold of its keys ({e})") from e
    served = repo.roles.delegated[role_name].signed.version
    if md.signed.version <= served:
        raise BadMetadata(
            f"{role_name}: version {md.signed.version} is not newer than the served {served}"
        )
    if md.signed.is_expired(datetime.fromtimestamp(clock() / 1000, tz=UTC)):
        raise BadMetadata(f"{role_name}: expired at {md.signed.expires.isoformat()}")
    _check_targets(role, md, repo.images)
    repo.roles.accept(role_name, md, data)
    return md
