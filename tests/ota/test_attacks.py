"""Uptane's attacks on the vehicle, each played against the real client and refused.

Each test says in its docstring how it was checked by mutation: with the protection removed as
described, the test fails (the car installs, or accepts the metadata).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata, TargetFile, Timestamp

from volta.errors import Forbidden
from volta.ota.director import Assignment
from volta.ota.image_repo import served_name
from volta.ota.keys import generate
from volta.ota.primary import Primary, State, Step
from volta.ota.roles import RoleKeys, replace_keys

from .otakit import HOUR_MS, VIN, ManualClock, Ota, car

StateDir = Callable[[str], Path]
VIN2 = "WVOLTA00000000002"


def bms(ota: Ota, version: str = "1.1.0", data: bytes = b"bms 1.1.0") -> TargetFile:
    return ota.image.add_image("acme", "bms", "bms-nmc-96s", version, data)


def evil(path: str = "bms/bms-nmc-96s/bms-6.6.6.img", data: bytes = b"evil") -> TargetFile:
    target = TargetFile.from_data(path, data, ["sha256"])
    target.unrecognized_fields["custom"] = {
        "ecu_type": "bms",
        "hardware_variant": "bms-nmc-96s",
        "version": "6.6.6",
    }
    return target


def nothing_installed(primary: Primary) -> bool:
    return all((e.active, e.running.version) == ("A", "1.0.0") for e in primary.ecus.values())


def only_failure(steps: list[Step]) -> Step:
    """The one step of a check-in that was refused before anything was downloaded."""
    assert len(steps) == 1, steps
    assert steps[0].state is State.FAILED
    return steps[0]


def test_arbitrary_software_in_place_of_a_signed_image_is_not_installed(
    ota: Ota, state: StateDir
) -> None:
    """The file server hands out other bytes for a signed image.
    Mutation: skip `targetinfo.verify_length_and_hashes` in python-tuf's `download_target`
    (monkeypatch `TargetFile.verify_length_and_hashes` to do nothing): the car installs."""
    target = bms(ota, data=b"genuine!")
    ota.director.assign(VIN, [Assignment("BMS-0001", target)])
    ota.overrides[f"image/targets/{served_name(target)}"] = b"evil!!!!"  # same length
    primary = car(ota, state("car"))
    steps = primary.check_in()
    assert steps[-1].state is State.FAILED
    assert "image refused: length or hash differs from the signed metadata" in steps[-1].reason
    assert nothing_installed(primary)


def test_compromised_director_key_alone_cannot_install_an_unsigned_image(
    ota: Ota, state: StateDir
) -> None:
    """The attacker holds the director's online keys and assigns an image the image repository
    never listed, serving its bytes.
    Mutation: in `agreement.agreed`, return the director's target when the image repository
    has none: the car installs 6.6.6."""
    target = evil()
    ota.director.assign(VIN, [Assignment("BMS-0001", target)])  # signed with the real keys
    ota.overrides[f"image/targets/{served_name(target)}"] = b"evil"
    primary = car(ota, state("car"))
    assert only_failure(primary.check_in()).reason == (
        "bms/bms-nmc-96s/bms-6.6.6.img: not in the image repository (arbitrary software)"
    )
    assert nothing_installed(primary)


def test_director_cannot_swap_the_bytes_of_a_listed_image(ota: Ota, state: StateDir) -> None:
    """The compromised director names a listed image but with the hash of other bytes.
    Mutation: drop the length/hash comparison in `agreement.agreed` and serve the evil bytes
    under the director's hash: the car installs them."""
    real = bms(ota, data=b"genuine")
    fake = evil(real.path, b"evil!!!")
    ota.director.assign(VIN, [Assignment("BMS-0001", fake)])
    ota.overrides[f"image/targets/{served_name(fake)}"] = b"evil!!!"
    primary = car(ota, state("car"))
    assert "disagree on its length or hashes" in only_failure(primary.check_in()).reason
    assert nothing_installed(primary)


