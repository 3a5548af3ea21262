"""The pieces together: a campaign planned over the fleet drives the director, cars check in
with the real client, their reports drive the campaign, and an image that fails on one hardware
variant halts it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tuf.api.metadata import TargetFile

from volta.ota.campaign import Campaign
from volta.ota.director import Assignment
from volta.ota.ecu import Ecu
from volta.ota.primary import Primary
from volta.ota.rollout import Effects, Phase, Policy, Progress
from volta.ota.targeting import FleetVehicle, InstalledEcu, TargetFilter, plan

from .otakit import Ota, car, ecus

T0 = 1_800_000_000_000


def fleet(ota: Ota, state: Callable[[str], Path], variants: list[str]) -> dict[str, Primary]:
    def bricks_on_lfp(ecu: Ecu, target: TargetFile) -> str | None:
        return "cell balancing fault" if ecu.hardware_variant == "bms-lfp-108s" else None

    cars = {}
    for i, variant in enumerate(variants):
        vin = f"WVOLTA{i:011d}"
        parts = ecus()
        parts[1] = Ecu.built(f"BMS-{i:04d}", "BMS", "bms", variant, "1.0.0")
        cars[vin] = car(ota, state(vin), bricks_on_lfp, vin, parts)
    return cars


def campaign_for(
    ota: Ota, cars: dict[str, Primary], variants: set[str], policy: Policy
) -> tuple[Campaign, dict[str, Assignment]]:
    """Release 1.1.0 for `variants`, target every car's BMS, and plan the campaign."""
    images = {
        v: ota.image.add_image("acme", "bms", v, "1.1.0", f"bms {v}".encode()) for v in variants
    }
    fleet = [
        FleetVehicle(
            vin,
            "volta-one",
            "eu",
            tuple(
                InstalledEcu(e.serial, e.ecu_type, e.hardware_variant, e.running.version or "")
                for e in primary.ecus.values()
            ),
        )
        for vin, primary in cars.items()
    ]
    assignments = plan("bms-1.1.0", fleet, TargetFilter("bms"), images)
    return Campaign("bms-1.1.0", list(assignments), policy), assignments


def run(
    ota: Ota, campaign: Campaign, cars: dict[str, Primary], assignments: dict[str, Assignment]
) -> None:
    """Apply the campaign's effects to the director and let every car check in, until quiet."""

    def apply(effects: Effects) -> None:
        for vin in effects.withdraw:
            ota.director.assign(vin, [])
        for vin in effects.assign:
            ota.director.assign(vin, [assignments[vin]])

    apply(campaign.start(T0))
    for _ in range(10):
        before = dict(campaign.cars)
        for vin, primary in cars.items():
            for step in primary.check_in():
                apply(campaign.report(vin, step.state.value, T0, step.reason))
        if campaign.cars == before:
            return


def test_campaign_completes_when_every_car_installs(ota: Ota, state: Callable[[str], Path]) -> None:
    cars = fleet(ota, state, ["bms-nmc-96s"] * 12)
    campaign, assignments = campaign_for(ota, cars, {"bms-nmc-96s"}, Policy(waves=(0.25, 0.5, 1.0)))
    run(ota, campaign, cars, assignments)
    assert campaign.phase is Phase.COMPLETED
    assert campaign.counts() == {Progress.SUCCEEDED: 12}
    assert {p.ecus[f"BMS-{i:04d}"].running.version for i, p in enumerate(cars.values())} == {
        "1.1.0"
    }


def test_image_failing_on_one_variant_halts_the_campaign_and_those_cars_roll_back(
    ota: Ota, state: Callable[[str], Path]
) -> None:
    variants = ["bms-nmc-96s"] * 3 + ["bms-lfp-108s"] + ["bms-nmc-96s"] * 4 + ["bms-lfp-108s"] * 4
    cars = fleet(ota, state, variants)
    policy = Policy(waves=(0.25, 0.5, 1.0), failure_threshold=0.1)
    campaign, assignments = campaign_for(ota, cars, set(variants), policy)
    run(ota, campaign, cars, assignments)
    assert campaign.phase is Phase.HALTED
    # wave 1 (cars 0-2, NMC) succeeded; in wave 2 car 3 (LFP) failed its health check
    assert campaign.halt_reason == (
        "wave 2: 1 of 6 vehicles failing, above the failure threshold of 10%"
    )
    failed = campaign.cars["WVOLTA00000000003"]
    assert (failed.state, failed.reason) == (Progress.FAILED, "health check: cell balancing fault")
    by_variant: dict[str, set[str | None]] = {}
    for i, primary in enumerate(cars.values()):
        bms = primary.ecus[f"BMS-{i:04d}"]
        by_variant.setdefault(bms.hardware_variant, set()).add(bms.running.version)
    assert by_variant == {"bms-nmc-96s": {"1.0.0", "1.1.0"}, "bms-lfp-108s": {"1.0.0"}}
    # cars 4 and 5 were withdrawn before they checked in, wave 3 never released
    assert sum(p.ecus[s].active == "B" for p in cars.values() for s in p.ecus) == 3
    assert campaign.counts() == {
        Progress.SUCCEEDED: 3,
        Progress.FAILED: 1,
        Progress.WITHDRAWN: 2,
    }
