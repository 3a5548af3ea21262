"""After-sales goal: the diagnostics rules, evaluated live, keep up with 10,000 vehicles at 1 Hz
on one core.

Each vehicle sends one 10 s batch of 20 signals at 1 Hz (200 samples: motion, charge, power,
place each second; its four tyres, the air, the 12 V battery, the HV cells, the pack
temperature, the brake pads and its list of trouble codes once per batch; now and then a code
appears and clears). The batches are built first, as the bus delivers them (`AcceptedBatch`),
and then fed through `DiagnosticsFollower.feed`, the live path minus the bus: picking the
signals diagnostics read, turning stored values back into VSS types, ordering by time, the
freeze-frame state, the DTC tracker, the hourly means and the rules (every series closes an
hour during the run, over three days of history loaded before timing, so every rule is
evaluated on a full window). vehicles_per_core = vehicle-seconds fed / CPU seconds.

    .venv/bin/python bench/aftersales.py [--quick]

`--quick`: 200 vehicles for 5 minutes instead of 1,000 for 10. The last line of stdout is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from volta.bus import MemoryBus
from volta.catalog import default_catalog
from volta.processors.diagnostics import DiagnosticsFollower
from volta.store.base import AcceptedBatch

_TB = "Vehicle.Powertrain.TractionBattery."
_AX = "Vehicle.Chassis.Axle."
EVERY_SECOND = (
    "Vehicle.Speed",
    "Vehicle.CurrentLocation.Latitude",
    "Vehicle.CurrentLocation.Longitude",
    "Vehicle.CurrentLocation.Heading",
    "Vehicle.TraveledDistance",
    "Vehicle.Acceleration.Longitudinal",
    "Vehicle.Acceleration.Lateral",
    _TB + "CurrentPower",
    _TB + "StateOfCharge.Current",
)
ONCE = (  # once per 10 s batch
    _AX + "Row1.Wheel.Left.Tire.Pressure",
    _AX + "Row1.Wheel.Right.Tire.Pressure",
    _AX + "Row2.Wheel.Left.Tire.Pressure",
    _AX + "Row2.Wheel.Right.Tire.Pressure",
    "Vehicle.Exterior.AirTemperature",
    "Vehicle.LowVoltageBattery.CurrentVoltage",
    _TB + "CellVoltage.Max",
    _TB + "CellVoltage.Min",
    _TB + "Temperature.Max",
    _AX + "Row1.Wheel.Left.Brake.PadWear",
)
DTC_LIST = "Vehicle.Diagnostics.DTCList"
T0 = 1_767_571_200_000 + 3 * 86_400_000 - 2 * 60_000  # 2 min before an hour turns
BATCH_S = 10


def batches(
    n: int, seconds: int, ids: dict[str, int], rng: np.random.Generator
) -> list[AcceptedBatch]:
    """n vehicles × seconds of 1 Hz telemetry, 10 s batches, in arrival order."""
    out = []
    for b in range(seconds // BATCH_S):
        base = T0 + b * BATCH_S * 1000
        noise = rng.normal(0.0, 1.0, (n, len(EVERY_SECOND) * BATCH_S + len(ONCE)))
        for v in range(n):
            sid: list[int] = []
            ts: list[int] = []
            num: list[float | None] = []
            txt: list[str | None] = []
            k = 0
            for s in range(BATCH_S):
                for path in EVERY_SECOND:
                    sid.append(ids[path])
                    ts.append(base + s * 1000)
                    num.append(50.0 + float(noise[v, k]))
                    txt.append(None)
                    k += 1
            for path in ONCE:
                sid.append(ids[path])
                ts.append(base)
                val = {"Volt": 3.8, "Tire": 250.0, "Air": 5.0, "LowV": 12.6}
                x = next((y for key, y in val.items() if key in path), 40.0)
                num.append(x + 0.01 * float(noise[v, k]))
                txt.append(None)
                k += 1
            codes = '["U1A40"]' if (v + b) % 97 == 0 else "[]"  # a code now and then
            sid.append(ids[DTC_LIST])
            ts.append(base + 9000)
            num.append(None)
            txt.append(codes)
            out.append(AcceptedBatch(f"V{v:016d}", b + 1, base, sid, ts, num, txt))
    return out


def warm(follower: DiagnosticsFollower, n: int, ids: dict[str, int]) -> None:
    """Three days of hourly history per vehicle, so the rules fit full windows."""
    for h in range(72, 0, -1):
        t = T0 - h * 3_600_000
        for v in range(n):
            sid = [ids[p] for p in ONCE] + [ids["Vehicle.TraveledDistance"]]
            vals: list[float | None] = [
                250.0 - h * 0.01,
                250.0,
                250.0,
                250.0,
                5.0,
                12.6,
                3.81,
                3.8,
                20.0,
                40.0,
                1e6 + (72 - h) * 2000.0,
            ]
            follower.feed(
                AcceptedBatch(f"V{v:016d}", 0, t, sid, [t] * len(sid), vals, [None] * len(sid))
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--vehicles", type=int)
    ap.add_argument("--seconds", type=int)
    a = ap.parse_args()
    n = a.vehicles or (200 if a.quick else 1000)
    seconds = a.seconds or (300 if a.quick else 600)
    catalog = default_catalog()
    ids = {s.path: s.id for s in catalog}
    follower = DiagnosticsFollower(MemoryBus(), catalog, lambda vin: "Model V", durable=None)
    rng = np.random.default_rng(0)
    warm(follower, n, ids)
    todo = batches(n, seconds, ids, rng)
    samples = sum(len(b) for b in todo)
    w0, c0 = time.perf_counter(), time.process_time()
    for b in todo:
        follower.feed(b)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    rules_run = sum(len(veh.findings) for veh in follower.fleet.vehicles.values())
    vehicle_seconds = n * seconds
    out = {
        "vehicles": n,
        "seconds": seconds,
        "batches": len(todo),
        "samples": samples,
        "cpu_s": round(cpu, 3),
        "wall_s": round(wall, 3),
        "samples_per_s": round(samples / cpu),
        "us_per_batch": round(cpu / len(todo) * 1e6, 1),
        "vehicles_per_core": round(vehicle_seconds / cpu),
        "goal_vehicles_per_core": 10_000,
        "findings": rules_run,
        "codes_seen": len(follower.fleet.occurrences),
        "errors": follower.errors,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
