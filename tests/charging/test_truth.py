"""Charges against the simulator's ground truth, through the real pipeline."""

from __future__ import annotations

from tests.servicekit.pipeline import Fed
from volta.charging.core import Charge


def _charges(fed: Fed, vin: str) -> list[Charge]:
    got = fed.platform.derived.list("charge", Charge, vin=vin, limit=10_000)
    return sorted(got, key=lambda c: c.start_ms)


def test_every_charge_is_found_within_10_s_with_its_energy_within_one_percent(fed: Fed) -> None:
    truth = fed.day.truth
    assert any(c.dc for c in truth.charges) and any(not c.dc for c in truth.charges)
    for v in truth.vehicles:
        true = sorted((c for c in truth.charges if c.vin == v.vin), key=lambda c: c.start_ms)
        got = _charges(fed, v.vin)
        assert len(got) == len(true), v.vin
        for g, t in zip(got, true, strict=True):
            assert abs(g.start_ms - t.start_ms) <= 10_000
            assert abs(g.end_ms - t.end_ms) <= 10_000
            assert abs(g.energy_added_wh / t.energy_into_battery_wh - 1) <= 0.01
            assert g.dc == t.dc
            assert g.soc_from is not None and abs(g.soc_from - t.soc_from) <= 0.5
