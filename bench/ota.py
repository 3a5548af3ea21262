"""OTA goal (first part): what the pieces built so far cost.

Not yet the goal's end-to-end run (a 10,000-vehicle campaign in the simulator): the simulator has
no ECUs yet. Measured here, each on this machine's clock:
- the director: signing one vehicle's targets, snapshot and timestamp (server CPU per assignment),
  and the metadata bytes a car downloads at a check-in that brings it one new image;
- a car's check-in when nothing is new (both repositories refreshed and fully verified by
  python-tuf, served in-process): car CPU, the server only looks files up;
- the campaign state machine: a 10,000-car campaign through its four waves, reports per second,
  and the time of the report that halts a campaign (withdrawing every car not started).

    .venv/bin/python bench/ota.py [--quick]

`--quick` signs for 200 vehicles instead of 2,000. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from volta.clock import wall_ms
from volta.ota.campaign import Campaign
from volta.ota.director import Assignment, Director
from volta.ota.ecu import Ecu
from volta.ota.image_repo import ImageRepository
from volta.ota.keyring import Keyring
from volta.ota.keys import generate
from volta.ota.primary import Primary
from volta.ota.roles import RoleKeys
from volta.ota.rollout import Phase, Policy
from volta.ota.serving import InProcessFetcher, OtaFiles

BASE = "https://ota.volta.invalid"
CARS = 10_000


def vin(i: int) -> str:
    return f"WVOLTA{i:011d}"


def repositories() -> tuple[ImageRepository, Director, OtaFiles]:
    image = ImageRepository.create(Keyring.generate(), wall_ms)
    supplier = generate()
    image.add_supplier("acme", ["bms"], RoleKeys((supplier.public_key,)), [supplier])
    director = Director.create(Keyring.generate(), wall_ms)
    return image, director, OtaFiles(image, director)


def bench_director(vehicles: int) -> dict[str, float]:
    image, director, _ = repositories()
    target = image.add_image("acme", "bms", "bms-nmc-96s", "1.1.0", b"x" * 1024)
    for i in range(vehicles):
        director.vehicle(vin(i))
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(vehicles):
        director.assign(vin(i), [Assignment(f"BMS-{i}", target)])
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    roles = director.vehicles[vin(0)]
    downloaded = sum(
        len(roles.metadata_file(name) or b"")
        for name in (
            "timestamp.json",
            f"{roles.snapshot.signed.version}.snapshot.json",
            f"{roles.targets.signed.version}.targets.json",
        )
    )
    return {
        "director_assign_cpu_ms_per_vehicle": round(cpu * 1000 / vehicles, 3),
        "director_assign_wall_ms_per_vehicle": round(wall * 1000 / vehicles, 3),
        "director_bytes_per_new_assignment": downloaded,
    }


def bench_checkin(rounds: int) -> dict[str, float]:
    image, director, files = repositories()
    director.vehicle(vin(0))
    bms = Ecu.built("BMS-0", "BMS", "bms", "bms-nmc-96s", "1.0.0")
    with tempfile.TemporaryDirectory() as tmp:
        primary = Primary(
            vin(0),
            [bms],
            Path(tmp),
            image.root.files[1],
            director.root.files[1],
            BASE,
            InProcessFetcher(files.get),
        )
        primary.check_in()  # the first check-in fetches the roots' successors, if any
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(rounds):
            director.vehicles[vin(0)].refresh_timestamp()  # a fresh timestamp each time
            primary.check_in()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "car_checkin_idle_cpu_ms": round(cpu * 1000 / rounds, 3),
        "car_checkin_idle_wall_ms": round(wall * 1000 / rounds, 3),
    }


def bench_campaign() -> dict[str, float]:
    vins = [vin(i) for i in range(CARS)]
    campaign = Campaign("c", vins, Policy(), rand=lambda: 0.5)
    reports = 0
    cpu, wall = time.process_time(), time.perf_counter()
    assigned = list(campaign.start(0).assign)
    while assigned:
        released: list[str] = []
        for v in assigned:
            for state in ("downloading", "installing", "succeeded"):
                released += campaign.report(v, state, 1).assign
                reports += 1
        assigned = released
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if campaign.phase is not Phase.COMPLETED:
        raise SystemExit(f"campaign ended {campaign.phase}, expected completed")

    halting = Campaign("h", vins, Policy(), rand=lambda: 0.5)
    first = halting.start(0).assign  # 100 cars: 5 failing is 5 %, the sixth halts
    for v in first[:5]:
        halting.report(v, "downloading", 1)
        halting.report(v, "failed", 1)
    halt_wall = time.perf_counter()
    halting.report(first[5], "downloading", 1)
    halting.report(first[5], "failed", 1)
    halt_wall = time.perf_counter() - halt_wall
    if halting.phase is not Phase.HALTED:
        raise SystemExit(f"campaign ended {halting.phase}, expected halted")
    return {
        "campaign_cars": CARS,
        "campaign_wall_s": round(wall, 3),
        "campaign_cpu_s": round(cpu, 3),
        "campaign_reports_per_cpu_s": round(reports / cpu),
        "halt_report_ms": round(halt_wall * 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 vehicles signed, not 2,000")
    args = parser.parse_args()
    result: dict[str, float] = {}
    result |= bench_director(200 if args.quick else 2000)
    result |= bench_checkin(20 if args.quick else 100)
    result |= bench_campaign()
    for key, value in result.items():
        print(f"{key:40} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
