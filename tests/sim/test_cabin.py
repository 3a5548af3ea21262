"""A parked car does not heat its cabin by itself: overnight, charging or not, the HVAC stays off
unless a climate command asks for it (preconditioning)."""

from __future__ import annotations

import numpy as np

from volta.sim.faults import FaultRates
from volta.sim.fleet import Fleet, FleetConfig

from .simrun import helsinki

EVENING_MS = 1_768_230_000_000  # 2026-01-12T15:00Z = 17:00 in Helsinki, a January Monday


def test_no_parked_car_heats_its_cabin_over_a_winter_night() -> None:
    fleet = Fleet(
        FleetConfig(vehicles=12, seed=4, start_ms=EVENING_MS, faults=FaultRates(0.0, 0.0)),
        helsinki(),
    )
    s = fleet.state
    charged_s = 0
    until = 14 * 3600  # to 07:00 local, before the first commute
    while fleet.t < until:
        t0 = fleet.t
        frame = fleet.step(until)
        parked = ~frame.driving.any(axis=1) & ~s.driving[frame.vid]
        assert np.all(frame.fan_pct[parked] == 0)  # no blower without a drive or a command
        charging = frame.charging & parked[:, None]
        charged_s += int(charging.sum())
        # a charging car's battery takes what the charger gives: nothing goes to the cabin
        assert np.allclose(frame.power_w[charging], -frame.charge_kw[charging] * 1000)
        idle = parked[:, None] & ~frame.charging
        assert np.all(frame.power_w[idle] <= 300.0)  # modules awake at most, no heater (kW)
        # parked over an hour and charging: the cabin has lost most of a drive's warmth
        settled = charging.any(axis=1) & (s.parked_since[frame.vid] <= t0 - 3600)
        warmth = frame.cabin_c[settled] - frame.ambient_c
        assert np.all(warmth < 0.5 * (21.0 - frame.ambient_c))
    assert charged_s > 3600  # the evening did have cars charging at home
    # at 07:00 every cabin is at the night's air temperature (which it follows with τ 1 h)
    assert np.all(np.abs(s.cabin_c - frame.ambient_c) < 3.0)
