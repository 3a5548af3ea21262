"""The campaign runner: campaigns planned over the fleet, kept in the registry's database,
driving the director, taking the cars' reports (which come from cars checking in with the real
client), gated by soft consent and maintenance windows, halted by failures per hardware variant
and by the trouble-code rate on the new version."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tuf.api.metadata import TargetFile

from volta.diagnostics.reliability import Exposure, Occurrence
from volta.errors import BadRequest, Conflict
from volta.ota.campaign_store import CampaignStore
from volta.ota.director import Assignment
from volta.ota.dtc import DtcRule
from volta.ota.ecu import Ecu
from volta.ota.primary import Primary
from volta.ota.rollout import Phase, Policy, Progress
from volta.ota.runner import (
    CampaignRunner,
    CampaignSpec,
    MemoryDirector,
    UpdateMode,
    images_of,
)
from volta.ota.targeting import FleetVehicle, InstalledEcu, TargetFilter
from volta.ota.targets import custom_of
from volta.ota.windows import CHARGING, LONGITUDE, SOC, SPEED, MaintenanceWindow, Sample
from volta.registry import SQLiteRegistry

from .otakit import ManualClock, Ota, car

LFP = "bms-lfp-108s"
NMC = "bms-nmc-96s"


def bricks_on_lfp(ecu: Ecu, target: TargetFile) -> str | None:
    return "cell balancing fault" if ecu.hardware_variant == LFP else None


@dataclass
class World:
    ota: Ota
    clock: ManualClock
    registry: SQLiteRegistry
    cars: dict[str, Primary]
    fleet: list[FleetVehicle]
    states: dict[str, dict[str, Sample]] = field(default_factory=dict)
    pushed: list[tuple[str, bytes]] = field(default_factory=list)
    # the records by each ECU's software version, as diagnostics give them (records_for)
    dtc: dict[str, tuple[list[Occurrence], list[Exposure]]] = field(default_factory=dict)

    def runner(self, **kw: object) -> CampaignRunner:
        return CampaignRunner(
            CampaignStore(self.registry.database),
            MemoryDirector(self.ota.director),
            images_of(self.ota.image),
            lambda: self.fleet,
            self.clock,
            state_of=lambda vin: self.states.get(vin, {}),
            push=lambda vin, payload: self.pushed.append((vin, payload)),
            dtc=lambda ecu: self.dtc.get(ecu, ([], [])),
            **kw,  # type: ignore[arg-type]
        )

    def check_in(self, runner: CampaignRunner, vins: list[str] | None = None) -> None:
        """Each car the director lists an image for checks in once and reports its steps to
        the campaign its target names (the others would find nothing new: skipped, for time)."""
        for vin in vins or list(self.cars):
            primary = self.cars[vin]
            roles = self.ota.director.vehicles.get(vin)
            targets = roles.targets.signed.targets.values() if roles else []
            if not targets:
                continue
            campaign = {
                str(custom_of(t)["ecu_serial"]): custom_of(t)["campaign_id"] for t in targets
            }
            for step in primary.check_in():
                cid = campaign.get(step.ecu_serial)
                if cid is not None:
                    runner.report(str(cid), vin, step.state.value, step.reason)


@pytest.fixture
def world(
    ota: Ota, clock: ManualClock, tmp_path: Path, state: Callable[[str], Path]
) -> Iterator[World]:
    variants = [NMC] * 10 + [LFP] * 2
    cars, fleet = {}, []
    for i, variant in enumerate(variants):
        vin = f"WVOLTA{i:011d}"
        # the ECU is named at the director by its VSS branch (volta.ota.inventory)
        parts = [Ecu.built("BMS", "BMS", "bms", variant, "1.0.0")]
        cars[vin] = car(ota, state(vin), bricks_on_lfp, vin, parts)
        ecu = InstalledEcu("BMS", "bms", variant, "1.0.0")
        fleet.append(FleetVehicle(vin, "volta-one", "north" if i % 2 else "south", (ecu,)))
    for v in (NMC, LFP):
        ota.image.add_image("acme", "bms", v, "1.1.0", f"bms {v} 1.1.0".encode())
    registry = SQLiteRegistry.open(tmp_path / "registry", clock)
    try:
        yield World(ota, clock, registry, cars, fleet)
    finally:
        registry.close()


FAST = Policy(waves=(0.2, 1.0), success_threshold=0.9, failure_threshold=0.25)


def test_a_campaign_rolls_out_through_the_director_and_survives_a_restart(world: World) -> None:
    runner = world.runner()
    nmc = TargetFilter("bms", hardware_variants=frozenset({NMC}))
    runner.create(CampaignSpec("bms-110", nmc, "1.1.0", FAST), "ops")
    runner.act("bms-110", "start")
    first = [v for v, s in runner.live["bms-110"].slots.items() if s.listed]
    assert len(first) == 2  # 20 % of 10
    # the director lists the image for those cars only, naming the campaign and the mode
    [target] = world.ota.director.vehicles[first[0]].targets.signed.targets.values()
    assert custom_of(target)["campaign_id"] == "bms-110"
    assert custom_of(target)["update_mode"] == "forced"
    assert custom_of(target)["ecu_serial"] == "BMS"
    world.check_in(runner)
    view = runner.progress("bms-110")
    assert view["released_waves"] == 2 and view["waves"][0]["states"] == {"succeeded": 2}
    # a restart: the runner reopened on the same database carries on where it was
    again = world.runner()
    assert again.progress("bms-110") == view
    world.check_in(again)
    done = again.progress("bms-110")
    assert done["phase"] == "completed" and done["listed"] == 0
    assert sum(w["states"].get("succeeded", 0) for w in done["waves"]) == 10
    assert all(
        p.ecus["BMS"].running.version == "1.1.0"
        for v, p in world.cars.items()
        if v in again.live["bms-110"].slots
    )
    # succeeded cars are listed no more: their next check-in has nothing to do
    assert world.ota.director.vehicles[first[0]].targets.signed.targets == {}


def test_a_failing_hardware_variant_halts_it_with_the_reason_per_variant(world: World) -> None:
    runner = world.runner()
    spec = CampaignSpec(
        "bms-110",
        TargetFilter("bms"),
        "1.1.0",
        Policy(waves=(0.5, 1.0), success_threshold=0.9, failure_threshold=0.1, max_attempts=1),
    )
    runner.create(spec, "ops")
    runner.act("bms-110", "start")
    world.check_in(runner)
    world.check_in(runner)
    view = runner.progress("bms-110")
    assert view["phase"] == "halted", view
    assert "failure threshold" in view["halt_reason"]
    assert list(view["failures_by_variant"]) == [LFP]
    [(why, n)] = view["failures_by_variant"][LFP].items()
    assert "cell balancing fault" in why and n >= 1
    with pytest.raises(Conflict):
        runner.act("bms-110", "resume")


def test_refused_before_it_starts(world: World) -> None:
    runner = world.runner()
    with pytest.raises(BadRequest, match="matches no vehicle"):
        runner.create(
            CampaignSpec("a", TargetFilter("bms", models=frozenset({"x"})), "1.1.0"), "ops"
        )
    with pytest.raises(BadRequest, match=r"no bms image of version 9\.0\.0"):
        runner.create(CampaignSpec("b", TargetFilter("bms"), "9.0.0"), "ops")
    world.ota.image.add_image("acme", "bms", NMC, "1.2.0", b"nmc only")
    with pytest.raises(BadRequest, match=f"no bms image for hardware variant '{LFP}'"):
        runner.create(CampaignSpec("c", TargetFilter("bms"), "1.2.0"), "ops")
    assert runner.live == {} and world.runner().live == {}  # nothing stored


def test_reports_out_of_order_or_for_no_campaign_are_recorded_and_ignored(world: World) -> None:
    runner = world.runner()
    runner.create(CampaignSpec("bms-110", TargetFilter("bms"), "1.1.0", FAST), "ops")
    runner.act("bms-110", "start")
    vin = next(v for v, s in runner.live["bms-110"].slots.items() if s.listed)
    assert runner.report("nope", vin, "downloading") == (False, "unknown campaign")
    accepted, why = runner.report("bms-110", vin, "succeeded")
    assert not accepted and why == "'succeeded' does not follow 'assigned'"
    assert runner.report("bms-110", "WVOLTA99999999999", "downloading")[0] is False
    assert runner.report("bms-110", vin, "downloading") == (True, "")
    store = runner.store
    assert store is not None
    assert [e.reason for e in store.ignored("bms-110")] == [
        "the vehicle is not in this campaign",
        "'succeeded' does not follow 'assigned'",
    ]
    assert [e.reason for e in store.ignored("nope")] == ["unknown campaign"]


def test_an_install_that_never_reports_times_out_and_is_retried_after_a_back_off(
    world: World,
) -> None:
    runner = world.runner()
    policy = Policy(
        waves=(1.0,), failure_threshold=1.0, install_timeout_ms=60_000, retry_base_ms=30_000
    )
    runner.create(
        CampaignSpec(
            "bms-110", TargetFilter("bms", vins=frozenset({"WVOLTA00000000000"})), "1.1.0", policy
        ),
        "ops",
    )
    runner.act("bms-110", "start")
    vin = "WVOLTA00000000000"
    runner.report("bms-110", vin, "downloading")
    world.clock.now_ms += 61_000
    runner.tick()
    car = runner.live["bms-110"].campaign.cars[vin]
    assert car.state is Progress.RETRY_WAIT and "install timeout" in car.reason
    assert not runner.live["bms-110"].slots[vin].listed
    assert world.ota.director.vehicles[vin].targets.signed.targets == {}
    world.clock.now_ms += 60_000  # past the jittered back-off (at most 30 s here)
    runner.tick()
    assert runner.live["bms-110"].slots[vin].listed
    world.check_in(runner, [vin])
    assert runner.progress("bms-110")["phase"] == "completed"


def _parked(now_ms: int, soc: float = 80.0, charging: bool = False) -> dict[str, Sample]:
    return {
        SPEED: (now_ms, 0.0),
        SOC: (now_ms, soc),
        CHARGING: (now_ms, charging),
        LONGITUDE: (now_ms, 0.0),
    }


def test_soft_updates_wait_for_the_driver_and_windows_for_the_car(world: World) -> None:
    runner = world.runner()
    one, two = "WVOLTA00000000000", "WVOLTA00000000001"
    soft = CampaignSpec(
        "soft",
        TargetFilter("bms", vins=frozenset({one})),
        "1.1.0",
        Policy(waves=(1.0,)),
        UpdateMode.SOFT,
    )
    runner.create(soft, "ops")
    runner.act("soft", "start")
    [pending] = runner.for_vehicle(one)
    assert (
        pending["consent_needed"] and pending["waiting_for"] == "waiting for the driver's consent"
    )
    assert world.ota.director.vehicles[one].targets.signed.targets == {}
    assert world.pushed == []
    runner.consent("soft", one)
    assert runner.live["soft"].slots[one].listed and [v for v, _ in world.pushed] == [one]
    runner.create(CampaignSpec("f", TargetFilter("bms", vins=frozenset({two})), "1.1.0"), "o")
    with pytest.raises(Conflict, match="forced: no consent"):
        runner.consent("f", two)
    window = MaintenanceWindow(min_soc_pct=30, charging_above_pct=50)
    spec = CampaignSpec(
        "win",
        TargetFilter("bms", vins=frozenset({"WVOLTA00000000002"})),
        "1.1.0",
        Policy(waves=(1.0,)),
        window=window,
    )
    runner.create(spec, "ops")
    runner.act("win", "start")
    vin = "WVOLTA00000000002"
    assert str(runner.for_vehicle(vin)[0]["waiting_for"]).startswith(
        "maintenance window closed: state of charge unknown"
    )  # no state of the car: not safe
    world.states[vin] = _parked(world.clock.now_ms, soc=40, charging=True)
    runner.tick()
    assert runner.for_vehicle(vin)[0]["waiting_for"] == (
        "maintenance window closed: charging at 40 %, not above 50 %"
    )
    world.states[vin] = _parked(world.clock.now_ms, soc=60, charging=True)
    runner.tick()
    assert runner.live["win"].slots[vin].listed


def test_the_trouble_code_rate_on_the_new_version_halts_it(world: World) -> None:
    runner = world.runner(dtc_rule=DtcRule(max_ratio=1.5, min_vehicle_days=5, min_occurrences=3))
    runner.create(CampaignSpec("bms-110", TargetFilter("bms"), "1.1.0", FAST), "ops")
    runner.act("bms-110", "start")
    vins = list(world.cars)
    # before: 12 cars x 10 days on 1.0.0 with 2 codes; after: 2 cars x 5 days on 1.1.0, 4 codes
    exposure = [Exposure(v, "volta-one", "1.0.0", NMC, frozenset(range(10)), 0.0) for v in vins]
    exposure += [
        Exposure(v, "volta-one", "1.1.0", NMC, frozenset(range(10, 15)), 0.0) for v in vins[:2]
    ]
    occ = [Occurrence(vins[0], "P0A80", 1, "volta-one", "1.0.0", NMC)] * 2
    world.dtc["BMS"] = (occ, exposure)
    runner.tick()
    assert runner.progress("bms-110")["phase"] == "running"  # 2 codes on 1.1.0: too few
    world.dtc["BMS"] = (
        occ + [Occurrence(vins[0], "P0A80", 2, "volta-one", "1.1.0", NMC)] * 4,
        exposure,
    )
    runner.tick()
    view = runner.progress("bms-110")
    assert view["phase"] == "halted" and "trouble codes on 1.1.0" in view["halt_reason"], view
    assert view["listed"] == 0 or all(
        runner.live["bms-110"].campaign.cars[v].state in (Progress.DOWNLOADING, Progress.INSTALLING)
        for v, s in runner.live["bms-110"].slots.items()
        if s.listed
    )


def test_a_telematics_campaign_halts_on_the_telematics_versions_code_rate(world: World) -> None:
    tcu = "tcu-lte-a"
    world.ota.image.add_image("acme", "tcu", tcu, "5.1.0", b"tcu 5.1.0")
    telematics = InstalledEcu("Telematics", "tcu", tcu, "5.0.0")
    world.fleet = [
        FleetVehicle(v.vin, v.model, v.region, (*v.ecus, telematics)) for v in world.fleet
    ]
    runner = world.runner(dtc_rule=DtcRule(max_ratio=1.5, min_vehicle_days=5, min_occurrences=3))
    runner.create(CampaignSpec("tcu-510", TargetFilter("tcu"), "5.1.0", FAST), "ops")
    runner.act("tcu-510", "start")
    vins = list(world.cars)
    exposure = [Exposure(v, "volta-one", "5.0.0", tcu, frozenset(range(10)), 0.0) for v in vins]
    exposure += [
        Exposure(v, "volta-one", "5.1.0", tcu, frozenset(range(10, 15)), 0.0) for v in vins[:2]
    ]
    codes = [Occurrence(vins[0], "U0100", 2, "volta-one", "5.1.0", tcu)] * 4
    # The same records by the BMS's version (all on 1.0.0) say nothing about 5.1.0: no halt.
    world.dtc["BMS"] = (codes, exposure)
    runner.tick()
    assert runner.progress("tcu-510")["phase"] == "running"
    world.dtc["Telematics"] = (codes, exposure)
    runner.tick()
    view = runner.progress("tcu-510")
    assert view["phase"] == "halted" and "trouble codes on 5.1.0" in view["halt_reason"], view


def test_roll_back_brings_the_cars_that_installed_it_to_a_newer_old_version(world: World) -> None:
    runner = world.runner()
    nmc = TargetFilter("bms", hardware_variants=frozenset({NMC}))
    runner.create(CampaignSpec("bms-110", nmc, "1.1.0", Policy(waves=(0.2, 1.0))), "ops")
    runner.act("bms-110", "start")
    world.check_in(runner)
    runner.act("bms-110", "pause")
    with pytest.raises(BadRequest, match=r"not newer than 1\.1\.0"):
        runner.rollback("bms-110", "1.0.0", "ops")
    world.ota.image.add_image("acme", "bms", NMC, "1.1.1", b"the 1.0.0 software as 1.1.1")
    back = runner.rollback("bms-110", "1.1.1", "ops")
    assert runner.progress("bms-110")["phase"] == "cancelled"
    assert back.definition.rollback_of == "bms-110" and back.campaign.phase is Phase.RUNNING
    assert set(back.slots) == {
        v for v, c in runner.live["bms-110"].campaign.cars.items() if c.state is Progress.SUCCEEDED
    }
    world.check_in(runner, list(back.slots))
    assert runner.progress("bms-110-rollback")["phase"] == "completed"
    assert all(world.cars[v].ecus["BMS"].running.version == "1.1.1" for v in back.slots)


def test_a_halted_campaign_still_times_out_the_installs_it_had_started(world: World) -> None:
    runner = world.runner()
    policy = Policy(waves=(1.0,), failure_threshold=0.0, install_timeout_ms=60_000)
    runner.create(CampaignSpec("bms-110", TargetFilter("bms"), "1.1.0", policy), "ops")
    runner.act("bms-110", "start")
    one, two = list(runner.live["bms-110"].slots)[:2]
    runner.report("bms-110", one, "downloading")
    runner.report("bms-110", two, "downloading")
    runner.report("bms-110", two, "failed", "image refused")  # halts: threshold 0
    assert runner.progress("bms-110")["phase"] == "halted"
    assert runner.live["bms-110"].slots[one].listed  # still downloading
    world.clock.now_ms += 61_000
    runner.tick()
    car = runner.live["bms-110"].campaign.cars[one]
    assert car.state is Progress.FAILED and "install timeout" in car.reason
    assert runner.progress("bms-110")["listed"] == 0
    assert world.ota.director.vehicles[one].targets.signed.targets == {}


class Flaky(MemoryDirector):
    """A director whose signing fails while `down` (a key folder gone, a full disk)."""

    down = True

    def publish(self, targets: Mapping[str, Sequence[Assignment]]) -> None:
        if self.down:
            raise OSError("no space left on device")
        super().publish(targets)


def test_director_targets_that_failed_to_sign_are_signed_at_the_next_tick(world: World) -> None:
    flaky = Flaky(world.ota.director)
    runner = CampaignRunner(
        None,
        flaky,
        images_of(world.ota.image),
        lambda: world.fleet,
        world.clock,
        push=lambda vin, p: world.pushed.append((vin, p)),
    )
    vin = "WVOLTA00000000000"
    spec = CampaignSpec(
        "one", TargetFilter("bms", vins=frozenset({vin})), "1.1.0", Policy(waves=(1.0,))
    )
    runner.create(spec, "ops")
    runner.act("one", "start")  # the action counts; the car is not told of an unsigned image
    assert runner.progress("one")["phase"] == "running" and world.pushed == []
    assert vin not in world.ota.director.vehicles or not (
        world.ota.director.vehicles[vin].targets.signed.targets
    )
    runner.tick()  # still down: nothing lost
    flaky.down = False
    runner.tick()
    [target] = world.ota.director.vehicles[vin].targets.signed.targets.values()
    assert custom_of(target)["campaign_id"] == "one"


def test_download_only_cars_keep_the_image_and_a_later_campaign_installs_it(
    world: World,
) -> None:
    runner = world.runner()
    nmc = TargetFilter("bms", hardware_variants=frozenset({NMC}))
    one_wave = Policy(waves=(1.0,))
    runner.create(CampaignSpec("dl", nmc, "1.1.0", one_wave, UpdateMode.DOWNLOAD_ONLY), "ops")
    runner.act("dl", "start")
    world.check_in(runner)
    view = runner.progress("dl")
    # 'downloaded' ends a download-only car; nothing was installed
    assert view["phase"] == "completed" and view["waves"][0]["states"] == {"succeeded": 10}
    assert view["ignored_reports"] == 0
    assert {p.ecus["BMS"].running.version for p in world.cars.values()} == {"1.0.0"}
    runner.create(CampaignSpec("install", nmc, "1.1.0", one_wave), "ops")
    runner.act("install", "start")
    vin = next(v for v, s in runner.live["install"].slots.items() if s.listed)
    assert runner.report("install", vin, "downloading") == (True, "")
    # a car of a forced campaign does not end at 'downloaded': it must install
    assert runner.report("install", vin, "downloaded") == (
        False,
        "'downloaded' in a forced campaign: the car must install the image",
    )
    world.check_in(runner, [v for v in world.cars if v != vin])
    nmc_cars = [v for v in runner.live["install"].slots if v != vin]
    assert {world.cars[v].ecus["BMS"].running.version for v in nmc_cars} == {"1.1.0"}
