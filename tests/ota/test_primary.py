"""The vehicle side: the primary verifies both repositories, installs A/B, rolls back."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from tuf.api.metadata import TargetFile

from volta.catalog import default_catalog
from volta.ota.director import Assignment
from volta.ota.ecu import Ecu, Slot
from volta.ota.primary import State, Step
from volta.sim.updates import CountingFetcher

from .otakit import VIN, Ota, car

StateDir = Callable[[str], Path]
BMS_FW = b"bms firmware 1.1.0 " * 500


def release_bms(ota: Ota, version: str = "1.1.0", data: bytes = BMS_FW) -> TargetFile:
    return ota.image.add_image("acme", "bms", "bms-nmc-96s", version, data)


def test_assigned_image_is_installed_into_the_inactive_slot(ota: Ota, state: StateDir) -> None:
    ota.director.assign(VIN, [Assignment("BMS-0001", release_bms(ota))])
    primary = car(ota, state("car"))
    steps = primary.check_in()
    assert steps == [
        Step(VIN, "BMS-0001", State.DOWNLOADING, "1.1.0"),
        Step(VIN, "BMS-0001", State.INSTALLING, "1.1.0"),
        Step(VIN, "BMS-0001", State.SUCCEEDED, "1.1.0"),
    ]
    bms = primary.ecus["BMS-0001"]
    assert bms.active == "B"
    assert bms.running.version == "1.1.0"
    assert bms.running.sha256 == hashlib.sha256(BMS_FW).hexdigest()
    assert bms.slots["A"].version == "1.0.0"  # kept for a rollback
    assert primary.ecus["TCU-0001"].running.version == "1.0.0"


def test_installed_image_is_not_installed_again(ota: Ota, state: StateDir) -> None:
    ota.director.assign(VIN, [Assignment("BMS-0001", release_bms(ota))])
    primary = car(ota, state("car"))
    primary.check_in()
    assert primary.check_in() == []
    assert primary.ecus["BMS-0001"].active == "B"


def test_failed_health_check_rolls_back_to_the_old_slot(ota: Ota, state: StateDir) -> None:
    def boot_loops_on_nmc(ecu: Ecu, target: TargetFile) -> str | None:
        return "boot loop" if ecu.hardware_variant == "bms-nmc-96s" else None

    ota.director.assign(VIN, [Assignment("BMS-0001", release_bms(ota))])
    primary = car(ota, state("car"), health=boot_loops_on_nmc)
    reported: list[Step] = []
    primary.report = reported.append
    steps = primary.check_in()
    assert [s.state for s in steps] == [
        State.DOWNLOADING,
        State.INSTALLING,
        State.FAILED,
        State.ROLLED_BACK,
    ]
    assert steps[2].reason == "health check: boot loop"
    assert steps[3].version == "1.0.0"
    assert reported == steps
    bms = primary.ecus["BMS-0001"]
    assert (bms.active, bms.running.version) == ("A", "1.0.0")


def test_several_ecus_update_in_one_check_in(ota: Ota, state: StateDir) -> None:
    tcu = ota.image.add_image("acme", "tcu", "tcu-lte-a", "1.2.0", b"tcu 1.2.0")
    ivi = ota.image.add_image("infocorp", "ivi", "ivi-hd", "3.0.0", b"ivi 3.0.0")
    ota.director.assign(VIN, [Assignment("TCU-0001", tcu), Assignment("IVI-0001", ivi)])
    primary = car(ota, state("car"))
    succeeded = [s.ecu_serial for s in primary.check_in() if s.state is State.SUCCEEDED]
    assert sorted(succeeded) == ["IVI-0001", "TCU-0001"]
    assert primary.ecus["IVI-0001"].running.version == "3.0.0"
    assert primary.ecus["BMS-0001"].running.version == "1.0.0"


def test_installed_versions_are_catalog_signals(ota: Ota, state: StateDir) -> None:
    ota.director.assign(VIN, [Assignment("BMS-0001", release_bms(ota))])
    primary = car(ota, state("car"))
    primary.check_in()
    catalog = default_catalog()
    samples = [s for ecu in primary.ecus.values() for s in ecu.signals()]
    assert ("Vehicle.OTA.BMS.SoftwareVersion", "1.1.0") in samples
    assert ("Vehicle.OTA.BMS.ActiveSlot", "B") in samples
    assert [catalog.get(path).check(value) for path, value in samples] == [None] * len(samples)


def test_car_follows_both_repositories_across_check_ins(ota: Ota, state: StateDir) -> None:
    primary = car(ota, state("car"))
    assert primary.check_in() == []
    ota.director.assign(VIN, [Assignment("BMS-0001", release_bms(ota))])
    primary.check_in()
    newer = release_bms(ota, "1.2.0", b"bms 1.2.0")
    ota.director.assign(VIN, [Assignment("BMS-0001", newer)])
    assert primary.check_in()[-1] == Step(VIN, "BMS-0001", State.SUCCEEDED, "1.2.0")
    bms = primary.ecus["BMS-0001"]
    assert (bms.active, bms.slots["B"].version) == ("A", "1.1.0")


class PowerLoss(Exception):
    pass


class FlakyEcu(Ecu):
    """An ECU whose power fails while its first image is being written."""

    failures = 1

    def write_inactive(self, slot: Slot) -> None:
        self.slots[self.inactive] = Slot("partial")  # half-written, not bootable
        if self.failures:
            self.failures -= 1
            raise PowerLoss
        super().write_inactive(slot)


def test_power_loss_mid_install_keeps_the_old_slot_and_installs_after_reboot(
    ota: Ota, state: StateDir
) -> None:
    ota.director.assign(VIN, [Assignment("BMS-0001", release_bms(ota))])
    bms = FlakyEcu("BMS-0001", "BMS", "bms", "bms-nmc-96s", {"A": Slot("1.0.0"), "B": Slot()})
    folder = state("car")
    with pytest.raises(PowerLoss):
        car(ota, folder, parts=[bms]).check_in()
    assert (bms.active, bms.running.version) == ("A", "1.0.0")  # still boots the old slot
    rebooted = car(ota, folder, parts=[bms])  # same state folder: what the car had verified
    assert rebooted.check_in()[-1] == Step(VIN, "BMS-0001", State.SUCCEEDED, "1.1.0")
    assert (bms.active, bms.running.version) == ("B", "1.1.0")


def test_garbage_metadata_is_reported_not_raised(ota: Ota, state: StateDir) -> None:
    ota.director.assign(VIN, [Assignment("BMS-0001", release_bms(ota))])
    ota.overrides[f"director/{VIN}/metadata/timestamp.json"] = b"\x00not json"
    steps = car(ota, state("car")).check_in()
    assert len(steps) == 1
    assert steps[0].state is State.FAILED
    assert steps[0].reason.startswith("metadata refused: metadata failed verification")


def test_director_naming_an_ecu_the_car_lacks_is_refused(ota: Ota, state: StateDir) -> None:
    ota.director.assign(VIN, [Assignment("ADAS-0009", release_bms(ota))])
    steps = car(ota, state("car")).check_in()
    assert [s.reason for s in steps] == [
        "bms/bms-nmc-96s/bms-1.1.0.img: the director names ECU 'ADAS-0009', "
        "which this vehicle lacks"
    ]


def test_director_target_with_malformed_custom_fields_is_refused(ota: Ota, state: StateDir) -> None:
    target = release_bms(ota)
    ota.director.assign(VIN, [Assignment("BMS-0001", target)])
    roles = ota.director.vehicles[VIN]
    roles.targets.signed.targets[target.path].unrecognized_fields["custom"] = "not an object"
    roles.publish()
    steps = car(ota, state("car")).check_in()
    assert [s.reason for s in steps] == [
        "bms/bms-nmc-96s/bms-1.1.0.img: the director names ECU None, which this vehicle lacks"
    ]


def _campaign_target(target: TargetFile, mode: str, campaign: str = "c1") -> TargetFile:
    """The image as the campaign service lists it: with its campaign and mode in `custom`."""
    listed = TargetFile(target.length, dict(target.hashes), target.path)
    custom = {**target.unrecognized_fields["custom"], "campaign_id": campaign}
    listed.unrecognized_fields["custom"] = {**custom, "update_mode": mode}
    return listed


def test_download_only_image_is_kept_not_installed(ota: Ota, state: StateDir) -> None:
    image = release_bms(ota)
    ota.director.assign(VIN, [Assignment("BMS-0001", _campaign_target(image, "download-only"))])
    primary = car(ota, state("car"))
    counter = CountingFetcher(ota.fetcher)
    primary.fetcher = counter
    assert primary.check_in() == [
        Step(VIN, "BMS-0001", State.DOWNLOADING, "1.1.0", campaign_id="c1"),
        Step(VIN, "BMS-0001", State.DOWNLOADED, "1.1.0", campaign_id="c1"),
    ]
    bms = primary.ecus["BMS-0001"]
    assert (bms.active, bms.running.version, bms.slots["B"]) == ("A", "1.0.0", Slot())
    kept = list((primary.state_dir / "downloads").iterdir())
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in kept] == [
        hashlib.sha256(BMS_FW).hexdigest()
    ]
    assert counter.image_bytes == len(BMS_FW)
    # still listed at the next check-in: nothing new to do or report
    assert primary.check_in() == []
    # a later campaign installs it: from the kept file, without fetching it again
    counter.image_bytes = 0
    ota.director.assign(VIN, [Assignment("BMS-0001", _campaign_target(image, "forced", "c2"))])
    assert [s.state for s in primary.check_in()] == [
        State.DOWNLOADING,
        State.INSTALLING,
        State.SUCCEEDED,
    ]
    assert counter.image_bytes == 0
    assert (bms.active, bms.running.version) == ("B", "1.1.0")


def test_soft_update_waits_for_the_drivers_consent(ota: Ota, state: StateDir) -> None:
    image = _campaign_target(release_bms(ota), "soft")
    ota.director.assign(VIN, [Assignment("BMS-0001", image)])
    accepted: set[str] = set()
    primary = car(ota, state("car"))
    primary.consent = lambda target: target.unrecognized_fields["custom"]["campaign_id"] in accepted
    assert primary.check_in() == []  # asked, not accepted: nothing downloaded or installed
    assert list((primary.state_dir / "downloads").iterdir()) == []
    assert primary.ecus["BMS-0001"].running.version == "1.0.0"
    accepted.add("c1")
    assert primary.check_in()[-1] == Step(
        VIN, "BMS-0001", State.SUCCEEDED, "1.1.0", campaign_id="c1"
    )
    assert primary.ecus["BMS-0001"].running.version == "1.1.0"
