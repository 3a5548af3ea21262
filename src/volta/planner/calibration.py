"""A car's own consumption: its finished drives refine its model's energy for the planner.

Cars of one model differ: winter tyres, a loaded boot, a heavy right foot. The planner's energy
is the model's physics at each road's speed (`planner.energy`); a car's drives (distance, net
battery energy, average speed, outside temperature: `drives.core.Drive`) say how far its real
use is from what that physics predicts for the same drives. The calibration is one factor: the
car's measured energy over the model's prediction, summed over its drives, shrunk towards 1
by a prior worth `PRIOR_DRIVES` of the car's drives at factor 1 (a car with one drive keeps
half the model's word),
bounded to `[MIN_FACTOR, MAX_FACTOR]`. The planner multiplies every edge's energy by it.

The prediction for a drive uses what the derived store keeps, not the trace: the model at the
drive's average speed on flat road with the HVAC load of its outside temperature. That misses
the stops and starts of a city drive, the same way for every drive of a car, so the factor
takes that in too: it is what the planner's energy must be multiplied by for this car.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from volta.drives.core import Drive
from volta.planner.energy import edge_energy_wh
from volta.vehicles.model import VehicleModel

__all__ = ["MAX_FACTOR", "MIN_FACTOR", "PRIOR_DRIVES", "Calibration", "calibrate", "predicted_wh"]

PRIOR_DRIVES = 2.0  # the model's own prediction counts as this many drives at factor 1
MIN_FACTOR, MAX_FACTOR = 0.6, 2.0  # beyond: bad data, not a car
MIN_DRIVE_M = 500.0  # shorter drives are mostly the start and the stop
DEFAULT_TEMP_C = 20.0  # a drive without an outside temperature


@dataclass(frozen=True, slots=True)
class Calibration:
    """How a car's use compares with its model's: `factor` multiplies the planner's energy."""

    factor: float = 1.0
    drives: int = 0  # drives it is made of
    km: float = 0.0


def predicted_wh(
    model: VehicleModel, distance_m: float, avg_speed_kmh: float, outside_temp_c: float | None
) -> float:
    """The model's energy (Wh) for a drive known only by its distance, average speed and outside
    temperature: flat road at that speed, auxiliaries and HVAC."""
    temp = DEFAULT_TEMP_C if outside_temp_c is None else outside_temp_c
    v = np.array([max(avg_speed_kmh, 5.0) / 3.6])
    return float(edge_energy_wh(model, v, np.zeros(1), np.array([distance_m]), temp)[0])


def usable(d: Drive) -> bool:
    """A drive worth learning from: finished, long enough, moving, energy taken."""
    return d.final and d.distance_m >= MIN_DRIVE_M and d.avg_speed_kmh >= 5.0 and d.energy_wh > 0


def calibrate(model: VehicleModel, drives: Iterable[Drive]) -> Calibration:
    """The car's factor from its drives (any order; unusable ones are left out)."""
    kept = [d for d in drives if usable(d)]
    if not kept:
        return Calibration()
    measured = sum(d.energy_wh for d in kept)
    predicted = sum(
        predicted_wh(model, d.distance_m, d.avg_speed_kmh, d.outside_temp_c) for d in kept
    )
    km = sum(d.distance_m for d in kept) / 1000.0
    prior_wh = predicted / len(kept) * PRIOR_DRIVES  # drives like this car's, at factor 1
    factor = (measured + prior_wh) / (predicted + prior_wh)
    return Calibration(float(np.clip(factor, MIN_FACTOR, MAX_FACTOR)), len(kept), km)
