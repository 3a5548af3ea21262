"""What a vehicle model spends on each road edge and how long it takes to charge: the same
physics as the simulator (`volta.vehicles.physics`), at the edge's speed, on its grade."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from volta.vehicles.model import VehicleModel
from volta.vehicles.physics import (
    FloatArray,
    battery_power_w,
    charge_power_kw,
    hvac_power_w,
    wheel_power_w,
)

__all__ = ["ChargeCurve", "edge_energy_wh"]


def edge_energy_wh(
    model: VehicleModel,
    speed_mps: FloatArray,
    grade: FloatArray,
    length_m: FloatArray,
    ambient_c: float = 20.0,
    payload_kg: float = 0.0,
) -> FloatArray:
    """Battery energy (Wh, < 0 where regeneration wins) to drive each edge at constant speed,
    with auxiliaries and the HVAC load for the ambient temperature, `payload_kg` added to the
    mass (and to a coast-down A coefficient: its rolling resistance grows with the weight)."""
    m = model
    if payload_kg:
        heavier = (model.mass_kg + payload_kg) / model.mass_kg
        a_n = None if model.road_load_a_n is None else model.road_load_a_n * heavier
        m = replace(model, mass_kg=model.mass_kg + payload_kg, road_load_a_n=a_n)
    v = np.maximum(speed_mps, 0.1)
    p_wheel = wheel_power_w(m, v, 0.0, grade)
    aux = m.aux_w + hvac_power_w(m, np.full(v.shape, ambient_c), np.ones(v.shape, dtype=bool))
    p_batt = battery_power_w(m, p_wheel, v, aux)
    return np.asarray(p_batt * (length_m / v) / 3600.0, dtype=np.float64)


class ChargeCurve:
    """Minutes to charge a model at one DC station between any two SoCs: the model's DC curve
    capped by the station, integrated on a 0.1 % grid (the taper makes 80→100 % slow)."""

    STEP_PCT = 0.1

    def __init__(self, model: VehicleModel, station_kw: float, soh: float = 1.0) -> None:
        self.soc = np.arange(0.0, 100.0 + self.STEP_PCT / 2, self.STEP_PCT)
        mid = self.soc[:-1] + self.STEP_PCT / 2
        into_kw, _ = charge_power_kw(model, mid, True, station_kw, soh)
        kwh_per_step = model.usable_kwh_new * soh * self.STEP_PCT / 100.0
        seconds = np.where(into_kw > 0, kwh_per_step / np.maximum(into_kw, 1e-9) * 3600.0, np.inf)
        self.cumulative_s = np.concatenate(([0.0], np.cumsum(seconds)))

    def seconds(self, soc_from: float, soc_to: float) -> float:
        """Charging time from soc_from to soc_to (%); 0 when soc_to <= soc_from."""
        if soc_to <= soc_from:
            return 0.0
        a, b = np.interp([soc_from, soc_to], self.soc, self.cumulative_s)
        return float(b - a)
