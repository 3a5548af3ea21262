"""OTA goal: a 10,000-vehicle campaign end to end in the simulator, and what each piece costs.

The end-to-end run (`bench_fleet`): a simulated fleet (`volta.sim`: VINs, models and the BMS
variants of the fleet engine, every car's four ECUs from `volta.sim.ecus`) checks in every 10
minutes, each car at its own second. A campaign updates every car's telematics unit to 4.3.0
in waves of 1 % -> 10 % -> 50 % -> 100 %; the 4.3.0 image fails its health check on the
`tcu-5g` hardware variant (the ECU rolls back) and the campaign halts itself. The operator
cancels it and releases 4.3.1, which fixes the variant; that campaign runs through all four
waves to every car. Both campaigns go through the campaign service, `CampaignRunner`: created
(planned over the fleet's ECUs as its inventory gives them), started, ticked every 5 minutes,
kept in a SQLite registry database (every report written through), signing each car's director
targets (`MemoryDirector`); each car reports its steps to it with the campaign id its director
target names. Server and cars run in this one process (the repositories in process,
`InProcessFetcher`); every car that has something new
runs the full `volta.sim.updates.SimCar` (python-tuf's `Updater`: both repositories verified,
agreement, download, install, health check, rollback). A car with nothing new is not run at
its idle check-ins: its cost is measured on the HTTP sample.

The HTTP sample (`bench_http`): a few cars run the same `Primary` over real HTTP against Volta's
API (`GET /v1/ota/...`, uvicorn in a child process, each car with its own vehicle token):
server CPU per check-in (the child's CPU time from /proc), with an update and idle, and the
metadata bytes a car fetches. "10,000 cars every 10 minutes on one core" is 16.7 check-ins a
second times that CPU.

Also measured as before: the director signing one vehicle's metadata, a car's idle check-in
in process, and the campaign state machine alone (10,000 cars through four waves, and the
report that halts a campaign).

    .venv/bin/python bench/ota.py [--quick]

`--quick`: 100 cars end to end, 5 over HTTP, 200 vehicles signed. The last line of stdout is
one JSON object. Wall times on a shared machine are noisy: CPU times are given beside them.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from volta.clock import wall_ms
from volta.ota.campaign import Campaign
from volta.ota.campaign_store import CampaignStore
from volta.ota.director import Assignment, Director
from volta.ota.ecu import Ecu
from volta.ota.fetcher import HttpFetcher
from volta.ota.image_repo import ImageRepository
from volta.ota.keyring import Keyring
from volta.ota.keys import generate
from volta.ota.primary import Primary
from volta.ota.roles import RoleKeys
from volta.ota.rollout import Phase, Policy, Progress
from volta.ota.runner import CampaignRunner, CampaignSpec, MemoryDirector, images_of
from volta.ota.serving import InProcessFetcher, OtaFiles
from volta.ota.storage import save_director, save_image_repository
from volta.ota.targeting import FleetVehicle, InstalledEcu, TargetFilter
from volta.registry import SQLiteRegistry
from volta.sim.ecus import FleetEcus
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.updates import CountingFetcher, SimCar, TimedStep, UpdateFaults, check_in_phase
from volta.sim.vin import make_vin

BASE = "https://ota.volta.invalid"
CARS = 10_000


def vin(i: int) -> str:
    return f"WVOLTA{i:011d}"


def repositories() -> tuple[ImageRepository, Director, OtaFiles]:
    image = ImageRepository.create(Keyring.generate(), wall_ms)
    supplier = generate()
    image.add_supplier("acme", ["bms", "tcu"], RoleKeys((supplier.public_key,)), [supplier])
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


# -- the end-to-end run ---------------------------------------------------------------------

SEED = 11
PERIOD_S = 600  # every car checks in every 10 minutes
TICK_S = 300  # the campaign runner's clock tick (retries, install timeouts)
IMAGE_BYTES = 256 * 1024
SIM_START_MS = 1_767_225_600_000
VARIANTS = ("tcu-lte", "tcu-5g")
FAILING = ("tcu", "tcu-5g", "4.3.0")


def image_data(variant: str, version: str) -> bytes:
    return hashlib.sha256(f"{variant} {version}".encode()).digest() * (IMAGE_BYTES // 32)


class Server:
    """The OTA service in process: files by path and the `CampaignRunner` (its store on SQLite,
    the director in memory); its CPU time counted apart from the cars' (the process's CPU
    inside its calls). The director sink notes which cars' targets the runner re-signed: those
    cars have something new at their next check-in."""

    def __init__(self, files: OtaFiles, runner: CampaignRunner, sink: NotingDirector) -> None:
        self.files, self.runner, self.sink = files, runner, sink
        self.cpu_s = 0.0
        self.requests = 0

    def get(self, path: str) -> bytes | None:
        t = time.process_time()
        data = self.files.get(path)
        self.cpu_s += time.process_time() - t
        self.requests += 1
        return data

    def timed(self, fn: Callable[..., object], *args: object) -> set[str]:
        """Call the runner; the cars whose director targets changed."""
        t = time.process_time()
        fn(*args)
        self.cpu_s += time.process_time() - t
        changed, self.sink.changed = self.sink.changed, set()
        return changed


class NotingDirector(MemoryDirector):
    """`MemoryDirector`, noting the cars it signed new targets for."""

    def __init__(self, director: Director) -> None:
        super().__init__(director)
        self.changed: set[str] = set()

    def publish(self, targets: Mapping[str, Sequence[Assignment]]) -> None:
        super().publish(targets)
        self.changed.update(targets)


@dataclass
class Outcome:
    """What one campaign did in the simulation."""

    check_ins: int = 0  # full check-ins run (cars with something new)
    reports: int = 0
    sim_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    first_failure_to_halt_s: float = 0.0  # simulated: the first failed report to the halt
    halt_cpu_ms: float = 0.0  # the halting report: halt, withdrawals signed, stored
    halt_wall_ms: float = 0.0
    withdrawn: int = 0
    started_after_halt: int = 0
    metadata_bytes: dict[str, int] = field(default_factory=dict)


def next_check_in(vin: str, after_ms: int) -> int:
    """The car's first check-in strictly after `after_ms`."""
    now_s = after_ms // 1000
    return (now_s + (check_in_phase(vin, PERIOD_S) - now_s - 1) % PERIOD_S + 1) * 1000