def test_older_version_is_refused_as_rollback(ota: Ota, state: StateDir) -> None:
    """The director assigns a genuine but older image (0.9.0 while the ECU runs 1.0.0).
    Mutation: make `version.is_newer` return True: the car installs 0.9.0."""
    ota.director.assign(VIN, [Assignment("BMS-0001", bms(ota, "0.9.0", b"old"))])
    primary = car(ota, state("car"))
    assert only_failure(primary.check_in()).reason.endswith(
        "version '0.9.0' is not newer than the installed '1.0.0' (rollback)"
    )
    assert nothing_installed(primary)


def test_replayed_older_director_timestamp_is_refused(ota: Ota, state: StateDir) -> None:
    """Freeze by replay: after the car saw a newer director timestamp, the attacker serves an
    older one (still unexpired) to hide a new assignment.
    Mutation: make the car forget the metadata it trusted (monkeypatch
    `Updater._load_local_metadata` to raise OSError for every role but root): the replayed
    timestamp is accepted and the check-in is silently empty."""
    primary = car(ota, state("car"))
    old = ota.director.file(VIN, "timestamp.json")
    ota.director.assign(VIN, [])
    assert primary.check_in() == []  # now trusts the newer timestamp
    ota.director.assign(VIN, [Assignment("BMS-0001", bms(ota))])
    assert old is not None
    ota.overrides[f"director/{VIN}/metadata/timestamp.json"] = old
    reason = only_failure(primary.check_in()).reason
    assert reason.startswith("metadata refused: metadata version went back (rollback attack)")
    assert nothing_installed(primary)


def test_expired_director_timestamp_is_refused(
    ota: Ota, state: StateDir, clock: ManualClock
) -> None:
    """Freeze: the attacker keeps serving director metadata signed two hours ago, past its
    one-hour expiry.
    Mutation: monkeypatch python-tuf's `Signed.is_expired` to return False: the car installs."""
    target = bms(ota)
    clock.now_ms -= 2 * HOUR_MS
    ota.director.assign(VIN, [Assignment("BMS-0001", target)])
    primary = car(ota, state("car"))
    assert only_failure(primary.check_in()).reason.startswith(
        "metadata refused: expired metadata (freeze attack or stale repository)"
    )
    assert nothing_installed(primary)


def test_director_expiry_is_one_hour_for_the_timestamp(ota: Ota) -> None:
    ota.director.assign(VIN, [])
    data = ota.director.file(VIN, "timestamp.json")
    assert data is not None
    timestamp = Metadata[Timestamp].from_bytes(data).signed
    targets = ota.director.vehicles[VIN].targets.signed
    assert targets.expires - timestamp.expires == timedelta(hours=23)


def test_snapshot_and_targets_of_another_vehicle_are_refused(ota: Ota, state: StateDir) -> None:
    """Mix-and-match: the attacker serves another vehicle's director snapshot and targets (same
    version numbers, validly signed) under this vehicle's path.
    Mutation: monkeypatch python-tuf's `MetaFile.verify_length_and_hashes` to do nothing: the
    car accepts the other vehicle's targets and installs its image."""
    ota.director.assign(VIN, [])
    ota.director.assign(VIN2, [Assignment("BMS-0001", bms(ota))])
    for name in ("2.snapshot.json", "2.targets.json"):
        other = ota.director.file(VIN2, name)
        assert other is not None and ota.director.file(VIN, name) is not None
        ota.overrides[f"director/{VIN}/metadata/{name}"] = other
    primary = car(ota, state("car"))
    assert only_failure(primary.check_in()).reason.startswith(
        "metadata refused: length or hash differs from the signed metadata"
    )
    assert nothing_installed(primary)


def test_image_longer_than_signed_is_cut_off(ota: Ota, state: StateDir) -> None:
    """Endless data: the server sends the signed image followed by more bytes.
    Mutation: monkeypatch `FetcherInterface.download_file` to read without a length limit and
    `TargetFile.verify_length_and_hashes` to do nothing: the car installs."""
    data = b"bms 1.1.0"
    target = bms(ota, data=data)
    ota.director.assign(VIN, [Assignment("BMS-0001", target)])
    ota.overrides[f"image/targets/{served_name(target)}"] = data + b"\0" * 1_000_000
    primary = car(ota, state("car"))
    steps = primary.check_in()
    assert steps[-1].state is State.FAILED
    assert "more data than the signed length (endless data)" in steps[-1].reason
    assert nothing_installed(primary)


