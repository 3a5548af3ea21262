"""Reproducible planning scenarios on the real small road graphs, shared by the tests and
`bench/planner.py`: a model scaled to a city's size, seeded DC sites, seeded trips."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from volta.planner.network import RoadNetwork
from volta.planner.plan import Site, TripRequest
from volta.vehicles.model import VehicleModel

__all__ = ["scaled", "seeded_sites", "seeded_trips"]


def scaled(model: VehicleModel, factor: float) -> VehicleModel:
    """The model with battery and DC charging power scaled together (same C-rate, same minutes
    per % SoC), so that a city a few km across needs charging stops."""
    return replace(
        model,
        usable_kwh_new=model.usable_kwh_new * factor,
        dc_peak_kw=model.dc_peak_kw * factor,
        dc_curve=tuple((soc, kw * factor) for soc, kw in model.dc_curve),
    )


def seeded_sites(net: RoadNetwork, n: int, factor: float, seed: int) -> list[Site]:
    """n DC sites at random nodes, 50/150/350 kW (times factor)."""
    rng = np.random.default_rng(seed)
    nodes = rng.choice(net.n_nodes, n, replace=False)
    kws = rng.choice([50.0, 150.0, 350.0], n)
    return [
        Site(int(a), float(k) * factor, f"site {i}")
        for i, (a, k) in enumerate(zip(nodes, kws, strict=True))
    ]


def seeded_trips(net: RoadNetwork, n: int, seed: int, step: float = 0.25) -> list[TripRequest]:
    """n trips between random nodes, start SoC 20-45 %, arrival >= 10 %, chargers >= 5 %,
    charging decisions on a `step` % grid (fine: the trips take minutes, not hours)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        o, d = (int(x) for x in rng.choice(net.n_nodes, 2, replace=False))
        soc = float(rng.uniform(20, 45))
        out.append(
            TripRequest(o, d, start_soc=soc, min_arrival_soc=10, min_charger_soc=5, soc_step=step)
        )
    return out
