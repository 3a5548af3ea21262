"""The incremental processors against the batch recompute, and re-processing idempotence."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tests.servicekit.pipeline import Fed, events, feed
from tests.sim.simrun import Day, fleet_day
from volta.battery.core import CapacitySample
from volta.bus import MemoryBus
from volta.catalog import default_catalog
from volta.charging.core import Charge
from volta.derived.columns import signal_ids
from volta.derived.store import DerivedStore, SQLiteDerivedStore
from volta.drives.core import Drive
from volta.processors.analysis import KINDS
from volta.processors.processor import DriverServices
from volta.processors.recompute import recompute

TYPES: dict[str, type[msgspec.Struct]] = {
    "drive": Drive,
    "charge": Charge,
    "capacity": CapacitySample,
}


def _all(store: DerivedStore, vin: str) -> dict[str, list[msgspec.Struct]]:
    return {k: store.list(k, TYPES[k], vin=vin, limit=100_000) for k in KINDS}


def test_incremental_results_equal_the_batch_recompute(fed: Fed, tmp_path: Path) -> None:
    batch = SQLiteDerivedStore(tmp_path / "batch.sqlite")
    p = fed.platform
    compared = 0
    for v in fed.day.truth.vehicles:
        recompute(v.vin, p.store, batch, p.catalog, tagger=p.places.tagger())
        incremental = _all(p.derived, v.vin)
        assert incremental == _all(batch, v.vin), v.vin
        compared += sum(len(x) for x in incremental.values())
    assert compared > 50


def test_recomputing_twice_creates_no_duplicates(fed: Fed, tmp_path: Path) -> None:
    store = SQLiteDerivedStore(tmp_path / "twice.sqlite")
    p = fed.platform
    vin = fed.day.truth.vehicles[0].vin
    recompute(vin, p.store, store, p.catalog)
    first = _all(store, vin)
    recompute(vin, p.store, store, p.catalog)
    assert _all(store, vin) == first
    assert len(first["drive"]) == len({d.id for d in first["drive"]})  # type: ignore[attr-defined]


def test_a_drive_appears_while_it_happens_and_is_finalised_when_it_ends(tmp_path: Path) -> None:
    day = fleet_day()
    drive = max(day.truth.drives, key=lambda d: d.end_ms - d.start_ms)
    store = SQLiteDerivedStore(tmp_path / "live.sqlite")
    services = DriverServices(MemoryBus(), store, signal_ids(default_catalog()))
    evs = events(day, drive.vin)
    middle = (drive.start_ms + drive.end_ms) // 2
    for ev in evs:
        if ev.ts_ms > middle:
            break
        services.feed(ev)
    services.flush()
    live = [d for d in store.list("drive", Drive, vin=drive.vin) if d.start_ms <= middle]
    assert (
        live[0].start_ms == drive.start_ms // 1000 * 1000
        or abs(live[0].start_ms - drive.start_ms) <= 10_000
    )
    assert not live[0].final and live[0].end_ms <= middle + 10_000
    for ev in evs:
        if ev.ts_ms > middle:
            services.feed(ev)
    services.flush()
    done = store.get("drive", Drive, live[0].id)
    assert done is not None and done.final
    assert abs(done.end_ms - drive.end_ms) <= 10_000
    assert abs(done.distance_m - drive.distance_m) <= max(1.0, 0.005 * drive.distance_m)


def test_a_restart_carries_on_where_the_processor_stopped(tmp_path: Path) -> None:
    """Two vehicles' day fed to a platform that restarts halfway (state rebuilt from the
    derived and telemetry stores) gives what the batch recompute gives."""
    day = fleet_day()
    vins = {d.vin for d in day.truth.drives[:2]}
    sub = Day(day.fleet, day.truth)
    for b, sent in zip(day.batches, day.sent_ms, strict=True):
        if b.vin in vins:
            sub.batches.append(b)
            sub.sent_ms.append(sent)
    half = len(sub.batches) // 2
    first = Day(day.fleet, day.truth, sub.batches[:half], sub.sent_ms[:half])
    second = Day(day.fleet, day.truth, sub.batches[half:], sub.sent_ms[half:])
    feed(first, tmp_path).platform.stop()
    again = feed(second, tmp_path, register=False)
    again.services.flush(complete=True)
    batch = SQLiteDerivedStore(tmp_path / "batch.sqlite")
    p = again.platform
    for vin in vins:
        recompute(vin, p.store, batch, p.catalog, tagger=p.places.tagger())
        assert _all(p.derived, vin) == _all(batch, vin)
        assert len(_all(batch, vin)["drive"]) == sum(d.vin == vin for d in day.truth.drives)
    p.stop()
