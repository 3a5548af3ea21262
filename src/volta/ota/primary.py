"""`Primary`: the vehicle's primary ECU, which updates itself and the other ECUs.

A check-in: refresh the director's metadata for this vehicle and the image repository's with
`tuf.ngclient.Updater` (full verification), check every assigned image against the image
repository (`agreement.agreed`), download every image (python-tuf enforces the signed length and
hashes), and only when *all* are verified and downloaded install each into its ECU's inactive
slot, switch, run the health check and roll back on failure. All or nothing before the first
install, so a partial bundle never leaves the car's ECUs on a mix of versions they were not
assigned together. Each step is reported.

python-tuf checks expiry against this machine's clock: the car's clock, as it would be in a car.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import Metadata, TargetFile, Targets
from tuf.ngclient import FetcherInterface, Updater

from volta.ota.agreement import agreed
from volta.ota.ecu import Ecu, Slot
from volta.ota.errors import reason
from volta.ota.targets import custom_of


class State(StrEnum):
    """What a step of an update reports."""

    DOWNLOADING = "downloading"
    INSTALLING = "installing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True)
class Step:
    """One reported step: for one ECU (`ecu_serial` empty for the whole vehicle)."""

    vin: str
    ecu_serial: str
    state: State
    version: str = ""
    reason: str = ""


# None when the ECU runs well on its new software, else what is wrong.
HealthCheck = Callable[[Ecu, TargetFile], str | None]


def always_healthy(ecu: Ecu, target: TargetFile) -> str | None:
    return None


class Primary:
    """The primary ECU of one vehicle and the ECUs it updates."""

    def __init__(
        self,
        vin: str,
        ecus: Sequence[Ecu],
        state_dir: Path,
        image_root: bytes,
        director_root: bytes,
        base_url: str,
        fetcher: FetcherInterface | None = None,
        health: HealthCheck = always_healthy,
        report: Callable[[Step], None] = lambda step: None,
    ) -> None:
        """`image_root`/`director_root` are the root metadata the car was built with; later
        roots are followed and kept under `state_dir`."""
        self.vin = vin
        self.ecus = {ecu.serial: ecu for ecu in ecus}
        self.state_dir = state_dir
        self.image_root = image_root
        self.director_root = director_root
        self.base_url = base_url.rstrip("/")
        self.fetcher = fetcher
        self.health = health
        self.report = report
        for sub in ("director", "image", "downloads"):
            (state_dir / sub).mkdir(parents=True, exist_ok=True)

    def _updaters(self) -> tuple[Updater, Updater]:
        director = Updater(
            str(self.state_dir / "director"),
            f"{self.base_url}/director/{self.vin}/metadata/",
            fetcher=self.fetcher,
            bootstrap=self.director_root,
        )
        image = Updater(
            str(self.state_dir / "image"),
            f"{self.base_url}/image/metadata/",
            str(self.state_dir / "downloads"),
            f"{self.base_url}/image/targets/",
            self.fetcher,
            bootstrap=self.image_root,
        )
        return director, image

    def _assigned(self, director: Updater) -> list[TargetFile]:
        """The director's targets for this vehicle: python-tuf keeps the verified top-level
        targets in its metadata directory, and `get_targetinfo` returns each verified again."""
        listed = Metadata[Targets].from_file(str(self.state_dir / "director" / "targets.json"))
        found = [director.get_targetinfo(path) for path in sorted(listed.signed.targets)]
        return [t for t in found if t is not None]

    def check_in(self) -> list[Step]:
        """Fetch, verify and install what the director assigns; the steps, as reported."""
        steps: list[Step] = []

        def emit(step: Step) -> None:
            steps.append(step)
            self.report(step)

        try:
            director, image = self._updaters()
            director.refresh()
            image.refresh()
            assigned = self._assigned(director)
            pending = [t for t in assigned if not self._installed(t)]
            listed = {t.path: image.get_targetinfo(t.path) for t in pending}
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as e:
            emit(Step(self.vin, "", State.FAILED, reason=f"metadata refused: {reason(e)}"))
            return steps
        verified: list[tuple[str, TargetFile]] = []  # (ECU serial, the image repo's target)
        for target in pending:
            verdict = agreed(target, listed[target.path], self.ecus)
            if isinstance(verdict, str):
                emit(Step(self.vin, "", State.FAILED, reason=verdict))
                return steps
            verified.append((str(custom_of(target)["ecu_serial"]), verdict))
        downloads: list[Path] = []
        for serial, info in verified:
            version = str(custom_of(info)["version"])
            emit(Step(self.vin, serial, State.DOWNLOADING, version))
            try:
                downloads.append(Path(image.download_target(info)))
            except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as e:
                why = f"{info.path}: image refused: {reason(e)}"
                emit(Step(self.vin, serial, State.FAILED, version, why))
                return steps
        for (serial, info), path in zip(verified, downloads, strict=True):
            self._install(self.ecus[serial], info, path, emit)
        return steps

    def _installed(self, target: TargetFile) -> bool:
        ecu = self.ecus.get(str(custom_of(target).get("ecu_serial")))
        return ecu is not None and ecu.running.sha256 == target.hashes.get("sha256")

    def _install(
        self, ecu: Ecu, target: TargetFile, image: Path, emit: Callable[[Step], None]
    ) -> None:
        version = str(custom_of(target)["version"])
        emit(Step(self.vin, ecu.serial, State.INSTALLING, version))
        digest = hashlib.sha256(image.read_bytes()).hexdigest()
        ecu.write_inactive(Slot(version, digest))
        image.unlink()
        ecu.switch()
        problem = self.health(ecu, target)
        if problem is None:
            emit(Step(self.vin, ecu.serial, State.SUCCEEDED, version))
            return
        emit(Step(self.vin, ecu.serial, State.FAILED, version, f"health check: {problem}"))
        ecu.switch()
        emit(Step(self.vin, ecu.serial, State.ROLLED_BACK, ecu.running.version or ""))
