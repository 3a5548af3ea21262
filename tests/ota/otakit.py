"""The OTA tests' world: repositories with fresh keys, served in-process.

python-tuf's client checks expiry against the machine's clock, so the repositories are signed
with a clock that starts at the real time; tests move it to sign metadata that is already
expired (or not yet) when the car reads it.
"""

from __future__ import annotations

import time
from pathlib import Path

from tuf.ngclient import Updater

from volta.ota.director import Director
from volta.ota.ecu import Ecu
from volta.ota.image_repo import ImageRepository
from volta.ota.keyring import Keyring
from volta.ota.keys import generate
from volta.ota.primary import HealthCheck, Primary, always_healthy
from volta.ota.roles import RoleKeys
from volta.ota.serving import InProcessFetcher, OtaFiles

BASE = "https://ota.volta.invalid"
VIN = "WVOLTA00000000001"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


class ManualClock:
    """Milliseconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self.now_ms = time.time_ns() // 1_000_000

    def __call__(self) -> int:
        return self.now_ms


class Ota:
    """An image repository with one supplier per ECU type, a director, and the files served."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.image_keys = Keyring.generate(root_keys=3, root_threshold=2)
        self.director_keys = Keyring.generate(root_keys=3, root_threshold=2)
        self.image = ImageRepository.create(self.image_keys, clock)
        self.director = Director.create(self.director_keys, clock)
        self.supplier_signers = {"acme": generate(), "infocorp": generate()}
        for name, ecu_types in (("acme", ["bms", "tcu"]), ("infocorp", ["ivi"])):
            signer = self.supplier_signers[name]
            self.image.add_supplier(name, ecu_types, RoleKeys((signer.public_key,)), [signer])
        self.files = OtaFiles(self.image, self.director)
        # Tests replace files here to play a compromised server or network: path -> bytes
        # served instead (None: a 404).
        self.overrides: dict[str, bytes | None] = {}
        self.fetcher = InProcessFetcher(self.lookup)

    def lookup(self, path: str) -> bytes | None:
        path = path.lstrip("/")
        if path in self.overrides:
            return self.overrides[path]
        return self.files.get(path)

    def image_root(self) -> bytes:
        return self.image.root.files[1]

    def director_root(self) -> bytes:
        return self.director.root.files[1]

    def image_updater(self, state: Path) -> Updater:
        return Updater(
            str(state / "image"),
            f"{BASE}/image/metadata/",
            str(state / "downloads"),
            f"{BASE}/image/targets/",
            self.fetcher,
            bootstrap=self.image_root(),
        )

    def director_updater(self, state: Path, vin: str = VIN) -> Updater:
        return Updater(
            str(state / "director"),
            f"{BASE}/director/{vin}/metadata/",
            fetcher=self.fetcher,
            bootstrap=self.director_root(),
        )


def ecus() -> list[Ecu]:
    """A car's updatable ECUs as built: all on 1.0.0."""
    return [
        Ecu.built("TCU-0001", "Telematics", "tcu", "tcu-lte-a", "1.0.0"),
        Ecu.built("BMS-0001", "BMS", "bms", "bms-nmc-96s", "1.0.0"),
        Ecu.built("IVI-0001", "Infotainment", "ivi", "ivi-hd", "1.0.0"),
    ]


def car(
    ota: Ota,
    state: Path,
    health: HealthCheck = always_healthy,
    vin: str = VIN,
    parts: list[Ecu] | None = None,
) -> Primary:
    """A primary built with both repositories' version-1 roots, reading them in-process."""
    ota.director.vehicle(vin)
    return Primary(
        vin,
        parts if parts is not None else ecus(),
        state,
        ota.image_root(),
        ota.director_root(),
        BASE,
        ota.fetcher,
        health,
    )
