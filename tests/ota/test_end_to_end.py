"""The pieces together: a campaign drives the director, cars check in with the real client,
their reports drive the campaign, and an image that fails on one hardware variant halts it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tuf.api.metadata import TargetFile

from volta.ota.campaign import Campaign
from volta.ota.director import Assignment
from volta.ota.ecu import Ecu
from volta.ota.primary import Primary
from volta.ota.rollout import Effects, Phase, Policy, Progress

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


def run(
    ota: Ota, campaign: Campaign, cars: dict[str, Primary], images: dict[str, TargetFile]
) -> None:
    """Apply the campaign's effects to the director and let every car check in, until quiet."""

    def apply(effects: Effects) -> None:
        for vin in effects.withdraw:
            ota.director.assign(vin, [])
        for vin in effects.assign:
            bms = cars[vin].ecus
            serial = next(s for s, e in bms.items() if e.ecu_type == "bms")
            ota.director.assign(vin, [Assignment(serial, images[bms[serial].hardware_variant])])

    apply(campaign.start(T0))
    for _ in range(10):
        before = dict(campaign.cars)
        for vin, primary in cars.items():
            for step in primary.check_in():
                apply(campaign.report(vin, step.state.value, T0, step.reason))
        if campaign.cars == before:
            return


def release(ota: Ota, variants: set[str]) -> dict[str, TargetFile]:
    return {
        v: ota.image.add_image("acme", "bms", v, "1.1.0", f"bms {v}".encode()) for v in variants
    }


def test_campaign_completes_when_every_car_installs(ota: Ota, state: Callable[[str], Path]) -> None:
    cars = fleet(ota, state, ["bms-nmc-96s"] * 12)
    campaign = Campaign("bms-1.1.0", list(cars), Policy(waves=(0.25, 0.5, 1.0)))
    run(ota, campaign, cars, release(ota, {"bms-nmc-96s"}))
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
    campaign = Campaign("bms-1.1.0", list(cars), policy)
    run(ota, campaign, cars, release(ota, set(variants)))
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
