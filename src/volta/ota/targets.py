"""What a target of either repository says beyond its length and hashes."""

from __future__ import annotations

from tuf.api.metadata import TargetFile


def custom_of(target: TargetFile) -> dict[str, object]:
    """A target's `custom` fields; {} when the repository put anything but an object there."""
    custom = target.custom
    return custom if isinstance(custom, dict) else {}
