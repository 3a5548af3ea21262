"""Driver-services goal: drives + charges + battery health for one vehicle-year of 1 Hz data
in < 2 s.

A synthetic year (every signal the services read sampled at 1 Hz all year, parked or not:
about 31.5 M timestamps x 10 signals, more than a real car sends) is analysed by the same
function the incremental processor and `volta recompute` call, with places and a tariff to
tag and price (as the platform does). Also measures the incremental processor:
AcceptedBatch events of 10 s x 10 signals for many vehicles, events/s on one core.
Wall time and CPU time (`process_time`) are both reported: the machine may be shared.

    .venv/bin/python bench/analytics.py [--quick]

`--quick` analyses 30 days instead of 365. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from volta.bus import MemoryBus
from volta.derived.columns import PATHS, Series
from volta.derived.store import SQLiteDerivedStore
from volta.places.core import Place, Tagger, Tariff
from volta.places.roads import road_names
from volta.processors.analysis import analyse
from volta.processors.processor import DriverServices
from volta.store.base import AcceptedBatch

START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
DAY_S = 86_400
VIN = "JHMZZ1A1XRV000001"
CAPACITY_KWH = 60.0
DRIVES = ((8 * 3600, 1800), (17 * 3600 + 1800, 2100))  # (start second of day, length s)
CHARGE_EVERY_DAYS, CHARGE_AT_S, CHARGE_KW = 3, 19 * 3600, 9.2  # ~ what 3 days use


def synthetic(days: int, seed: int = 1) -> dict[str, Series]:
    """Per-second state of a commuter car: two drives a day, a home charge every third day."""
    rng = np.random.default_rng(seed)
    n = days * DAY_S
    sec = np.arange(n, dtype=np.int64)
    tod = sec % DAY_S
    driving = np.zeros(n, bool)
    for start, length in DRIVES:
        driving |= (tod >= start) & (tod < start + length)
    day = sec // DAY_S
    charging = (day % CHARGE_EVERY_DAYS == 0) & (tod >= CHARGE_AT_S) & (tod < CHARGE_AT_S + 10_800)
    phase = (tod % 600) / 600.0
    speed = np.where(driving, 50.0 + 30.0 * np.sin(2 * np.pi * phase), 0.0)
    speed += np.where(driving, rng.normal(0.0, 0.2, n), 0.0)
    power = np.where(
        driving, -(speed * 120.0 + 400.0), np.where(charging, CHARGE_KW * 1000, -100.0)
    )
    odometer = np.floor(np.cumsum(speed / 3.6))
    energy = np.clip(40.0 + np.cumsum(power) / 3.6e6, 0.0, CAPACITY_KWH)
    soc = energy / CAPACITY_KWH * 100.0
    ts = START_MS + sec * 1000
    values = {
        "speed": speed,
        "odometer": odometer,
        "power": power,
        "soc": np.round(soc, 1),
        "energy": np.round(energy, 2),
        "charging": charging.astype(np.float64),
        "gear": driving.astype(np.float64),
        "lat": 60.17 + 0.01 * np.sin(sec / 5000.0),
        "lon": 24.94 + 0.01 * np.cos(sec / 5000.0),
        "outside": np.full(n, 5.0),
    }
    return {name: (ts, v.astype(np.float64)) for name, v in values.items()}


def tagger() -> Tagger:
    """A home with a tariff where the synthetic car charges, and Helsinki's road names."""
    home = Place(
        id="home", name="Home", lat=60.17, lon=24.94, radius_m=2_000.0,
        tariff=Tariff(price_per_kwh=0.2, currency="EUR"),
    )  # fmt: skip
    return Tagger([home], road_names())


def bench_batch(days: int) -> dict[str, float]:
    t = time.perf_counter()
    cols = synthetic(days)
    gen_s = time.perf_counter() - t
    tags = tagger()
    t, c = time.perf_counter(), time.process_time()
    res = analyse(VIN, cols, 2**62, tags)
    analyse_s, analyse_cpu = time.perf_counter() - t, time.process_time() - c
    expect_drives = days * len(DRIVES)
    if len(res.drives) != expect_drives:
        raise SystemExit(f"found {len(res.drives)} drives, expected {expect_drives}")
    return {
        "days": days,
        "timestamps": len(cols["speed"][0]),
        "samples": sum(len(c[0]) for c in cols.values()),
        "generate_s": round(gen_s, 3),
        "recompute_s": round(analyse_s, 3),
        "recompute_cpu_s": round(analyse_cpu, 3),
        "drives": len(res.drives),
        "charges": len(res.charges),
        "priced_charges": sum(c.cost is not None for c in res.charges),
        "capacity_samples": len(res.capacity),
    }


def bench_incremental(vehicles: int, minutes: int, tmp: Path) -> dict[str, float]:
    """Events for `vehicles` cars over `minutes` of driving-rate data (10 s batches, 10 signals
    at 1 Hz), fed to the processor as the bus would."""
    ids = {name: i + 1 for i, name in enumerate(PATHS)}
    cols = synthetic(1)
    offset = DRIVES[0][0]  # the morning drive: the busiest data
    events: list[AcceptedBatch] = []
    for b in range(minutes * 6):
        a = offset + b * 10
        sid: list[int] = []
        ts: list[int] = []
        num: list[float | None] = []
        for name, (cts, cv) in cols.items():
            sid += [ids[name]] * 10
            ts += cts[a : a + 10].tolist()
            num += cv[a : a + 10].tolist()
        for k in range(vehicles):
            vin = f"JHMZZ1A1XRV{k:06d}"
            events.append(AcceptedBatch(vin, b + 1, ts[0], sid, ts, num, [None] * len(ts)))
    store = SQLiteDerivedStore(tmp / "derived.sqlite")
    tags = tagger()
    services = DriverServices(MemoryBus(), store, ids, tagger=lambda: tags)
    t0, c0 = time.perf_counter(), time.process_time()
    for ev in events:
        services.feed(ev)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    store.close()
    return {
        "incremental_vehicles": vehicles,
        "incremental_events": len(events),
        "incremental_events_per_s": round(len(events) / dt, 1),
        "incremental_events_per_cpu_s": round(len(events) / cpu, 1),
        # a car at 1 Hz sends one 10 s batch every 10 s
        "incremental_vehicles_at_1hz_per_core": round(len(events) / cpu * 10, 0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="30 days instead of a year")
    args = ap.parse_args()
    days = 30 if args.quick else 365
    out = bench_batch(days)
    print(f"recompute of {days} days ({out['samples']:,} samples): {out['recompute_s']} s")
    with tempfile.TemporaryDirectory() as tmp:
        inc = bench_incremental(200 if args.quick else 1000, 10, Path(tmp))
    print(f"incremental: {inc['incremental_events_per_s']:,} events/s")
    out.update(inc)
    out["goal_recompute_year_s"] = 2.0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
