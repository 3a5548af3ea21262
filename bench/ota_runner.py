"""OTA campaigns as a service: what the runner costs the server per car.

A campaign over N cars (one BMS each, two hardware variants) kept in the SQLite registry's
database, its director targets signed in a served folder with the online keys (`FolderDirector`,
as `volta serve` runs it). Measured, in process CPU time (the machine is shared; wall time is
given beside it):
- creating the campaign (planning over the fleet and writing every car);
- each car's three reports (downloading, installing, succeeded) with the runner's writes: the
  campaign's store row and the car's, and the director targets signed anew when a car is listed
  or unlisted; the waves advance on their own;
- a tick of the whole running campaign (timeouts, retries, gates of every car).

    .venv/bin/python bench/ota_runner.py [--quick]

`--quick` runs 300 cars instead of 2,000. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from volta.clock import wall_ms
from volta.ota.campaign_store import CampaignStore
from volta.ota.director import Director
from volta.ota.image_repo import ImageRepository
from volta.ota.keyring import create_keys
from volta.ota.keys import KeyStore, generate
from volta.ota.roles import RoleKeys
from volta.ota.rollout import Policy
from volta.ota.runner import CampaignRunner, CampaignSpec, FolderDirector, images_in_folder
from volta.ota.storage import save_director, save_image_repository
from volta.ota.targeting import FleetVehicle, InstalledEcu, TargetFilter
from volta.registry import SQLiteRegistry

VARIANTS = ("bms-nmc-96s", "bms-lfp-108s")


def run(cars: int, tmp: Path) -> dict[str, float | int]:
    keys, folder = tmp / "keys", tmp / "ota"
    image = ImageRepository.create(create_keys(KeyStore(keys), "image"), wall_ms)
    supplier = generate()
    image.add_supplier("acme", ["bms"], RoleKeys((supplier.public_key,)), [supplier])
    for v in VARIANTS:
        image.add_image("acme", "bms", v, "1.1.0", f"bms {v} 1.1.0".encode() * 64)
    save_image_repository(image, folder)
    save_director(Director.create(create_keys(KeyStore(keys), "director"), wall_ms), folder)
    fleet = [
        FleetVehicle(
            f"WVOLTA{i:011d}",
            "volta-one",
            "eu",
            (InstalledEcu("BMS", "bms", VARIANTS[i % 2], "1.0.0"),),
        )
        for i in range(cars)
    ]
    registry = SQLiteRegistry.open(tmp / "data", wall_ms)
    runner = CampaignRunner(
        CampaignStore(registry.database),
        FolderDirector(folder, keys, wall_ms),
        images_in_folder(folder),
        lambda: fleet,
        wall_ms,
    )
    policy = Policy(waves=(0.01, 0.1, 0.5, 1.0), success_threshold=0.9)
    w0, c0 = time.perf_counter(), time.process_time()
    stored = runner.create(CampaignSpec("bms-110", TargetFilter("bms"), "1.1.0", policy), "bench")
    create_cpu, create_wall = time.process_time() - c0, time.perf_counter() - w0
    w0, c0 = time.perf_counter(), time.process_time()
    runner.act("bms-110", "start")
    t0 = time.process_time()
    runner.tick()  # every car of the campaign looked at: timeouts, retries, gates
    tick_cpu = time.process_time() - t0
    reports = 0
    while True:
        listed = [v for v, s in stored.slots.items() if s.listed]
        if not listed:
            break
        for vin in listed:
            for state in ("downloading", "installing", "succeeded"):
                accepted, why = runner.report("bms-110", vin, state)
                assert accepted, why
                reports += 1
    run_cpu, run_wall = time.process_time() - c0, time.perf_counter() - w0
    view = runner.progress("bms-110")
    assert view["phase"] == "completed", view["phase"]
    registry.close()
    return {
        "cars": cars,
        "reports": reports,
        "create_cpu_ms_per_car": round(1000 * create_cpu / cars, 3),
        "create_wall_s": round(create_wall, 2),
        "cpu_ms_per_car_through_campaign": round(1000 * run_cpu / cars, 2),
        "cpu_ms_per_report": round(1000 * run_cpu / reports, 3),
        "wall_ms_per_report": round(1000 * run_wall / reports, 3),
        "tick_cpu_ms": round(1000 * tick_cpu, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 cars, not 2,000")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = run(300 if args.quick else 2000, Path(tmp))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
