"""`Primary`: the vehicle's primary ECU, which updates itself and the other ECUs.

A check-in: refresh the director's metadata for this vehicle and the image repository's with
`tuf.ngclient.Updater` (full verification), check every assigned image against the image
repository (`agreement.agreed`), download every image (python-tuf enforces the signed length and
hashes), and only when *all* are verified and downloaded install each into its ECU's inactive
slot, switch, run the health check and roll back on failure. All or nothing before the first
install, so a partial bundle never leaves the car's ECUs on a mix of versions they were not
assigned together. Each step is reported, with the campaign the director target names
(`custom.campaign_id`).

The director target's `custom.update_mode` says how the car takes it (the campaign's mode):
`download-only` images are downloaded, verified and kept (reported `downloaded`, never
installed; a later campaign that installs the same image finds it already here); `soft` ones
are installed only once the driver consents (`consent`): until then the car leaves them alone
and asks again at its next check-in. Anything else (`forced`, or no mode) is installed.

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
    DOWNLOADED = "downloaded"  # a download-only image, verified and kept


# The director target's `custom.update_mode` values the car acts on (`volta.ota.runner.UpdateMode`)
DOWNLOAD_ONLY = "download-only"
SOFT = "soft"


@dataclass(frozen=True)
class Step:
    """One reported step: for one ECU (`ecu_serial` empty for the whole vehicle)."""

    vin: str
    ecu_serial: str
    state: State
    version: str = ""
    reason: str = ""
    campaign_id: str = ""  # the director target's `custom.campaign_id` (empty: none named)


# None when the ECU runs well on its new software, else what is wrong.
HealthCheck = Callable[[Ecu, TargetFile], str | None]


def always_healthy(ecu: Ecu, target: TargetFile) -> str | None:
    return None


# Whether the driver accepts a soft update (the director's target) now.
Consent = Callable[[TargetFile], bool]


def listed_is_consent(target: TargetFile) -> bool:
    """The campaign service lists a soft update only after the driver accepted it in the app:
    a car without a screen of its own takes the listing as the consent."""
    return True


def _campaign(target: TargetFile) -> str:
    return str(custom_of(target).get("campaign_id") or "")


def _mode(target: TargetFile) -> str:
    return str(custom_of(target).get("update_mode") or "")


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
        consent: Consent = listed_is_consent,
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
        self.consent = consent
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
        # (ECU serial, the image repo's target, the director's target)
        verified: list[tuple[str, TargetFile, TargetFile]] = []
        for target in pending:
            mode, campaign = _mode(target), _campaign(target)
            if mode == SOFT and not self.consent(target):
                continue  # the driver has not accepted it: asked again at the next check-in
            verdict = agreed(target, listed[target.path], self.ecus)
            if isinstance(verdict, str):
                emit(Step(self.vin, "", State.FAILED, reason=verdict, campaign_id=campaign))
                return steps
            if mode == DOWNLOAD_ONLY and image.find_cached_target(verdict) is not None:
                continue  # downloaded and reported at an earlier check-in
            verified.append((str(custom_of(target)["ecu_serial"]), verdict, target))
        downloads: list[Path] = []
        for serial, info, target in verified:
            version, campaign = str(custom_of(info)["version"]), _campaign(target)
            emit(Step(self.vin, serial, State.DOWNLOADING, version, campaign_id=campaign))
            try:
                # an image kept by a download-only campaign is not fetched again
                cached = image.find_cached_target(info)
                downloads.append(Path(cached or image.download_target(info)))
            except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as e:
                why = f"{info.path}: image refused: {reason(e)}"
                emit(Step(self.vin, serial, State.FAILED, version, why, campaign))
                return steps
        for (serial, info, target), path in zip(verified, downloads, strict=True):
            if _mode(target) == DOWNLOAD_ONLY:
                version = str(custom_of(info)["version"])
                emit(Step(self.vin, serial, State.DOWNLOADED, version, "", _campaign(target)))
                continue
            self._install(self.ecus[serial], info, path, _campaign(target), emit)
        return steps

    def _installed(self, target: TargetFile) -> bool:
        ecu = self.ecus.get(str(custom_of(target).get("ecu_serial")))
        return ecu is not None and ecu.running.sha256 == target.hashes.get("sha256")

    def _install(
        self,
        ecu: Ecu,
        target: TargetFile,
        image: Path,
        campaign: str,
        emit: Callable[[Step], None],
    ) -> None:
        version = str(custom_of(target)["version"])
        emit(Step(self.vin, ecu.serial, State.INSTALLING, version, campaign_id=campaign))
        digest = hashlib.sha256(image.read_bytes()).hexdigest()
        ecu.write_inactive(Slot(version, digest))
        image.unlink()
        ecu.switch()
        problem = self.health(ecu, target)
        if problem is None:
            emit(Step(self.vin, ecu.serial, State.SUCCEEDED, version, campaign_id=campaign))
            return
        why = f"health check: {problem}"
        emit(Step(self.vin, ecu.serial, State.FAILED, version, why, campaign))
        ecu.switch()
        back = ecu.running.version or ""
        emit(Step(self.vin, ecu.serial, State.ROLLED_BACK, back, campaign_id=campaign))