def run_campaign(
    server: Server, campaign_id: str, clock: list[int], car: Callable[[str], SimCar]
) -> Outcome:
    """Start campaign `campaign_id` at `clock[0]` and run it in simulated time until it ends
    and every car it touched is quiet. The cars report to the runner."""
    out = Outcome()
    events: list[tuple[int, int, str, str, TimedStep | None]] = []
    order = itertools.count()
    pending: set[str] = set()
    server_cpu0, cpu0, wall0 = server.cpu_s, time.process_time(), time.perf_counter()
    halted_at: int | None = None
    first_failure: int | None = None
    runner = server.runner
    campaign = runner.get(campaign_id).campaign
    live = (Phase.RUNNING, Phase.PAUSED)

    def schedule(changed: set[str], now_ms: int) -> None:
        for v in sorted(changed):
            if v not in pending:
                pending.add(v)
                heapq.heappush(events, (next_check_in(v, now_ms), next(order), "in", v, None))

    start_ms = clock[0]
    schedule(server.timed(runner.act, campaign_id, "start"), start_ms)
    heapq.heappush(events, (start_ms + TICK_S * 1000, next(order), "tick", "", None))
    now = start_ms
    while events:
        now, _, kind, v, step = heapq.heappop(events)
        clock[0] = now
        if kind == "tick":
            schedule(server.timed(runner.tick), now)
            if any(k != "tick" for _, _, k, _, _ in events) or campaign.phase in live:
                heapq.heappush(events, (now + TICK_S * 1000, next(order), "tick", "", None))
        elif kind == "in":
            pending.discard(v)
            sim_car = car(v)
            out.check_ins += 1
            for timed in sim_car.check_in(now):
                heapq.heappush(events, (timed.at_ms, next(order), "report", v, timed))
            fetched = sim_car.counter.metadata_bytes
            out.metadata_bytes[v] = out.metadata_bytes.get(v, 0) + fetched
            if sim_car.interrupted is not None:  # off until its next boot
                pending.add(v)
                heapq.heappush(events, (next_check_in(v, now), next(order), "in", v, None))
        else:
            assert step is not None
            s = step.step
            out.reports += 1
            if halted_at is not None and s.state.value == "downloading":
                out.started_after_halt += 1
            if first_failure is None and s.state.value == "failed":
                first_failure = now
            was = campaign.phase
            t_cpu, t_wall = time.process_time(), time.perf_counter()
            changed = server.timed(runner.report, s.campaign_id, v, s.state.value, s.reason)
            if was is not Phase.HALTED and campaign.phase is Phase.HALTED:
                halted_at = now
                out.first_failure_to_halt_s = (now - (first_failure or now)) / 1000
                out.halt_cpu_ms = (time.process_time() - t_cpu) * 1000
                out.halt_wall_ms = (time.perf_counter() - t_wall) * 1000
                out.withdrawn = campaign.counts().get(Progress.WITHDRAWN, 0)
            schedule(changed, now)
    out.sim_s = (now - start_ms) / 1000
    out.wall_s = time.perf_counter() - wall0
    out.cpu_s = time.process_time() - cpu0
    out.server_cpu_s = server.cpu_s - server_cpu0
    return out


