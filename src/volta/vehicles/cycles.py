"""The EPA dynamometer drive cycles (UDDS, HWFET) shipped in `volta/data/cycles/`, and the
energy from the wall per km a model needs on one of them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from volta.vehicles.model import ModelError, VehicleModel
from volta.vehicles.physics import FloatArray, drive_cycle_energy

__all__ = ["CYCLES", "Cycle", "load_cycle", "wall_wh_per_km"]

CYCLES = ("udds", "hwfet")


@dataclass(frozen=True, slots=True)
class Cycle:
    """A speed trace sampled at 1 Hz."""

    name: str
    time_s: FloatArray
    speed_mps: FloatArray


@lru_cache(maxsize=len(CYCLES))
def load_cycle(name: str) -> Cycle:
    """A shipped drive cycle by name ("udds" or "hwfet")."""
    if name not in CYCLES:
        raise ModelError(f"unknown drive cycle {name!r}; available: {', '.join(CYCLES)}")
    text = (resources.files("volta.data") / "cycles" / f"{name}.csv").read_text(encoding="utf-8")
    table = np.loadtxt(text.splitlines()[1:], delimiter=",", dtype=np.float64)
    return Cycle(name=name, time_s=table[:, 0], speed_mps=table[:, 1])


def wall_wh_per_km(model: VehicleModel, cycle: str) -> float:
    """Energy from the wall per km to drive a cycle on the dyno and recharge what it used.

    HVAC is off (as in the EPA test); the recharge goes through the on-board (AC) charger, whose
    efficiency in the model includes the pack's own charging losses.
    """
    c = load_cycle(cycle)
    result = drive_cycle_energy(model, c.time_s, c.speed_mps, hvac=False)
    return result.wh_per_km / model.ac_efficiency
