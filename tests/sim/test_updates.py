"""Simulated cars update their ECUs with python-tuf's real client, through the campaign
service: the cars' ECUs reach the twin through the real ingest pipeline, the `CampaignRunner`
plans a campaign over that inventory (`volta.ota.inventory`), keeps it in the registry's
database and signs each car's director targets; the cars report their steps to it (one car over
HTTP, `POST /v1/vehicles/{vin}/ota/reports`, with its own token). The image fails its health
check on one BMS variant (those cars roll back), one car loses power mid-install (it keeps its
old slot), another before its new software was confirmed (it boots the old slot again), both
succeed when the campaign retries, and one sits on a slow link; the campaign completes as its
thresholds say, and the installed versions reach the twin."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.ota.otakit import BASE, ManualClock, Ota
from tests.sim.simrun import START_MS, helsinki
from volta.api import create_app
from volta.catalog import default_catalog
from volta.config import Settings
from volta.ingest.inproc import InProcessTransport
from volta.ota.campaign_store import CampaignStore
from volta.ota.inventory import fleet_from_twin
from volta.ota.primary import State
from volta.ota.rollout import Policy, Progress
from volta.ota.runner import CampaignRunner, CampaignSpec, MemoryDirector, images_of
from volta.ota.targeting import TargetFilter
from volta.platform import Platform
from volta.registry.sql import SqlRegistry
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
    for hw in set(variant.values()):
        ota.image.add_image("acme", "bms", hw, "2.5.0", IMAGE + hw.encode())
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
    # one wave, never halting, two attempts: every car tries, the bad variant's cars fail
    # twice, and the power cuts are retried
    policy = Policy(waves=(1.0,), failure_threshold=1.0, max_attempts=2, retry_cap_ms=60_000)
    steps: dict[str, list[TimedStep]] = {vin: [] for vin in fleet.vins}
    refused: list[tuple[str, str]] = []

    now = [START_MS]
    platform = Platform(Settings(data_dir=tmp_path / "data", mqtt=None), clock=lambda: now[0])
    platform.start()
    try:
        assert isinstance(platform.registry, SqlRegistry)
        tokens = {vin: platform.registry.add_vehicle(vin, None).token.token for vin in fleet.vins}
        runner = CampaignRunner(
            CampaignStore(platform.registry.database),
            MemoryDirector(ota.director),
            images_of(ota.image),
            lambda: list(fleet_from_twin(platform.twin, platform.registry, default_catalog())),
            lambda: now[0],
        )
        platform.campaigns = runner  # the API's routes reach it (its thread is not started)
        http = TestClient(create_app(platform))
        over_http = bad[0]

        def report(vin: str, step: TimedStep) -> None:
            steps[vin].append(step)
            now[0] = step.at_ms
            s = step.step
            if vin == over_http:
                body = {"campaign_id": s.campaign_id, "state": s.state.value, "reason": s.reason}
                auth = {"Authorization": f"Bearer {tokens[vin]}"}
                r = http.post(f"/v1/vehicles/{vin}/ota/reports", json=body, headers=auth)
                assert r.status_code == 200, r.text
                accepted, why = r.json()["accepted"], r.json()["reason"]
            else:
                accepted, why = runner.report(s.campaign_id, vin, s.state.value, s.reason)
            if not accepted:
                refused.append((vin, why))

        transport = InProcessTransport(platform.gateway)
        tel = Telemetry(fleet.vins, SEED, extra=ecu_signals(ecus))
        started = False
        while fleet.t < 4200:
            since = fleet.t
            out = tel.batches(fleet.step(fleet.t + 300))
            now[0] = fleet.start_ms + fleet.t * 1000
            transport.publish_many([(b.vin, encode_batch(b, "msgpack")) for b in out])
            if not started and len(list(runner.fleet())) == len(fleet.vins):
                # every car has reported its ECUs: the campaign is planned over the twin
                spec = CampaignSpec("bms-2.5.0", TargetFilter("bms"), "2.5.0", policy)
                assert len(runner.create(spec, "ops").campaign.cars) == len(fleet.vins)
                runner.act("bms-2.5.0", "start")
                started = True
            serve_updates(fleet, tel, ecus, cars, since, report)
            now[0] = fleet.start_ms + fleet.t * 1000
            runner.tick()
        twin = {vin: platform.twin.get(vin) for vin in fleet.vins}
        view = runner.progress("bms-2.5.0")
        campaign = runner.live["bms-2.5.0"].campaign
        # the runner's inventory reads back what each car runs now: a next campaign's fleet
        inventory = {v.vin: {e.serial: e.version for e in v.ecus} for v in runner.fleet()}
    finally:
        platform.stop()

    # the failures are within the threshold: it completes, the reasons kept per variant
    assert view["phase"] == "completed", view
    assert view["failures_by_variant"] == {
        "bms-b": {"health check: BMS 2.5.0 resets in a loop on bms-b": len(bad)}
    }
    assert refused == [] and view["ignored_reports"] == 0  # every step followed the last
    assert view["listed"] == 0 and all(not t.targets.signed.targets for t in (
        ota.director.vehicles[vin] for vin in fleet.vins
    ))  # fmt: skip
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
        assert inventory[vin]["BMS"] == expected and inventory[vin]["Telematics"] == "4.2.0"
