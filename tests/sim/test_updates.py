"""Simulated cars update their ECUs with python-tuf's real client: a campaign to a handful of
cars of the fleet simulator, where the image fails its health check on one BMS variant (those
cars roll back), one car loses power mid-install (it keeps its old slot), another before its new
software was confirmed (it boots the old slot again), both succeed when the campaign retries,
and one sits on a slow link; the installed versions reach the twin through
the real ingest pipeline."""

from __future__ import annotations

from pathlib import Path

from tests.ota.otakit import BASE, ManualClock, Ota
from tests.sim.simrun import START_MS, helsinki
from volta.catalog import default_catalog
from volta.config import Settings
from volta.ingest.inproc import InProcessTransport
from volta.ota.campaign import Campaign
from volta.ota.primary import State
from volta.ota.rollout import Effects, Policy, Progress
from volta.ota.targeting import FleetVehicle, InstalledEcu, TargetFilter, plan
from volta.platform import Platform
from volta.sim.ecus import FleetEcus, ecu_signals
from volta.sim.faults import FaultRates
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.senders import encode_batch
from volta.sim.signals import Telemetry
from volta.sim.updates import SimCar, TimedStep, UpdateFaults, serve_updates

SEED = 4
IMAGE = b"\x5a" * 40_000


def test_campaign_to_simulated_cars_rolls_back_the_failing_variant(tmp_path: Path) -> None:
    config = FleetConfig(vehicles=6, seed=SEED, start_ms=START_MS, faults=FaultRates(0.0, 0.0))
    fleet = Fleet(config, helsinki())
    ecus = FleetEcus(fleet.vins, SEED, fleet.state.faults.parts)
    variant = {vin: ecus.ecu(v, "BMS").hardware_variant for v, vin in enumerate(fleet.vins)}
    before = {vin: ecus.ecu(v, "BMS").running.version for v, vin in enumerate(fleet.vins)}
    good = [vin for vin in fleet.vins if variant[vin] == "bms-a"]
    bad = [vin for vin in fleet.vins if variant[vin] == "bms-b"]
    assert len(good) >= 3 and bad  # this seed's fleet has both variants

    ota = Ota(ManualClock())
    images = {
        v: ota.image.add_image("acme", "bms", v, "2.5.0", IMAGE + v.encode())
        for v in set(variant.values())
    }
    faults = UpdateFaults(
        failing=frozenset({("bms", "bms-b", "2.5.0")}),
        power_loss=frozenset({good[0]}),
        power_loss_unconfirmed=frozenset({good[2]}),
        slow=frozenset({good[1]}),
    )
    cars = []
    for v, vin in enumerate(fleet.vins):
        ota.director.vehicle(vin)
        cars.append(
            SimCar(vin, ecus.of(v), tmp_path / vin, ota.image_root(), ota.director_root(),
                   BASE, ota.fetcher, faults)
        )  # fmt: skip
    fleet_view = [
        FleetVehicle(vin, "volta-one", "eu", tuple(
            InstalledEcu(e.serial, e.ecu_type, e.hardware_variant, e.running.version or "")
            for e in ecus.of(v)
        ))
        for v, vin in enumerate(fleet.vins)
    ]  # fmt: skip
    assignments = plan("bms-2.5.0", fleet_view, TargetFilter("bms"), images)
    # one wave, never halting, two attempts: every car tries, and the power cut is retried
    policy = Policy(waves=(1.0,), failure_threshold=1.0, max_attempts=2, retry_cap_ms=60_000)
    campaign = Campaign("bms-2.5.0", list(assignments), policy, rand=lambda: 0.0)

    def apply(effects: Effects) -> None:
        for vin in effects.withdraw:
            ota.director.assign(vin, [])
        for vin in effects.assign:
            ota.director.assign(vin, [assignments[vin]])

    steps: dict[str, list[TimedStep]] = {vin: [] for vin in fleet.vins}

    def report(vin: str, step: TimedStep) -> None:
        steps[vin].append(step)
        apply(campaign.report(vin, step.step.state.value, step.at_ms, step.step.reason))

    now = [START_MS]
    platform = Platform(Settings(data_dir=tmp_path / "data", mqtt=None), clock=lambda: now[0])
    platform.start()
    try:
        for vin in fleet.vins:
            platform.registry.add_vehicle(vin, None)
        transport = InProcessTransport(platform.gateway)
        tel = Telemetry(fleet.vins, SEED, extra=ecu_signals(ecus))
        apply(campaign.start(START_MS))
        while fleet.t < 3600:
            since = fleet.t
            out = tel.batches(fleet.step(fleet.t + 300))
            now[0] = fleet.start_ms + fleet.t * 1000
            transport.publish_many([(b.vin, encode_batch(b, "msgpack")) for b in out])
            serve_updates(fleet, tel, ecus, cars, since, report)
            apply(campaign.tick(now[0]))
        twin = {vin: platform.twin.get(vin) for vin in fleet.vins}
    finally:
        platform.stop()

    for vin in good:
        assert campaign.cars[vin].state is Progress.SUCCEEDED
        bms = ecus.ecu(fleet.vins.index(vin), "BMS")
        assert (bms.running.version, bms.active) == ("2.5.0", "B")
    for vin in bad:
        car = campaign.cars[vin]
        assert (car.state, car.attempts) == (Progress.FAILED, 2)
        assert car.reason == "health check: BMS 2.5.0 resets in a loop on bms-b"
        bms = ecus.ecu(fleet.vins.index(vin), "BMS")
        assert (bms.running.version, bms.active) == (before[vin], "A")
        assert [s.step.state for s in steps[vin]][-2:] == [State.FAILED, State.ROLLED_BACK]
    # the power cut: a failed attempt reported at the next boot, slot A kept, then success
    cut = steps[good[0]]
    assert cut[2].step.state is State.FAILED and cut[2].step.reason.startswith("power lost")
    assert campaign.cars[good[0]].attempts == 2
    # the power cut after the switch: back on the confirmed slot at the next boot, then success
    unconfirmed = [s.step.state for s in steps[good[2]]]
    assert unconfirmed == [State.DOWNLOADING, State.INSTALLING, State.FAILED, State.ROLLED_BACK,
                           State.DOWNLOADING, State.INSTALLING, State.SUCCEEDED]  # fmt: skip
    assert steps[good[2]][3].step.version == before[good[2]]
    assert campaign.cars[good[2]].attempts == 2
    # the slow link (64 kbit/s) brings the 40 kB image in about 5 s, not milliseconds
    slow = {s.step.state: s.at_ms for s in steps[good[1]]}
    assert slow[State.INSTALLING] - slow[State.DOWNLOADING] >= 4_000
    # what the car runs arrives in the twin as the Volta overlay's signals
    catalog = default_catalog()

    def latest(vin: str, path: str) -> object:
        signal = catalog.get(path)
        value = twin[vin][signal.id]
        return signal.from_stored(value.num, value.txt)

    for vin in fleet.vins:
        expected = "2.5.0" if vin in good else before[vin]
        assert latest(vin, "Vehicle.OTA.BMS.SoftwareVersion") == expected, vin
        assert latest(vin, "Vehicle.OTA.BMS.ActiveSlot") == ("B" if vin in good else "A")
        assert latest(vin, "Vehicle.OTA.Telematics.SoftwareVersion") == "4.2.0"
