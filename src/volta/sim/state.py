"""The state of every vehicle of a simulated fleet: where it is, what it does, its battery.

Arrays are indexed by the vehicle's position in the fleet. Vehicles are sorted by model, so each
model's vehicles are one contiguous slice (`groups`) and its batteries one `BatteryPack`.
`Fleet` decides what happens (departures, arrivals, charging), `window` integrates a window's
physics and `commands` applies remote commands: each reads and writes this state, and none of
them reaches into the others.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from volta.geo.graph import RoadGraph
from volta.sim.faults import FaultRates, Faults
from volta.sim.ledger import OpenCharge, OpenDrive
from volta.sim.pool import ProfilePool
from volta.sim.trips import Driver, Leg
from volta.vehicles import physics
from volta.vehicles.model import VehicleModel

__all__ = ["FleetState", "new_state"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

DAY_S = 86_400
NEVER = np.iinfo(np.int64).max // 4  # a departure time: nothing planned
_PLACARD_KPA = 250.0


@dataclass(eq=False)
class FleetState:
    """Every vehicle's state. Times are simulated seconds since the fleet's start."""

    models: list[VehicleModel]
    model_of: IntArray  # index into `models`, ascending
    groups: list[tuple[int, int, int]]  # (model index, first vehicle, end) of each model's slice
    packs: list[physics.BatteryPack]  # one per model, over its slice of vehicles
    wh_per_km: FloatArray  # typical consumption at 50 km/h, to express charging power as range/h
    drivers: list[Driver]
    # battery ageing at the start: calendar age, full cycles, the fade factor of each pack
    age0_days: FloatArray
    cycles0: FloatArray
    ageing: FloatArray
    # where it is
    node: IntArray
    lat: FloatArray
    lon: FloatArray
    heading: FloatArray
    odometer: FloatArray
    odometer0: FloatArray
    cabin_c: FloatArray
    # what it does
    parked_since: IntArray
    next_dep: IntArray  # the next departure, NEVER when none is planned
    driving: BoolArray
    drive_start: IntArray
    drive_len: IntArray
    drive_off: IntArray  # where the drive's profile starts in `pool`
    charging: BoolArray
    cable: BoolArray
    # what remote commands set (volta.sim.commands); untouched without commands
    locked: BoolArray
    charge_limit: FloatArray
    setpoint_c: FloatArray
    climate_until: IntArray  # remote climate runs until
    flash_until: IntArray  # hazard lights flash until
    awake_until: IntArray  # kept awake by a command until
    # drives and charging sessions in progress, plans, faults
    trips: dict[int, OpenDrive]
    sessions: dict[int, OpenCharge]
    queue: list[deque[Leg]]
    planned_day: IntArray  # the last local day planned
    pool: ProfilePool
    faults: Faults

    @property
    def n(self) -> int:
        return len(self.model_of)

    def pack_of(self, v: int) -> tuple[physics.BatteryPack, int]:
        """The pack of vehicle v's model and v's index in it."""
        gi = int(self.model_of[v])
        return self.packs[gi], v - self.groups[gi][1]

    def soc(self, v: int) -> float:
        pack, j = self.pack_of(v)
        return float(pack.soc_pct[j])

    def energy(self, v: int) -> float:
        pack, j = self.pack_of(v)
        return float(pack.energy_kwh[j])

    def plug(self, v: int, t: int, dc: bool, kw: float, target: float, charger: str) -> None:
        """Plug vehicle v in at second t and open a charging session up to `target` percent."""
        pack, j = self.pack_of(v)
        target = min(target, float(self.charge_limit[v]))  # the car's own limit wins
        self.cable[v] = True
        self.charging[v] = True
        self.sessions[v] = OpenCharge(
            start_s=t,
            dc=dc,
            station_kw=kw,
            target_soc=target,
            charger=charger,
            public=charger != "home",
            soc0=float(pack.soc_pct[j]),
            e0_kwh=float(pack.energy_kwh[j]),
        )


def new_state(
    models: list[VehicleModel],
    model_of: IntArray,
    drivers: list[Driver],
    home: IntArray,
    graph: RoadGraph,
    rng: np.random.Generator,
    *,
    today: int,
    vins: list[str],
    mean_temp_c: float,
    cabin_c: float,
    ageing: tuple[tuple[int, float], ...],
    fault_rates: FaultRates,
) -> FleetState:
    """Vehicles parked at `home` (graph nodes) with nothing planned after the day before `today`
    (a local day number), packs 0–4 years old; draws from `rng`."""
    n = len(model_of)
    groups = [
        (g, int(np.searchsorted(model_of, g)), int(np.searchsorted(model_of, g, "right")))
        for g in range(len(models))
    ]
    per_model = np.array(
        [
            float(
                physics.battery_power_w(m, physics.wheel_power_w(m, 13.9, 0.0, 0.0), 13.9, m.aux_w)
            )
            / 13.9
            / 3.6
            for m in models
        ]
    )
    # battery: age 0–4 years, state of health from the model's fade law
    age = rng.uniform(0.0, 4 * 365.0, n)
    cycles0 = age * rng.uniform(0.2, 0.8, n)
    soc0 = rng.uniform(50.0, 90.0, n)
    fade = np.ones(n)
    for i, factor in ageing:
        fade[i] = factor
    packs = []
    for gi, a, b in groups:
        m = models[gi]
        soh = physics.capacity_fade(m, age[a:b], cycles0[a:b], mean_temp_c, fade[a:b])
        packs.append(physics.BatteryPack.new(m, soc0[a:b], soh))
    heading = rng.uniform(0.0, 360.0, n).round(1)
    odometer = rng.uniform(5e6, 6e7, n).round()
    return FleetState(
        models=models,
        model_of=model_of,
        groups=groups,
        packs=packs,
        wh_per_km=per_model[model_of],
        drivers=drivers,
        age0_days=age,
        cycles0=cycles0,
        ageing=fade,
        node=home.copy(),
        lat=graph.lat[home].copy(),
        lon=graph.lon[home].copy(),
        heading=heading,
        odometer=odometer,
        odometer0=odometer.copy(),
        cabin_c=np.full(n, cabin_c),
        parked_since=np.full(n, -10 * DAY_S, dtype=np.int64),
        next_dep=np.full(n, NEVER, dtype=np.int64),
        driving=np.zeros(n, dtype=bool),
        drive_start=np.zeros(n, dtype=np.int64),
        drive_len=np.zeros(n, dtype=np.int64),
        drive_off=np.zeros(n, dtype=np.int64),
        charging=np.zeros(n, dtype=bool),
        cable=np.zeros(n, dtype=bool),
        locked=np.ones(n, dtype=bool),  # parked cars are locked
        charge_limit=np.array([d.charge_limit_soc for d in drivers], dtype=np.float64),
        setpoint_c=np.full(n, 21.0),
        climate_until=np.full(n, -1, dtype=np.int64),
        flash_until=np.full(n, -1, dtype=np.int64),
        awake_until=np.full(n, -1, dtype=np.int64),
        trips={},
        sessions={},
        queue=[deque() for _ in range(n)],
        planned_day=np.full(n, today - 1, dtype=np.int64),
        pool=ProfilePool(),
        faults=Faults(vins, np.full(n, _PLACARD_KPA), fault_rates),
    )