def test_metadata_longer_than_signed_is_refused(ota: Ota, state: StateDir) -> None:
    """Endless data in metadata: the snapshot is padded past the length the timestamp signs.
    Mutation: publish the timestamp's snapshot entry without length and hashes
    (`MetaFile(version)` in `Roles._publish_snapshot`): the padded snapshot is accepted."""
    ota.director.assign(VIN, [Assignment("BMS-0001", bms(ota))])
    name = "2.snapshot.json"
    data = ota.director.file(VIN, name)
    assert data is not None
    ota.overrides[f"director/{VIN}/metadata/{name}"] = data + b" " * 100_000
    primary = car(ota, state("car"))
    assert only_failure(primary.check_in()).reason.startswith(
        "metadata refused: more data than the signed length (endless data)"
    )


def test_partial_bundle_installs_nothing(ota: Ota, state: StateDir) -> None:
    """Partial bundle: the BMS and telematics images are assigned together and the telematics
    image never arrives. Neither is installed.
    Mutation: in `Primary.check_in`, install each image right after its download: the BMS is
    left on 1.1.0 while the telematics unit stays on 1.0.0."""
    tcu = ota.image.add_image("acme", "tcu", "tcu-lte-a", "1.2.0", b"tcu 1.2.0")
    ota.director.assign(VIN, [Assignment("TCU-0001", tcu), Assignment("BMS-0001", bms(ota))])
    ota.overrides[f"image/targets/{served_name(tcu)}"] = None
    primary = car(ota, state("car"))
    steps = primary.check_in()
    assert [(s.ecu_serial, s.state) for s in steps] == [
        ("BMS-0001", State.DOWNLOADING),  # in path order: bms/... before tcu/...
        ("TCU-0001", State.DOWNLOADING),
        ("TCU-0001", State.FAILED),
    ]
    assert "image refused: the repository did not serve the file" in steps[-1].reason
    assert nothing_installed(primary)


@pytest.mark.parametrize("repository", ["image", "director"])
def test_root_signed_by_too_few_root_keys_is_refused_by_the_car(
    ota: Ota, state: StateDir, repository: str
) -> None:
    """A next root signed by one of the two old root keys it needs.
    Mutation: monkeypatch python-tuf's `_DelegatorMixin.verify_delegate` to accept anything:
    the car takes the new root and its check-in is clean."""
    keys = ota.image_keys if repository == "image" else ota.director_keys
    chain = ota.image.root if repository == "image" else ota.director.root
    primary = car(ota, state("car"))
    assert primary.check_in() == []
    new_root = [generate() for _ in range(3)]
    md = Metadata.from_bytes(chain.files[1])
    replace_keys("root", RoleKeys(tuple(s.public_key for s in new_root), 2))(md.signed)
    md.signed.version = 2
    md.signatures.clear()
    for signer in [keys.signers["root"][0], *new_root]:
        md.sign(signer, append=True)
    prefix = "image" if repository == "image" else f"director/{VIN}"
    ota.overrides[f"{prefix}/metadata/2.root.json"] = md.to_bytes()
    reason = only_failure(primary.check_in()).reason
    assert reason.startswith("metadata refused: metadata not signed by a threshold of trusted")
    assert "root was signed by 1/2 keys" in reason


def test_vehicle_cannot_read_another_vehicles_director_metadata(ota: Ota) -> None:
    """Mutation: drop the VIN comparison in `OtaFiles.get_as`: VIN2's timestamp is served."""
    ota.director.vehicle(VIN)
    ota.director.vehicle(VIN2)
    assert ota.files.get_as(VIN, f"/director/{VIN}/metadata/timestamp.json") is not None
    assert ota.files.get_as(VIN, "/image/metadata/timestamp.json") is not None
    for path in (f"/director/{VIN2}/metadata/timestamp.json", "/director//metadata/1.root.json"):
        with pytest.raises(Forbidden, match=f"vehicle {VIN} may read only its own director"):
            ota.files.get_as(VIN, path)