def fleet_view(vins: list[str], ecus: FleetEcus) -> list[FleetVehicle]:
    """What the runner's inventory reads from the twin (`volta.ota.inventory`): each car's
    ECUs, named by their VSS branch, with the version they run. Built from the simulated ECUs
    directly here (the twin path is `tests/sim/test_updates.py`'s)."""
    return [
        FleetVehicle(
            vin,
            "volta",
            "eu",
            tuple(
                InstalledEcu(e.serial, e.ecu_type, e.hardware_variant, e.running.version or "")
                for e in ecus.of(v)
            ),
        )
        for v, vin in enumerate(vins)
    ]


def bench_fleet(cars: int, state: Path) -> dict[str, float]:
    """The end-to-end run (see the module's docstring)."""
    fleet = Fleet(FleetConfig(vehicles=cars, seed=SEED))
    vins = fleet.vins
    ecus = FleetEcus(vins, SEED, fleet.state.faults.parts)
    image, director, files = repositories()
    clock = [SIM_START_MS]
    registry = SQLiteRegistry.open(state.parent / "registry", lambda: clock[0])
    sink = NotingDirector(director)
    runner = CampaignRunner(
        CampaignStore(registry.database),
        sink,
        images_of(image),
        lambda: fleet_view(vins, ecus),
        lambda: clock[0],
    )
    server = Server(files, runner, sink)
    fetcher = InProcessFetcher(server.get)
    for v in vins:
        director.vehicle(v)
    faults = UpdateFaults(
        failing=frozenset({FAILING}),
        power_loss=frozenset(vins[7::500]),  # 0.2 % lose power during their install
        slow=frozenset(vins[3::20]),  # 5 % on a 64 kbit/s link
    )
    sim_cars: dict[str, SimCar] = {}
    index = {v: i for i, v in enumerate(vins)}

    def car(v: str) -> SimCar:
        if v not in sim_cars:
            sim_cars[v] = SimCar(
                v, ecus.of(index[v]), state / v, image.root.files[1], director.root.files[1],
                BASE, fetcher, faults,
            )  # fmt: skip
        return sim_cars[v]

    result: dict[str, float] = {"fleet_cars": cars}
    try:
        for version, name in (("4.3.0", "bad"), ("4.3.1", "fix")):
            for v in VARIANTS:
                image.add_image("acme", "tcu", v, version, image_data(v, version))
            cid = f"tcu-{version}"
            t = time.process_time()
            runner.create(CampaignSpec(cid, TargetFilter("tcu"), version, Policy()), "bench")
            server.cpu_s += time.process_time() - t
            out = run_campaign(server, cid, clock, car)
            for i, v in enumerate(vins):
                if v in sim_cars:
                    ecus.settled(i)
            campaign = runner.get(cid).campaign
            counts = campaign.counts()
            result |= {
                f"{name}_halted": int(campaign.phase is Phase.HALTED),
                f"{name}_completed": int(campaign.phase is Phase.COMPLETED),
                f"{name}_waves_released": campaign.wave + 1,
                f"{name}_succeeded_cars": counts.get(Progress.SUCCEEDED, 0),
                f"{name}_failed_cars": counts.get(Progress.FAILED, 0),
                f"{name}_full_check_ins": out.check_ins,
                f"{name}_reports": out.reports,
                f"{name}_ignored_reports": campaign.ignored.total,
                f"{name}_sim_h": round(out.sim_s / 3600, 2),
                f"{name}_wall_s": round(out.wall_s, 2),
                f"{name}_cpu_s": round(out.cpu_s, 2),
                f"{name}_server_cpu_ms_per_full_check_in": round(
                    out.server_cpu_s * 1000 / max(out.check_ins, 1), 3
                ),
                f"{name}_car_cpu_ms_per_full_check_in": round(
                    (out.cpu_s - out.server_cpu_s) * 1000 / max(out.check_ins, 1), 3
                ),
                f"{name}_metadata_bytes_per_updated_vehicle": round(
                    statistics.mean(out.metadata_bytes.values()) if out.metadata_bytes else 0
                ),
            }
            if name == "bad":
                result |= {
                    "halt_after_first_failure_sim_min": round(out.first_failure_to_halt_s / 60, 1),
                    "halt_report_cpu_ms": round(out.halt_cpu_ms, 3),
                    "halt_report_wall_ms": round(out.halt_wall_ms, 3),
                    "halt_withdrawn_cars": out.withdrawn,
                    "halt_downloads_started_after": out.started_after_halt,
                }
                if campaign.phase is not Phase.HALTED:
                    raise SystemExit(f"the 4.3.0 campaign ended {campaign.phase}, expected halted")
                print(f"halted: {campaign.halt_reason}")
                server.timed(runner.act, cid, "cancel")
            elif campaign.phase is not Phase.COMPLETED:
                raise SystemExit(f"the 4.3.1 campaign ended {campaign.phase}, expected completed")
            clock[0] += 3_600_000
    finally:
        registry.close()
    versions = Counter(ecus.ecu(i, "Telematics").running.version for i in range(cars))
    result["fleet_cars_on_4_3_1"] = versions.get("4.3.1", 0)
    return result


