"""Drives against the simulator's ground truth, through the real pipeline."""

from __future__ import annotations

from tests.servicekit.pipeline import Fed
from volta.drives.core import Drive

BOUNDARY_MS = 10_000
ODOMETER_RESOLUTION_M = 1.0


def _drives(fed: Fed, vin: str) -> list[Drive]:
    return sorted(
        fed.platform.derived.list("drive", Drive, vin=vin, limit=10_000), key=lambda d: d.start_ms
    )


def test_every_true_drive_is_found_once_and_no_phantoms(fed: Fed) -> None:
    truth = fed.day.truth
    for v in truth.vehicles:
        true = sorted((d for d in truth.drives if d.vin == v.vin), key=lambda d: d.start_ms)
        got = _drives(fed, v.vin)
        assert len(got) == len(true), v.vin
        for g, t in zip(got, true, strict=True):
            assert abs(g.start_ms - t.start_ms) <= BOUNDARY_MS
            assert abs(g.end_ms - t.end_ms) <= BOUNDARY_MS
            assert g.final


def test_drive_distance_within_half_a_percent_and_energy_within_one(fed: Fed) -> None:
    truth = fed.day.truth
    dist: list[tuple[float, object, object]] = []
    energy: list[tuple[float, object, object]] = []
    for v in truth.vehicles:
        true = sorted((d for d in truth.drives if d.vin == v.vin), key=lambda d: d.start_ms)
        for g, t in zip(_drives(fed, v.vin), true, strict=True):
            # the odometer (VSS uint32, m) is floored to whole metres: below 200 m, 0.5 % is
            # finer than the signal, so the tolerance there is its resolution
            err = abs(g.distance_m - t.distance_m)
            dist.append((err / t.distance_m if err > ODOMETER_RESOLUTION_M else 0.0, g, t))
            energy.append((abs(g.energy_wh / t.energy_from_battery_wh - 1), g, t))
    worst_d = max(dist, key=lambda x: x[0])
    worst_e = max(energy, key=lambda x: x[0])
    assert worst_d[0] <= 0.005, worst_d
    assert worst_e[0] <= 0.01, worst_e
