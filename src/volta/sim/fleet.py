"""The fleet engine: N EVs driving real roads, parking, charging, ageing and failing.

Time advances in windows (60 s by default, longer when the whole fleet is parked). Within a
window every second of every *online* vehicle (driving, charging or awake) is one column of
numpy matrices: drives are pre-computed 1 s speed profiles gathered from a shared pool,
physics runs once per vehicle model over the whole matrix, and the battery is integrated with
a cumulative sum. Asleep vehicles cost one closed-form vampire-drain update per window.
Each window yields a `Frame` (the online vehicles' per-second state) for `signals` to turn
into telemetry; ground truth accumulates in `self.truth`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from volta.geo.graph import Charger, RoadGraph
from volta.geo.osm import load_roads
from volta.sim.environment import Climate
from volta.sim.faults import FaultRates, Faults
from volta.sim.hazards import place_potholes
from volta.sim.ledger import OpenCharge, OpenDrive
from volta.sim.pool import ProfilePool
from volta.sim.trips import (
    Driver,
    Leg,
    drive_profile,
    make_driver,
    make_places,
    node_path,
    plan_day,
)
from volta.sim.truth import (
    RoadEventTruth,
    SohTruth,
    Truth,
    VehicleTruth,
)
from volta.sim.vin import make_token, make_vin
from volta.sim.window import Frame
from volta.sim.window import window as _window
from volta.vehicles import physics
from volta.vehicles.model import VehicleModel, list_models, load_model

__all__ = ["Fleet", "FleetConfig", "Frame", "roster"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

DAY_S = 86_400
_NEVER = np.iinfo(np.int64).max // 4
_PLACARD_KPA = 250.0


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """What to simulate. `start_ms` is rounded down to a whole window."""

    vehicles: int = 10
    seed: int = 0
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    models: tuple[str, ...] = ()  # empty: every shipped model
    osm_path: str | None = None
    window_s: int = 0  # compute chunk; 0 = by fleet size (300 s for small fleets, 60 s for big)
    pothole_per_km: float = 0.3
    faults: FaultRates = field(default_factory=FaultRates)
    # Public stations whose power OSM does not state are AC; when a map has no DC station at
    # all they are taken as 50 kW DC so that "DC when low" happens on small extracts too.
    dc_fallback_kw: float = 50.0
    awake_s: int = 600  # a parked car stays awake (telemetry on) this long after a drive
    min_dwell_s: int = 120
    # (vehicle index, factor): that vehicle's pack fades `factor` times its model's norm
    ageing: tuple[tuple[int, float], ...] = ()


def roster(config: FleetConfig) -> list[tuple[str, str]]:
    """(VIN, model name) of every vehicle a fleet with this config will have, in fleet order."""
    names = config.models or tuple(list_models())
    rng = np.random.default_rng([config.seed, 0xF1EE7])
    chosen = sorted(rng.integers(len(names), size=config.vehicles).tolist())
    return [(make_vin(config.seed, i, 2022), names[g]) for i, g in enumerate(chosen)]


class Fleet:
    """A simulated fleet. Call `step()` to advance one window and get its `Frame`."""

    def __init__(self, config: FleetConfig, graph: RoadGraph | None = None) -> None:
        c = config
        self.config = c
        self.graph = graph if graph is not None else load_roads(c.osm_path)
        # Larger windows amortise numpy's per-call cost over more seconds; big fleets already
        # fill the arrays, and smaller windows keep their memory small.
        self.window_s = c.window_s or (
            300 if c.vehicles <= 100 else 120 if c.vehicles <= 1000 else 60
        )
        if self.window_s % 60 or 86_400 % self.window_s:
            raise ValueError(
                f"window_s must be a multiple of 60 dividing a day, got {self.window_s}"
            )
        self.start_ms = c.start_ms - c.start_ms % (self.window_s * 1000)
        self.t = 0
        rng = np.random.default_rng([c.seed, 0xF1EE7])
        self.rng = rng
        names = c.models or tuple(list_models())
        # vehicles sorted by model, so that each model's vehicles are one contiguous slice
        chosen = sorted(rng.integers(len(names), size=c.vehicles).tolist())
        self.models: list[VehicleModel] = [load_model(n) for n in names]
        self.model_of = np.array(chosen, dtype=np.int64)
        self.groups = [
            (
                g,
                int(np.searchsorted(self.model_of, g)),
                int(np.searchsorted(self.model_of, g, "right")),
            )
            for g in range(len(names))
        ]
        n = c.vehicles
        self.n = n
        self.vins = [vin for vin, _ in roster(c)]
        g = self.graph
        self.places = make_places(g, c.seed)
        self.potholes = place_potholes(g, c.seed, c.pothole_per_km)
        self.pothole_edges = self.potholes.on_edges()
        self.climate = Climate(c.seed, float(np.mean(g.lat)), float(np.mean(g.lon)))
        self.utc_offset_s = round(float(np.mean(g.lon)) / 15.0) * 3600
        self.has_dc = any(ch.dc for ch in g.chargers)
        self.vrng = [np.random.default_rng([c.seed, 1, i]) for i in range(n)]
        self.drivers: list[Driver] = [make_driver(self.places, r) for r in self.vrng]
        if not g.chargers:  # nowhere public to charge on this map: everyone charges at home
            self.drivers = [
                d
                if d.home_charger_kw > 0
                else replace(d, home_charger_kw=7.4, public_below_soc=15.0)
                for d in self.drivers
            ]
        # typical consumption at a steady 50 km/h, to express charging power as km of range/h
        per_model = np.array(
            [
                float(
                    physics.battery_power_w(
                        m, physics.wheel_power_w(m, 13.9, 0.0, 0.0), 13.9, m.aux_w
                    )
                )
                / 13.9
                / 3.6
                for m in self.models
            ]
        )
        self.wh_per_km = per_model[self.model_of]

        # battery: age 0–4 years, state of health from the model's fade law
        age = rng.uniform(0.0, 4 * 365.0, n)
        self.age0_days = age
        self.cycles0 = age * rng.uniform(0.2, 0.8, n)
        self.mean_temp_c = self.climate.mean_c + 8.0  # packs run warmer than the air
        soc0 = rng.uniform(50.0, 90.0, n)
        self.ageing = np.ones(n)
        for i, factor in c.ageing:
            self.ageing[i] = factor
        self.packs: list[physics.BatteryPack] = []
        for gi, a, b in self.groups:
            m = self.models[gi]
            soh = physics.capacity_fade(
                m, age[a:b], self.cycles0[a:b], self.mean_temp_c, self.ageing[a:b]
            )
            self.packs.append(physics.BatteryPack.new(m, soc0[a:b], soh))

        home = np.array([int(self.places.anchors[d.home]) for d in self.drivers], dtype=np.int64)
        self.node = home.copy()
        self.lat, self.lon = g.lat[home].copy(), g.lon[home].copy()
        self.heading = rng.uniform(0.0, 360.0, n).round(1)
        self.odometer = rng.uniform(5e6, 6e7, n).round()
        self.odometer0 = self.odometer.copy()
        self.cabin_c = np.full(n, self.climate.air_c(self.start_ms))
        self.parked_since = np.full(n, -10 * DAY_S, dtype=np.int64)
        self.next_dep = np.full(n, _NEVER, dtype=np.int64)
        self.driving = np.zeros(n, dtype=bool)
        self.drive_start = np.zeros(n, dtype=np.int64)
        self.drive_len = np.zeros(n, dtype=np.int64)
        self.drive_off = np.zeros(n, dtype=np.int64)
        self.charging = np.zeros(n, dtype=bool)
        self.cable = np.zeros(n, dtype=bool)
        # State that remote commands change (volta.sim.commands); untouched without commands.
        self.locked = np.ones(n, dtype=bool)  # parked cars are locked
        self.charge_limit = np.array([d.charge_limit_soc for d in self.drivers], dtype=np.float64)
        self.setpoint_c = np.full(n, 21.0)
        self.climate_until = np.full(n, -1, dtype=np.int64)  # sim s: remote climate runs till
        self.flash_until = np.full(n, -1, dtype=np.int64)  # sim s: hazard lights flash till
        self.awake_until = np.full(n, -1, dtype=np.int64)  # sim s: kept awake by a command till
        self.trips: dict[int, OpenDrive] = {}
        self.sessions: dict[int, OpenCharge] = {}
        self.queue: list[deque[Leg]] = [deque() for _ in range(n)]
        self.planned_day = np.full(n, self._local_day(0) - 1, dtype=np.int64)
        self.pool = ProfilePool()
        self.faults = Faults(self.vins, np.full(n, _PLACARD_KPA), c.faults)
        self.truth = Truth()
        self.truth.vehicles = [
            VehicleTruth(
                vin=self.vins[i],
                model=names[int(self.model_of[i])],
                token=make_token(c.seed, self.vins[i]),
                home_lat=float(self.lat[i]),
                home_lon=float(self.lon[i]),
                home_charger_kw=self.drivers[i].home_charger_kw,
            )
            for i in range(n)
        ]
        self.truth.hazards = self.potholes.truth()
        self._pending_events: list[RoadEventTruth] = []
        self._temp_sum, self._temp_n = 0.0, 0
        for i in range(n):
            self._schedule(i, 0)
            d = self.drivers[i]
            if d.home_charger_kw > 0 and self._soc(i) < d.plug_below_soc:
                self._plug(
                    i, 0, dc=False, kw=d.home_charger_kw, target=d.charge_limit_soc, charger="home"
                )

    # -- small helpers ------------------------------------------------------------------
    def _ms(self, t: int) -> int:
        return self.start_ms + t * 1000

    def _local_day(self, t: int) -> int:
        return (self._ms(t) + self.utc_offset_s * 1000) // 86_400_000

    def _group(self, v: int) -> tuple[physics.BatteryPack, int]:
        gi = int(self.model_of[v])
        return self.packs[gi], v - self.groups[gi][1]

    def _soc(self, v: int) -> float:
        pack, j = self._group(v)
        return float(pack.soc_pct[j])

    def _energy(self, v: int) -> float:
        pack, j = self._group(v)
        return float(pack.energy_kwh[j])

    # -- planning -----------------------------------------------------------------------
    def _schedule(self, v: int, earliest: int) -> None:
        q = self.queue[v]
        for _ in range(14):
            if q:
                break
            day = int(self.planned_day[v]) + 1
            self.planned_day[v] = day
            midnight = (day * 86_400_000 - self.utc_offset_s * 1000 - self.start_ms) // 1000
            weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
            legs = plan_day(self.drivers[v], self.places, int(midnight), weekday, self.vrng[v])
            q.extend(leg for leg in legs if leg.depart_s >= earliest - 3600)
        self.next_dep[v] = max(q[0].depart_s, earliest) if q else _NEVER

    def _plug(self, v: int, t: int, dc: bool, kw: float, target: float, charger: str) -> None:
        pack, j = self._group(v)
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

    def _end_charge(self, v: int, t: int) -> None:
        s = self.sessions.pop(v)
        self.charging[v] = False
        if s.public:
            self.cable[v] = False
        if not s.started:
            return
        pack, j = self._group(v)
        self.truth.charges.append(
            s.close(
                self.vins[v],
                self._ms(s.start_s),
                self._ms(t),
                float(self.lat[v]),
                float(self.lon[v]),
                float(pack.capacity_kwh[j]),
            )
        )

    def charge_finished(self, v: int, t: int) -> None:
        """A session reached its target (or the car is full): a public stop ends, drive on."""
        public = self.sessions[v].public
        self._end_charge(v, t)
        if public:
            self._schedule(v, t + int(self.vrng[v].integers(60, 300)))

    def _nearest_charger(self, v: int) -> Charger | None:
        chargers = self.graph.chargers
        if not chargers:
            return None
        lat, lon = self.lat[v], self.lon[v]
        k = np.cos(np.radians(lat))
        d2 = [(ch.lat - lat) ** 2 + ((ch.lon - lon) * k) ** 2 for ch in chargers]
        return chargers[int(np.argmin(d2))]

    def _start_drive(self, v: int, t: int, ambient_c: float) -> None:
        leg = self.queue[v].popleft()
        if self.cable[v]:
            if self.charging[v]:
                self._end_charge(v, self.t)  # power flowed until the start of this window
            self.cable[v] = False
        d = self.drivers[v]
        pack, j = self._group(v)
        soc, e = float(pack.soc_pct[j]), float(pack.energy_kwh[j])
        stops = [int(self.node[v]), *leg.via, leg.dest]
        path = node_path(self.graph, stops)
        if path is None or len(path) < 2:
            self._schedule(v, t + self.config.min_dwell_s)
            return
        if leg.purpose != "charge":
            km = float(self.graph.length_m[self.graph.edges_of(path)].sum()) / 1000.0
            need = km * (0.25 if ambient_c > 0 else 0.33)  # kWh, pessimistic
            ch = self._nearest_charger(v)
            if (
                ch is not None
                and ch.node != self.node[v]
                and (soc < d.public_below_soc or e - need < 0.1 * float(pack.capacity_kwh[j]))
            ):
                self.queue[v].appendleft(leg)
                leg = Leg(t, (), ch.node, "charge")
                path = node_path(self.graph, [int(self.node[v]), ch.node])
                if path is None or len(path) < 2:
                    self._schedule(v, t + self.config.min_dwell_s)
                    return
        prof = drive_profile(self.graph, path, d, self.vrng[v], self.pothole_edges)
        size = prof.duration_s + 1
        if not self.pool.fits(size):
            live = np.nonzero(self.driving)[0]
            self.drive_off[live] = self.pool.compact(
                self.drive_off[live], self.drive_len[live] + 1, size
            )
        self.drive_off[v] = self.pool.add(prof)
        self.drive_len[v] = prof.duration_s
        self.drive_start[v] = t
        self.driving[v] = True
        self.next_dep[v] = _NEVER
        self.trips[v] = OpenDrive(
            leg=leg,
            start_s=t,
            length_s=prof.duration_s,
            length_m=prof.length_m,
            odo_start=float(self.odometer[v]),
            lat0=float(self.lat[v]),
            lon0=float(self.lon[v]),
        )
        vin = self.vins[v]
        for sec, hid, peak in prof.pothole_hits:
            self._pending_events.append(
                RoadEventTruth(
                    vin=vin,
                    ts_ms=self._ms(t + sec),
                    kind="pothole",
                    lat=round(float(prof.lat[sec]), 7),
                    lon=round(float(prof.lon[sec]), 7),
                    value=peak,
                    hazard_id=hid,
                )
            )
        for sec, decel in prof.harsh_brakes:
            self._pending_events.append(
                RoadEventTruth(
                    vin=vin,
                    ts_ms=self._ms(t + sec),
                    kind="harsh_brake",
                    lat=round(float(prof.lat[sec]), 7),
                    lon=round(float(prof.lon[sec]), 7),
                    value=round(decel, 3),
                    hazard_id=-1,
                )
            )

    def _arrive(self, v: int, t: int) -> None:
        trip = self.trips.pop(v)
        end = self.drive_off[v] + self.drive_len[v]
        pool = self.pool
        self.driving[v] = False
        self.lat[v], self.lon[v] = pool.lat[end], pool.lon[end]
        self.heading[v] = pool.heading[end]
        self.odometer[v] = trip.odo_start + trip.length_m
        self.node[v] = trip.leg.dest
        self.parked_since[v] = t
        pack, j = self._group(v)
        self.truth.drives.append(
            trip.close(
                self.vins[v],
                self._ms(trip.start_s),
                self._ms(t),
                float(self.lat[v]),
                float(self.lon[v]),
                float(pack.capacity_kwh[j]),
            )
        )
        d = self.drivers[v]
        soc = float(pack.soc_pct[j])
        if trip.leg.purpose == "charge":
            ch = next(c for c in self.graph.chargers if c.node == trip.leg.dest)
            dc = ch.dc or (not self.has_dc and self.config.dc_fallback_kw > 0)
            kw = ch.power_kw if ch.dc or not dc else self.config.dc_fallback_kw
            self._plug(
                v, t, dc=dc, kw=kw, target=80.0 if dc else d.charge_limit_soc, charger=ch.osm_id
            )
            self.next_dep[v] = _NEVER
            return
        if (
            trip.leg.dest == int(self.places.anchors[d.home])
            and d.home_charger_kw > 0
            and soc < d.plug_below_soc
        ):
            self._plug(
                v, t, dc=False, kw=d.home_charger_kw, target=d.charge_limit_soc, charger="home"
            )
        self._schedule(v, t + self.config.min_dwell_s)

    # -- the window ----------------------------------------------------------------------
    def _window_len(self, until_s: int) -> int:
        w = self.window_s
        t0 = self.t
        busy = (
            self.driving.any()
            or bool((self.next_dep < t0 + w).any())
            or bool((~self.driving & (self.parked_since + self.config.awake_s > t0)).any())
            or bool((~self.driving & (self.awake_until > t0)).any())
        )
        next_midnight = ((self._ms(t0) // 86_400_000 + 1) * 86_400_000 - self.start_ms) // 1000
        if busy:
            return int(min(w, until_s - t0, next_midnight - t0))
        span = min(int(self.next_dep.min()) - t0, next_midnight - t0, until_s - t0)
        if self.charging.any():
            span = min(span, 5 * w)
        return int(max(min(span - span % w, DAY_S), min(w, until_s - t0)))

    def step(self, until_s: int | None = None) -> Frame:
        """Advance one window (ending no later than until_s, in sim seconds) and return it."""
        until = until_s if until_s is not None else self.t + DAY_S
        t0 = self.t
        W = self._window_len(until)
        t0_ms = self._ms(t0)
        ambient = self.climate.air_c(t0_ms + W * 500)
        self._temp_sum += ambient * W
        self._temp_n += W

        for v in np.nonzero(~self.driving & (self.next_dep < t0 + W))[0].tolist():
            self._start_drive(v, max(int(self.next_dep[v]), t0), ambient)

        awake = ~self.driving & (
            (self.parked_since + self.config.awake_s > t0) | (self.awake_until > t0)
        )
        online_idx = np.nonzero(self.driving | self.charging | awake)[0]
        frame = _window(self, online_idx, t0, W, ambient)

        # arrivals and finished charges, in vehicle order (deterministic)
        ends = self.drive_start + self.drive_len
        for v in np.nonzero(self.driving & (ends <= t0 + W))[0].tolist():
            self._arrive(v, int(ends[v]))
        self.faults.check_dtcs(online_idx, ambient, t0_ms + W * 1000, self.rng)
        self.t = t0 + W
        if self._ms(self.t) % 86_400_000 == 0:
            self._daily()
        return frame

    def _daily(self) -> None:
        day_ms = self._ms(self.t) - 86_400_000
        mean_temp = self._temp_sum / max(self._temp_n, 1) + 8.0
        days = (self.t) / DAY_S
        for gi, a, b in self.groups:
            if a == b:
                continue
            pack = self.packs[gi]
            m = self.models[gi]
            soh = physics.capacity_fade(
                m,
                self.age0_days[a:b] + days,
                self.cycles0[a:b] + pack.full_cycles(),
                0.5 * (mean_temp + self.mean_temp_c),
                self.ageing[a:b],
            )
            pack.set_soh(soh)
            fc = pack.full_cycles() + self.cycles0[a:b]
            for j in range(b - a):
                self.truth.soh.append(
                    SohTruth(
                        vin=self.vins[a + j],
                        day_ms=day_ms,
                        soh=round(float(soh[j]), 6),
                        capacity_kwh=round(float(pack.capacity_kwh[j]), 4),
                        full_cycles=round(float(fc[j]), 3),
                    )
                )
        self.truth.faults.extend(self.faults.daily(self._ms(self.t), self.rng))
        # a driver with nothing planned for two weeks gets new plans (rare, but never stuck)
        for v in np.nonzero((self.next_dep == _NEVER) & ~self.driving)[0].tolist():
            if not (v in self.sessions and self.sessions[v].public):
                self._schedule(v, self.t)

    def distance_m(self) -> float:
        """Distance driven by the whole fleet since the start, drives in progress included."""
        done = float((self.odometer - self.odometer0).sum())
        live = np.nonzero(self.driving)[0]
        rel = np.clip(self.t - self.drive_start[live], 0, self.drive_len[live])
        return done + float(self.pool.dist[self.drive_off[live] + rel].sum())

    def finish(self) -> Truth:
        """Close the books: faults still open and road events that happened are added."""
        end_ms = self._ms(self.t)
        self.truth.events = sorted(
            (e for e in self._pending_events if e.ts_ms < end_ms), key=lambda e: (e.ts_ms, e.vin)
        )
        self.truth.faults.extend(self.faults.still_open())
        return self.truth
