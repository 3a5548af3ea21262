"""The server's re-signing job: keeps the OTA repositories in a folder fresh.

Online metadata is short-lived on purpose (the director's timestamp an hour, the image
repository's a day), so that replayed files are soon useless; something must sign it anew
before it expires, or every car's next check-in fails. `OtaKeeper` opens both repositories
from the folder with the online keys only (never the offline root or image targets keys),
re-signs each role with less than a third of its lifetime left (`Roles.renew`), saves, and
says what it did — and which offline-signed metadata is about to expire, which only an operator
with the offline keys can fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from volta.clock import Clock
from volta.ota.storage import (
    locked,
    online_keyring,
    open_director,
    open_image_repository,
    save_director,
    save_image_repository,
)
from volta.periodic import Periodic

log = logging.getLogger(__name__)

__all__ = ["OtaKeeper", "Renewal"]

IMAGE_ONLINE = ["snapshot", "timestamp"]
DIRECTOR_ONLINE = ["targets", "snapshot", "timestamp"]


@dataclass
class Renewal:
    """What one pass signed anew, and what is due but signed offline."""

    image: list[str] = field(default_factory=list)
    vehicles: dict[str, list[str]] = field(default_factory=dict)
    offline_due: list[str] = field(default_factory=list)  # e.g. "image targets"


class OtaKeeper:
    """Re-signs the online metadata of the repositories in `folder` every `interval_s`."""

    def __init__(self, folder: Path, keys: Path, clock: Clock, interval_s: float = 60.0) -> None:
        self.folder = folder
        self.keys = keys
        self.clock = clock
        self.interval_s = interval_s
        self._job = Periodic(
            "ota-keeper",
            lambda: self.interval_s,
            self._renew_and_log,
            log,
            "OTA re-signing failed",
            at_start=True,
        )

    def renew_once(self) -> Renewal:
        """One pass over both repositories, under the folder's writer lock."""
        out = Renewal()
        with locked(self.folder):
            if (self.folder / "image" / "metadata").is_dir():
                keyring = online_keyring(self.keys, self.folder, "image", IMAGE_ONLINE)
                image = open_image_repository(self.folder, keyring, self.clock)
                out.image = image.roles.renew()
                out.offline_due = [
                    f"image {role}" for role in image.roles.due() if role not in IMAGE_ONLINE
                ]
                if out.image:
                    save_image_repository(image, self.folder)
            if (self.folder / "director" / "metadata").is_dir():
                keyring = online_keyring(self.keys, self.folder, "director", DIRECTOR_ONLINE)
                director = open_director(self.folder, keyring, self.clock)
                for vin, roles in director.vehicles.items():
                    renewed = roles.renew()
                    if renewed:
                        out.vehicles[vin] = renewed
                if out.vehicles:
                    save_director(director, self.folder)
        return out

    def start(self) -> None:
        """Renew now, then every `interval_s` in a thread until `stop`."""
        self._job.start()

    def stop(self) -> None:
        self._job.stop()

    def _renew_and_log(self) -> None:
        done = self.renew_once()
        if done.image or done.vehicles:
            log.info(
                "OTA metadata signed anew: image %s, %d vehicles",
                done.image or "-",
                len(done.vehicles),
            )
        if done.offline_due:
            log.warning(
                "OTA metadata signed offline expires soon: %s (sign it anew with the offline keys)",
                ", ".join(done.offline_due),
            )
