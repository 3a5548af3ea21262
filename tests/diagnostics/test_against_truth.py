"""After-sales diagnostics against the simulator's truth.

Two checks: the tyre-leak rule over the simulator's own tyre model (its gas law, its Helsinki
weather, its sensor noise and 1 kPa steps) for many slow leaks and healthy tyres: fast, so it
covers the issue's lead-time goal exactly; and one simulated fleet with every kind of fault,
fed batch by batch as the live follower does (`volta.diagnostics.evaluation`; the issue's full
size runs with `python -m volta.diagnostics.evaluation --vehicles 500 --days 30`).
"""

from __future__ import annotations

import numpy as np

from volta.diagnostics.evaluation import evaluate
from volta.diagnostics.vehicle import AMBIENT, TYRES, VehicleDiagnostics
from volta.sim.environment import Climate
from volta.sim.faults import FaultRates, Faults

T0 = 1_767_571_200_000  # 2026-01-05: winter, cold nights
H = 3_600_000
PATHS = list(TYRES)


def _drive(
    faults: Faults, v: int, climate: Climate, days: int, rng: np.random.Generator
) -> VehicleDiagnostics:
    """Vehicle v online three half-hours a day (commute, errand), a sample each 2 min, as the
    simulator sends them: its tyre model, noise 0.8 kPa, rounded to 1 kPa. Stops at the
    warning (the car raises its own code then)."""
    veh = VehicleDiagnostics(faults.vins[v])
    idx = np.array([v])
    for day in range(days):
        for start_h in (7.5, 12.0, 17.0):
            for m in range(0, 30, 2):
                ts = T0 + day * 24 * H + int(start_h * H) + m * 60_000
                amb = climate.air_c(ts)
                kpa = faults.tyre_kpa(idx, amb, ts)[0]
                if kpa.min() < 0.8 * faults.placard_kpa[v]:
                    return veh
                veh.feed(
                    [(ts, AMBIENT, round(amb + rng.normal(0, 0.2), 1))]
                    + [
                        (ts, p, float(np.round(k + rng.normal(0, 0.8))))
                        for p, k in zip(PATHS, kpa, strict=True)
                    ]
                )
    return veh


def _warning_ms(faults: Faults, v: int, climate: Climate) -> int:
    """When the simulator's tyre first reads under 80 % of placard (its DTC), minute by minute."""
    idx = np.array([v])
    ts = T0
    while faults.tyre_kpa(idx, climate.air_c(ts), ts)[0].min() >= 0.8 * faults.placard_kpa[v]:
        ts += 60_000
    return ts


def test_slow_tyre_leaks_are_predicted_at_least_a_day_before_the_warning_pressure() -> None:
    n = 20
    rng = np.random.default_rng(5)
    climate = Climate(5, 60.17, 24.94)
    faults = Faults([f"V{i:02d}" for i in range(n)], np.full(n, 250.0), FaultRates(0.0, 0.0))
    rates = np.linspace(1.0, 5.0, 12)  # kPa/day: the slow leaks (≤ 5)
    for v, r in enumerate(rates):
        faults.start_tyre_leak(v, v % 4, float(r), T0)
    leads = []
    for v in range(n):
        veh = _drive(faults, v, climate, 30, rng)
        ons = [c for c in veh.changes if c.on]
        if v >= len(rates):
            assert ons == [], f"healthy car {v}: {ons}"
            continue
        warn = _warning_ms(faults, v, climate)
        assert ons, f"leak of {rates[v]:.1f} kPa/day not found"
        assert ons[0].subject == ["Front-left", "Front-right", "Rear-left", "Rear-right"][v % 4]
        leads.append((warn - ons[0].ts_ms) / H)
    assert min(leads) >= 24.0, leads
    assert float(np.median(leads)) >= 72.0


# The goals are recall ≥ 0.98 per kind and ≥ 95 % of charging failures attributed
# right (bench/aftersales_eval.py measures them at full size). This fleet (30 × 14 days, seed
# 7, 8 faults of each kind per vehicle-year: a fault density no real fleet has) finds every
# fault and attributes 10 of 10 failures right. What stays hard (docs/aftersales.md): a car
# that never charged fine in the run failing at stations nobody else used then, and a car
# whose on-board charger fails at a station that fails too (the truth names the station). The
# attribution bound leaves room for one such failure here.
BELOW_GOAL: dict[str, float] = {}
ATTRIBUTION_REACHED = 0.9


def test_a_simulated_fleet_s_faults_are_found_named_and_attributed() -> None:
    # Trips fit the 1.5 km map: few km a day and seldom a fast charge, so three brake-pad and
    # three hot-pack faults are placed where they show within the 14 days (`place_slow_faults`).
    fig = evaluate(vehicles=30, days=14.0, seed=7, per_year=8.0, placed=3)
    s = fig.summary()
    for kind, n in fig.faults.items():
        assert n > 0
        assert fig.recall(kind) >= BELOW_GOAL.get(kind, 0.98), (kind, fig.missed.get(kind), s)
    assert {"tyre_leak", "cell_imbalance", "obc_fault", "intermittent"} <= set(fig.faults)
    # every kind of fault is exercised; pads and hot packs found before their thresholds
    assert fig.faults.get("pad_wear", 0) >= 3 and fig.faults.get("hot_battery", 0) >= 3, s
    assert min(fig.lead_h["pad_wear"]) > 24.0, s
    assert min(fig.lead_h["hot_battery"]) > 0.0, s
    assert fig.false_per_1000() <= 1.0, s
    assert fig.attribution() >= ATTRIBUTION_REACHED, s
    assert fig.software_named, s
    print(s)
