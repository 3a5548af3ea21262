"""Simulator benchmark: fleet throughput and one vehicle-year at 1 Hz, encoding included.

Goals (issue 3): ≥ 1,000 vehicle-seconds simulated per ms of wall time at 1 Hz output, and one
vehicle-year at 1 Hz in < 60 s including encoding.

    .venv/bin/python bench/sim.py            # 10,000 vehicles × 600 s, 1 vehicle × 365 days
    .venv/bin/python bench/sim.py --quick    # 2,000 vehicles × 600 s, 1 vehicle × 36.5 days (×10)

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time

import msgspec

from volta.geo.osm import load_roads
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.signals import Telemetry

_START_MS = 1_767_596_400_000  # 2026-01-05 07:00 UTC = 09:00 in Helsinki (UTC+2), a Monday
_YEAR_S = 365 * 86_400


def fleet_rate(vehicles: int, seconds: int, start_ms: int, warmup_s: int) -> dict[str, float]:
    """Vehicle-seconds per ms for simulation alone, with signals, and with msgpack encoding."""
    graph = load_roads()
    fleet = Fleet(
        FleetConfig(vehicles=vehicles, seed=7, start_ms=start_ms - warmup_s * 1000), graph
    )
    tel = Telemetry(fleet.vins, 7)
    enc = msgspec.msgpack.Encoder()
    while fleet.t < warmup_s:  # let the morning's drives begin
        tel.batches(fleet.step(warmup_s))
    sim = sig = code = 0.0
    samples = nbytes = driving = 0
    end = warmup_s + seconds
    while fleet.t < end:
        t0 = time.perf_counter()
        frame = fleet.step(end)
        t1 = time.perf_counter()
        batches = tel.batches(frame)
        t2 = time.perf_counter()
        for b in batches:
            nbytes += len(enc.encode(b))
        t3 = time.perf_counter()
        sim, sig, code = sim + t1 - t0, sig + t2 - t1, code + t3 - t2
        samples += sum(len(b.samples) for b in batches)
        driving += int(frame.driving.sum())
    vs = vehicles * seconds
    return {
        "vehicles": vehicles,
        "sim_seconds": seconds,
        "driving_share": round(driving / vs, 3),
        "sim_only_vehicle_seconds_per_ms": round(vs / (sim * 1000), 1),
        "with_signals_vehicle_seconds_per_ms": round(vs / ((sim + sig) * 1000), 1),
        "vehicle_seconds_per_ms": round(vs / ((sim + sig + code) * 1000), 1),
        "samples_per_s": round(samples / (sim + sig + code)),
        "samples": samples,
        "bytes_msgpack": nbytes,
    }


def vehicle_year(days: float) -> dict[str, float]:
    """One vehicle for `days` at 1 Hz, signals and msgpack encoding included; scaled to a year."""
    t0 = time.perf_counter()
    graph = load_roads()
    fleet = Fleet(FleetConfig(vehicles=1, seed=11), graph)
    tel = Telemetry(fleet.vins, 11)
    enc = msgspec.msgpack.Encoder()
    seconds = round(days * 86_400)
    samples = 0
    while fleet.t < seconds:
        for b in tel.batches(fleet.step(seconds)):
            enc.encode(b)
            samples += len(b.samples)
    wall = time.perf_counter() - t0
    return {
        "days": days,
        "wall_s": round(wall, 3),
        "samples": samples,
        "vehicle_year_s": round(wall * _YEAR_S / seconds, 2),
        "km": round(fleet.distance_m() / 1000, 1),
    }


def _report(title: str, r: dict[str, float], goal: str) -> None:
    print(f"{title} ({r['driving_share']:.1%} of vehicle-seconds driving):")
    print(f"  simulation only     {r['sim_only_vehicle_seconds_per_ms']:>10,.1f} vehicle-s/ms")
    print(f"  + signals           {r['with_signals_vehicle_seconds_per_ms']:>10,.1f} vehicle-s/ms")
    print(f"  + msgpack encoding  {r['vehicle_seconds_per_ms']:>10,.1f} vehicle-s/ms {goal}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs, extrapolated (< 30 s)")
    args = ap.parse_args()
    rush_n, day_n, days = (1_000, 100, 18.25) if args.quick else (10_000, 2_000, 365.0)
    day = fleet_rate(day_n, 86_400, _START_MS - 9 * 3_600_000, warmup_s=0)
    rush = fleet_rate(rush_n, 600, _START_MS, warmup_s=900 if args.quick else 1_800)
    year = vehicle_year(days)
    _report(
        f"fleet, {day_n} vehicles x one day (local midnight to midnight)", day, "(goal >= 1,000)"
    )
    _report(f"fleet, {rush_n} vehicles x 600 s from 09:00 local, rush hour", rush, "(peak)")
    scaled = f" (extrapolated x{365 / days:.0f})" if days < 365 else ""
    print(
        f"one vehicle, {days} days at 1 Hz incl. encoding: {year['wall_s']} s, "
        f"{year['samples']:,} samples -> vehicle-year {year['vehicle_year_s']} s{scaled}"
        " (goal < 60 s)"
    )
    print(
        json.dumps(
            {
                "mode": "quick" if args.quick else "full",
                "vehicle_seconds_per_ms": day["vehicle_seconds_per_ms"],
                "sim_only_vehicle_seconds_per_ms": day["sim_only_vehicle_seconds_per_ms"],
                "with_signals_vehicle_seconds_per_ms": day["with_signals_vehicle_seconds_per_ms"],
                "day_fleet_vehicles": day_n,
                "day_driving_share": day["driving_share"],
                "rush_vehicle_seconds_per_ms": rush["vehicle_seconds_per_ms"],
                "rush_sim_only_vehicle_seconds_per_ms": rush["sim_only_vehicle_seconds_per_ms"],
                "rush_fleet_vehicles": rush_n,
                "rush_driving_share": rush["driving_share"],
                "rush_samples_per_s": rush["samples_per_s"],
                "vehicle_year_s": year["vehicle_year_s"],
                "vehicle_year_measured_days": days,
                "vehicle_year_extrapolated": days < 365,
            }
        )
    )


if __name__ == "__main__":
    main()
