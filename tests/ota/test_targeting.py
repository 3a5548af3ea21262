"""Which vehicles a campaign updates, refused before it starts when it cannot work."""

from __future__ import annotations

import pytest
from tuf.api.metadata import TargetFile

from volta.errors import BadRequest
from volta.ota.targeting import FleetVehicle, InstalledEcu, TargetFilter, plan

from .otakit import Ota


def vehicle(i: int, variant: str, version: str = "1.0.0", model: str = "volta-one") -> FleetVehicle:
    region = "eu" if i % 2 else "us"
    bms = InstalledEcu(f"BMS-{i:04d}", "bms", variant, version)
    tcu = InstalledEcu(f"TCU-{i:04d}", "tcu", "tcu-lte-a", "1.0.0")
    return FleetVehicle(f"WVOLTA{i:011d}", model, region, (tcu, bms))


FLEET = [
    vehicle(0, "bms-nmc-96s"),
    vehicle(1, "bms-nmc-96s", "1.1.0"),  # already on the campaign's version
    vehicle(2, "bms-lfp-108s"),
    vehicle(3, "bms-nmc-96s", model="volta-van"),
]


def images(ota: Ota, *variants: str) -> dict[str, TargetFile]:
    return {
        v: ota.image.add_image("acme", "bms", v, "1.1.0", f"bms {v}".encode()) for v in variants
    }


def test_plan_assigns_the_image_of_each_vehicles_variant(ota: Ota) -> None:
    built = images(ota, "bms-nmc-96s", "bms-lfp-108s")
    assignments = plan("c1", FLEET, TargetFilter("bms"), built)
    assert list(assignments) == [FLEET[0].vin, FLEET[2].vin, FLEET[3].vin]  # 1 runs 1.1.0
    lfp = assignments[FLEET[2].vin]
    assert (lfp.ecu_serial, lfp.target.path) == ("BMS-0002", "bms/bms-lfp-108s/bms-1.1.0.img")


@pytest.mark.parametrize(
    ("target", "selected"),
    [
        (TargetFilter("bms", models=frozenset({"volta-van"})), [3]),
        (TargetFilter("bms", regions=frozenset({"us"})), [0, 2]),
        (TargetFilter("bms", vins=frozenset({FLEET[2].vin, FLEET[3].vin})), [2, 3]),
        (TargetFilter("bms", hardware_variants=frozenset({"bms-lfp-108s"})), [2]),
        (TargetFilter("bms", versions=frozenset({"1.0.0"}), regions=frozenset({"eu"})), [3]),
    ],
)
def test_filter_selects_by_model_region_vin_variant_and_version(
    ota: Ota, target: TargetFilter, selected: list[int]
) -> None:
    built = images(ota, "bms-nmc-96s", "bms-lfp-108s")
    assert list(plan("c1", FLEET, target, built)) == [FLEET[i].vin for i in selected]


def test_filter_matching_no_vehicle_is_refused(ota: Ota) -> None:
    with pytest.raises(BadRequest, match="campaign c1: its filter matches no vehicle"):
        plan("c1", FLEET, TargetFilter("bms", models=frozenset({"volta-bus"})), images(ota))
    with pytest.raises(BadRequest, match="its filter matches no vehicle"):
        plan("c1", FLEET, TargetFilter("adas"), images(ota))  # no car has this ECU type


def test_campaign_lacking_an_image_for_a_selected_variant_is_refused(ota: Ota) -> None:
    with pytest.raises(
        BadRequest,
        match="no bms image for hardware variant 'bms-lfp-108s' "
        r"\(1 selected vehicles, e.g. WVOLTA00000000002\)",
    ):
        plan("c1", FLEET, TargetFilter("bms"), images(ota, "bms-nmc-96s"))


def test_campaign_that_would_change_no_vehicle_is_refused(ota: Ota) -> None:
    target = TargetFilter("bms", vins=frozenset({FLEET[1].vin}))
    with pytest.raises(BadRequest, match="every selected vehicle runs this version"):
        plan("c1", FLEET, target, images(ota, "bms-nmc-96s"))