# -- the HTTP sample ------------------------------------------------------------------------


def serve(folder: Path, data: Path, vins_file: Path, ready: Path) -> None:
    """The child process: Volta's API serving `folder`, each VIN registered with a token."""
    import socket

    import uvicorn

    from volta.api import create_app
    from volta.config import Settings
    from volta.platform import Platform

    platform = Platform(Settings(data_dir=data, mqtt=None, ota_dir=folder))
    platform.start()
    tokens = {
        v: platform.registry.add_vehicle(v, None).token.token
        for v in json.loads(vins_file.read_text())
    }
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    partial = ready.with_suffix(".partial")
    partial.write_text(json.dumps({"port": sock.getsockname()[1], "tokens": tokens}))
    partial.rename(ready)
    config = uvicorn.Config(create_app(platform), log_config=None, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def child_cpu_s(pid: int) -> float:
    """User + system CPU of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_http(cars: int, tmp: Path, idle_rounds: int = 3) -> dict[str, float]:
    """`cars` cars update over real HTTP, then check in `idle_rounds` times with nothing new."""
    image, director, _ = repositories()
    target = image.add_image("acme", "tcu", "tcu-lte", "4.3.0", image_data("tcu-lte", "4.3.0"))
    vins = [make_vin(SEED + 1, i) for i in range(cars)]  # the registry wants real VINs
    for i, v in enumerate(vins):
        director.assign(v, [Assignment(f"TCU-{i}", target)])
    folder = tmp / "served"
    save_image_repository(image, folder)
    save_director(director, folder)
    (tmp / "vins.json").write_text(json.dumps(vins))
    ready = tmp / "ready.json"
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(folder), str(tmp / "data"),
         str(tmp / "vins.json"), str(ready)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the OTA server did not start")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        base = f"http://127.0.0.1:{info['port']}/v1/ota"
        primaries, counters = [], []
        for i, v in enumerate(vins):
            client = httpx.Client(headers={"Authorization": f"Bearer {info['tokens'][v]}"})
            counter = CountingFetcher(HttpFetcher(client))
            tcu = Ecu.built(f"TCU-{i}", "Telematics", "tcu", "tcu-lte", "4.2.0")
            primaries.append(
                Primary(v, [tcu], tmp / "cars" / v, image.root.files[1],
                        director.root.files[1], base, counter)
            )  # fmt: skip
            counters.append(counter)
        cpu0 = child_cpu_s(child.pid)
        for p in primaries:
            if [s.state.value for s in p.check_in()][-1] != "succeeded":
                raise SystemExit(f"{p.vin} did not update over HTTP")
        cpu1 = child_cpu_s(child.pid)
        update_bytes = statistics.mean(c.metadata_bytes for c in counters)
        for c in counters:
            c.metadata_bytes = c.image_bytes = 0
        wall = time.perf_counter()
        for _ in range(idle_rounds):
            for p in primaries:
                if p.check_in():
                    raise SystemExit(f"{p.vin} found something new at an idle check-in")
        wall = time.perf_counter() - wall
        cpu2 = child_cpu_s(child.pid)
    finally:
        child.terminate()
        child.wait(timeout=10)
    idle = cars * idle_rounds
    idle_ms = (cpu2 - cpu1) * 1000 / idle
    return {
        "http_cars": cars,
        "http_server_cpu_ms_per_update_check_in": round((cpu1 - cpu0) * 1000 / cars, 2),
        "http_server_cpu_ms_per_idle_check_in": round(idle_ms, 2),
        "http_idle_check_in_wall_ms": round(wall * 1000 / idle, 2),
        "http_metadata_bytes_per_update_check_in": round(update_bytes),
        "http_metadata_bytes_per_idle_check_in": round(
            sum(c.metadata_bytes for c in counters) / idle
        ),
        # 10,000 cars every 10 minutes: 16.7 idle check-ins a second
        "http_core_share_10000_cars_per_10_min": round(10_000 / 600 * idle_ms / 1000, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 cars end to end, not 10,000")
    parser.add_argument("--serve", nargs=4, type=Path, help=argparse.SUPPRESS)  # the child
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    result: dict[str, float] = {}
    shm = Path("/dev/shm")  # the cars' state directories: python-tuf writes every file it trusts
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        result |= bench_fleet(100 if args.quick else CARS, Path(tmp) / "cars")
        result |= bench_http(5 if args.quick else 100, Path(tmp) / "http")
    result |= bench_director(200 if args.quick else 2000)
    result |= bench_checkin(20 if args.quick else 100)
    result |= bench_campaign()
    for key, value in result.items():
        print(f"{key:40} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
