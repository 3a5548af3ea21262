"""The fleet's fade norm per model and the vehicles above it: the pure core, known numbers."""

from __future__ import annotations

import numpy as np
import pytest

from volta.alerts import fade_alerts
from volta.battery.core import DAY_MS, CapacitySample
from volta.battery.fleet import (
    MIN_FLEET,
    FadeRate,
    fade_rate,
    fast_faders,
    norms,
)

NOMINAL = 50.0
START = 1_767_225_600_000


def _samples(vin: str, pp_per_year: float, days: int, noise: float = 0.0) -> list[CapacitySample]:
    """Two estimates a week, SoH starting at 95 % and falling `pp_per_year`, with a few wild
    ones (a bad session) thrown in."""
    rng = np.random.default_rng(7)
    out = []
    for k, day in enumerate(range(0, days, 3)):
        soh = 95.0 - pp_per_year * day / 365.25 + rng.normal(0.0, noise)
        if k % 17 == 5:
            soh -= 15.0  # outlier
        t = START + day * DAY_MS
        out.append(
            CapacitySample(
                id=f"{vin}-{t}", vin=vin, start_ms=t - 3_600_000, end_ms=t, kind="charge",
                capacity_kwh=soh / 100.0 * NOMINAL, soc_swing=40.0,
            )
        )  # fmt: skip
    return out


def test_the_rate_is_the_robust_slope_of_soh_over_time() -> None:
    r = fade_rate("A", "m", _samples("A", 2.5, 200), NOMINAL)
    assert r is not None and r.pp_per_year == pytest.approx(2.5, abs=0.01)  # outliers ignored
    noisy = fade_rate("A", "m", _samples("A", 2.5, 200, noise=0.5), NOMINAL)
    assert noisy is not None and noisy.pp_per_year == pytest.approx(2.5, abs=0.6)
    assert fade_rate("A", "m", _samples("A", 2.5, 45), NOMINAL) is None  # too short a history


def _rate(vin: str, model: str, pp: float) -> FadeRate:
    return FadeRate(vin=vin, model=model, pp_per_year=pp, samples=50, span_days=200, last_ms=START)


def test_the_norm_is_median_and_mad_and_flags_only_the_outlier() -> None:
    fleet = [_rate(f"V{i}", "zoe", pp) for i, pp in enumerate([1.8, 2.0, 2.1, 2.2, 2.5, 7.0])]
    by_model = norms(fleet)
    n = by_model["zoe"]
    # median of 1.8 2.0 2.1 2.2 2.5 7.0 = 2.15; |dev| 0.35 .15 .05 .05 .35 4.85 → MAD 0.25
    assert (n.median_pp_per_year, n.mad_pp_per_year) == (2.15, 0.25)
    # margin max(3 × 1.4826 × 0.25, 1.0) = 1.112
    assert n.threshold_pp_per_year == pytest.approx(2.15 + 1.11195, abs=1e-4)
    assert [r.vin for r in fast_faders(fleet, by_model)] == ["V5"]
    [alert] = fade_alerts(fast_faders(fleet, by_model), by_model)
    assert (alert.vin, alert.kind, alert.severity, alert.value) == (
        "V5",
        "battery_fade",
        "warning",
        7.0,
    )
    assert alert.message == (
        "Battery fading 7.0 points of SoH a year; the fleet's 6 zoe fade 2.1 (alert above 3.3)"
    )


def test_a_tight_fleet_needs_a_full_point_above_the_median() -> None:
    fleet = [_rate(f"V{i}", "kona", 2.0) for i in range(5)] + [_rate("X", "kona", 2.9)]
    by_model = norms(fleet)
    assert by_model["kona"].threshold_pp_per_year == 3.0  # MAD 0: the 1 pp/year floor
    assert fast_faders(fleet, by_model) == []


def test_no_norm_for_a_model_with_too_few_vehicles() -> None:
    few = [_rate(f"V{i}", "bolt", 2.0) for i in range(MIN_FLEET - 2)] + [_rate("X", "bolt", 9.0)]
    assert norms(few) == {}
    assert fast_faders(few, norms(few)) == []
