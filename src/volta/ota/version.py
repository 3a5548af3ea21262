"""Software versions as Volta's catalog allows them: `MAJOR.MINOR.PATCH` with an optional
`-suffix` (a pre-release, older than the same version without one)."""

from __future__ import annotations

import re

from volta.errors import ValidationError

_VERSION = re.compile(r"([0-9]{1,6})\.([0-9]{1,6})\.([0-9]{1,6})(?:-([0-9A-Za-z.]{1,32}))?")

Key = tuple[int, int, int, int, str]


def version_key(version: str) -> Key:
    """A key that orders versions: 1.2.3-rc.1 < 1.2.3 < 1.2.10."""
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValidationError(f"{version!r} is not a version MAJOR.MINOR.PATCH[-suffix]")
    major, minor, patch, suffix = match.groups()
    return (int(major), int(minor), int(patch), 0 if suffix else 1, suffix or "")


def is_newer(candidate: str, installed: str | None) -> bool:
    """Whether `candidate` is strictly newer than `installed` (anything is newer than nothing)."""
    return installed is None or version_key(candidate) > version_key(installed)
