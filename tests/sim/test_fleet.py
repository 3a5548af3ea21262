"""The fleet engine against its ground truth: energy, distance, charging, faults, potholes."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from volta.geo.distance import haversine_m
from volta.wire import Batch

from .simrun import LEAKY, LOW, START_MS, fleet_day

TB = "Vehicle.Powertrain.TractionBattery."


def series(batches: list[Batch], vin: str, path: str) -> list[tuple[int, Any]]:
    """(timestamp ms, value) of one signal of one vehicle, in time order."""
    out = [
        (b.ts + off, val) for b in batches if b.vin == vin for off, p, val in b.samples if p == path
    ]
    return sorted(out, key=lambda x: x[0])


def test_a_day_has_drives_charges_and_daily_soh() -> None:
    day = fleet_day()
    t = day.truth
    assert len(t.drives) > 40
    assert len({d.vin for d in t.drives}) > 10
    assert any(c.charger == "home" and not c.dc for c in t.charges)
    assert len(t.soh) == 20  # one per vehicle at the first midnight
    assert all(0.5 < s.soh <= 1.0 for s in t.soh)
    assert all(d.start_ms < d.end_ms and d.distance_m > 0 for d in t.drives)


def test_battery_energy_change_equals_integrated_power() -> None:
    t = fleet_day().truth
    for d in t.drives:
        delta = d.stored_energy_start_wh - d.stored_energy_end_wh
        assert delta == pytest.approx(
            d.energy_from_battery_wh + d.battery_loss_wh, rel=0.005, abs=0.01
        )
        assert d.regen_wh >= 0
    for c in t.charges:
        delta = c.stored_energy_end_wh - c.stored_energy_start_wh
        assert delta == pytest.approx(
            c.energy_into_battery_wh - c.battery_loss_wh, rel=0.005, abs=0.01
        )
        assert c.energy_from_grid_wh >= c.energy_into_battery_wh > 0


def test_signalled_power_integrates_to_the_truth_energy_of_each_drive() -> None:
    day = fleet_day()
    by_vin: dict[str, list[tuple[int, Any]]] = {}
    for d in day.truth.drives[:15]:
        power = by_vin.setdefault(d.vin, series(day.batches, d.vin, TB + "CurrentPower"))
        inside = [-v for ts, v in power if d.start_ms <= ts < d.end_ms]  # VSS: + into battery
        assert len(inside) == (d.end_ms - d.start_ms) // 1000
        assert sum(inside) / 3600 == pytest.approx(d.energy_from_battery_wh, rel=0.01, abs=2.0)


def test_truth_drive_distance_equals_odometer_delta() -> None:
    day = fleet_day()
    odo_cache: dict[str, list[tuple[int, Any]]] = {}
    for d in day.truth.drives:
        odo = odo_cache.setdefault(d.vin, series(day.batches, d.vin, "Vehicle.TraveledDistance"))
        before = [v for ts, v in odo if ts <= d.start_ms][-1]
        after = next(v for ts, v in odo if ts >= d.end_ms)  # parked: the odometer stands still
        assert d.odometer_end_m - d.odometer_start_m == pytest.approx(d.distance_m)
        assert after - before == pytest.approx(d.distance_m, abs=1.0)
        assert all(isinstance(v, int) for _, v in odo)


def test_speed_signal_stays_near_the_limit_and_positions_stay_on_the_map() -> None:
    day = fleet_day()
    g = day.fleet.graph
    speeds = [
        v
        for b in day.batches
        for _, p, v in b.samples
        if p == "Vehicle.Speed" and isinstance(v, float)
    ]
    assert max(speeds) <= 3.6 * float(g.speed_mps.max()) + 1.0  # noise of a few tenths
    lats = [v for b in day.batches for _, p, v in b.samples if str(p).endswith("Latitude")]
    assert g.lat.min() - 0.001 < min(lats) and max(lats) < g.lat.max() + 0.001


def test_low_battery_car_stops_at_a_dc_charger_before_driving_on() -> None:
    day = fleet_day()
    vin = day.fleet.vins[LOW]
    charges = [c for c in day.truth.charges if c.vin == vin]
    assert charges, "the nearly empty car never charged"
    first = charges[0]
    assert first.dc and first.charger.startswith(("n", "w")) and first.peak_kw > 20
    assert first.soc_from < 30 and first.soc_to == pytest.approx(80, abs=1)
    drives = sorted((d for d in day.truth.drives if d.vin == vin), key=lambda d: d.start_ms)
    assert drives[0].purpose == "charge"
    charging = series(day.batches, vin, TB + "Charging.IsCharging")
    assert any(v is True for ts, v in charging if first.start_ms <= ts < first.end_ms)


def test_tyre_leak_shows_as_falling_pressure_then_a_dtc() -> None:
    day = fleet_day()
    vin = day.fleet.vins[LEAKY]
    fl = series(day.batches, vin, "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure")
    fr = series(day.batches, vin, "Vehicle.Chassis.Axle.Row1.Wheel.Right.Tire.Pressure")
    assert fl[-1][1] < fl[0][1] - 40 and abs(fr[-1][1] - fr[0][1]) < 15
    fault = next(f for f in day.truth.faults if f.vin == vin and f.kind == "tyre_leak")
    assert fault.dtc == "C1A00" and fault.dtc_ms > START_MS
    dtcs = series(day.batches, vin, "Vehicle.Diagnostics.DTCList")
    assert not any("C1A00" in v for ts, v in dtcs if ts < fault.dtc_ms - 300_000)
    assert any("C1A00" in v for ts, v in dtcs if ts >= fault.dtc_ms)
    counts = series(day.batches, vin, "Vehicle.Diagnostics.DTCCount")
    assert max(v for _, v in counts) >= 1


def test_potholes_hit_by_many_vehicles_at_the_same_places() -> None:
    day = fleet_day()
    hazards = {h.hazard_id: h for h in day.truth.hazards}
    hits = [e for e in day.truth.events if e.kind == "pothole"]
    assert hits
    vins_per_hazard: dict[int, set[str]] = defaultdict(set)
    for e in hits:
        h = hazards[e.hazard_id]
        assert float(haversine_m(e.lat, e.lon, h.lat, h.lon)) < 30  # within a second's travel
        vins_per_hazard[e.hazard_id].add(e.vin)
    assert max(len(v) for v in vins_per_hazard.values()) >= 2
    # the impact is in the vertical acceleration signal at that second
    e = hits[0]
    vert = dict(series(day.batches, e.vin, "Vehicle.Acceleration.Vertical"))
    assert vert[e.ts_ms] > 3.0


def test_harsh_braking_is_in_truth_and_in_the_signal() -> None:
    day = fleet_day()
    brakes = [e for e in day.truth.events if e.kind == "harsh_brake"]
    assert brakes
    for e in brakes:
        lon_acc = dict(series(day.batches, e.vin, "Vehicle.Acceleration.Longitudinal"))
        assert lon_acc[e.ts_ms] == pytest.approx(-e.value, abs=0.5)
    # a stop from speed shows its full force; one at a crawl is over within the second
    assert max(e.value for e in brakes) > 3.0


def test_parked_cars_drain_slowly_and_soc_never_leaves_its_range() -> None:
    day = fleet_day()
    socs = np.array(
        [v for b in day.batches for _, p, v in b.samples if p == TB + "StateOfCharge.Current"]
    )
    assert socs.min() >= 0 and socs.max() <= 100
    for pack in day.fleet.state.packs:
        assert np.all(pack.energy_kwh >= 0) and np.all(pack.energy_kwh <= pack.capacity_kwh + 1e-9)


def test_a_small_fleet_feeds_the_embedded_data_plane_without_a_single_rejection(
    tmp_path: Path,
) -> None:
    platform_mod = pytest.importorskip("volta.platform")
    from volta.config import Settings
    from volta.ingest.inproc import InProcessTransport
    from volta.sim.fleet import FleetConfig
    from volta.sim.run import run
    from volta.sim.senders import CallableSender

    start = START_MS + 4 * 3_600_000  # 06:00 in Helsinki: the morning commute
    settings: dict[str, Any] = {"data_dir": tmp_path}
    platform = platform_mod.Platform(
        Settings(**settings), require_registered=False, clock=lambda: start + 86_400_000
    )
    platform.start()
    try:
        sender = CallableSender(deliver_many=InProcessTransport(platform.gateway).publish_many)
        summary, truth = run(FleetConfig(vehicles=4, seed=2, start_ms=start), 3 * 3600, sender)
    finally:
        platform.stop()
    results = sender.results
    assert len(results) == summary.batches > 0 and truth.drives
    assert all(r.error is None and not r.duplicate for r in results)  # type: ignore[attr-defined]
    assert [rej for r in results for rej in r.rejected] == []  # type: ignore[attr-defined]
    assert sum(r.accepted for r in results) == summary.samples  # type: ignore[attr-defined]


def test_signalled_charging_power_integrates_to_the_energy_charged() -> None:
    day = fleet_day()
    long = [c for c in day.truth.charges if c.end_ms - c.start_ms > 3_600_000]
    assert long
    for c in long[:8]:
        power = series(day.batches, c.vin, TB + "CurrentPower")
        inside = [v for ts, v in power if c.start_ms <= ts < c.end_ms]
        step_s = 30  # parked/charging period of CurrentPower
        assert sum(inside) * step_s / 3600 == pytest.approx(c.energy_into_battery_wh, rel=0.03)
