"""The fleet engine: N EVs driving real roads, parking, charging, ageing and failing.

Time advances in windows (60 s by default, longer when the whole fleet is parked). Within a
window every second of every *online* vehicle (driving, charging or awake) is one column of
numpy matrices: drives are pre-computed 1 s speed profiles gathered from a shared pool,
physics runs once per vehicle model over the whole matrix, and the battery is integrated with
a cumulative sum. Asleep vehicles cost one closed-form vampire-drain update per window.
Each window yields a `Frame` (the online vehicles' per-second state) for `signals` to turn
into telemetry; ground truth accumulates in `self.truth`.

`Fleet` holds the world (roads, places, climate, randomness, truth) and the rules (plans,
departures, arrivals, charging sessions, ageing); every vehicle's state is in `self.state`
(`volta.sim.state`), which `window` integrates and remote commands change.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from volta.geo.graph import Charger, RoadGraph
from volta.geo.osm import load_roads
from volta.sim.environment import Climate
from volta.sim.faults import FaultRates
from volta.sim.hazards import place_potholes
from volta.sim.ledger import OpenDrive
from volta.sim.showcase import Scenes, stage
from volta.sim.state import DAY_S, NEVER, FleetState, new_state
from volta.sim.surface import Surface, SurfaceRates
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
from volta.vehicles.model import list_models, load_model

__all__ = ["Fleet", "FleetConfig", "Frame", "local_offset_s", "roster"]


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
    # ice, rough road, speed bumps, queues, noise (volta.sim.surface); off by default
    surface: SurfaceRates = field(default_factory=SurfaceRates)
    # The drivers' day runs this much later than the local clock (`volta demo` shows a
    # weekday afternoon at night); sample times and the air temperature keep the real hour.
    day_shift_s: int = 0
    # >= 0: a few scenes are staged to be under way at this fleet second (volta.sim.showcase)
    showcase_s: int = -1


def local_offset_s(graph: RoadGraph) -> int:
    """Local time minus UTC where the map lies, in seconds: its mean longitude's time zone
    (UTC + round(longitude / 15) h; no daylight saving)."""
    return round(float(np.mean(graph.lon)) / 15.0) * 3600


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
        self.vins = [vin for vin, _ in roster(c)]
        g = self.graph
        self.places = make_places(g, c.seed)
        self.potholes = place_potholes(g, c.seed, c.pothole_per_km)
        self.pothole_edges = self.potholes.on_edges()
        self.climate = Climate(c.seed, float(np.mean(g.lat)), float(np.mean(g.lon)))
        self.surface = (
            Surface(g, c.seed, c.surface, self.climate, self.start_ms) if c.surface.on else None
        )
        # the offset of the drivers' clock (their plans) from UTC
        self.utc_offset_s = local_offset_s(g) + c.day_shift_s
        self.has_dc = any(ch.dc for ch in g.chargers)
        self.vrng = [np.random.default_rng([c.seed, 1, i]) for i in range(c.vehicles)]
        drivers: list[Driver] = [make_driver(self.places, r) for r in self.vrng]
        if not g.chargers:  # nowhere public to charge on this map: everyone charges at home
            drivers = [
                d
                if d.home_charger_kw > 0
                else replace(d, home_charger_kw=7.4, public_below_soc=15.0)
                for d in drivers
            ]
        self.mean_temp_c = self.climate.mean_c + 8.0  # packs run warmer than the air
        home = np.array([int(self.places.anchors[d.home]) for d in drivers], dtype=np.int64)
        self.state: FleetState = new_state(
            [load_model(n) for n in names],
            np.array(chosen, dtype=np.int64),
            drivers,
            home,
            g,
            rng,
            today=self._local_day(0),
            vins=self.vins,
            mean_temp_c=self.mean_temp_c,
            cabin_c=self.climate.air_c(self.start_ms),
            ageing=c.ageing,
            fault_rates=c.faults,
        )
        s = self.state
        self.truth = Truth()
        self.truth.vehicles = [
            VehicleTruth(
                vin=self.vins[i],
                model=names[int(s.model_of[i])],
                token=make_token(c.seed, self.vins[i]),
                home_lat=float(s.lat[i]),
                home_lon=float(s.lon[i]),
                home_charger_kw=s.drivers[i].home_charger_kw,
            )
            for i in range(s.n)
        ]
        self.truth.hazards = self.potholes.truth()
        self._pending_events: list[RoadEventTruth] = []
        self._temp_sum, self._temp_n = 0.0, 0
        for i in range(s.n):
            self._schedule(i, 0)
            d = s.drivers[i]
            if d.home_charger_kw > 0 and s.soc(i) < d.plug_below_soc:
                s.plug(
                    i, 0, dc=False, kw=d.home_charger_kw, target=d.charge_limit_soc, charger="home"
                )
        self.scenes = Scenes()
        if c.showcase_s >= 0:
            rng_scenes = np.random.default_rng([c.seed, 0x5CE7E])
            self.scenes = stage(s, self.places, g, c.showcase_s, self.start_ms, rng_scenes)
            for v in self.scenes.replanned:
                self._schedule(v, 0)
                kw = s.drivers[v].home_charger_kw  # a scene may give or take a home charger
                self.truth.vehicles[v] = replace(self.truth.vehicles[v], home_charger_kw=kw)

    # -- small helpers ------------------------------------------------------------------
    def _ms(self, t: int) -> int:
        return self.start_ms + t * 1000

    def _local_day(self, t: int) -> int:
        return (self._ms(t) + self.utc_offset_s * 1000) // 86_400_000

    # -- planning -----------------------------------------------------------------------
    def _schedule(self, v: int, earliest: int) -> None:
        s = self.state
        q = s.queue[v]
        for _ in range(14):
            if q:
                break
            day = int(s.planned_day[v]) + 1
            s.planned_day[v] = day
            midnight = (day * 86_400_000 - self.utc_offset_s * 1000 - self.start_ms) // 1000
            weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
            legs = plan_day(s.drivers[v], self.places, int(midnight), weekday, self.vrng[v])
            q.extend(leg for leg in legs if leg.depart_s >= earliest - 3600)
        s.next_dep[v] = max(q[0].depart_s, earliest) if q else NEVER

    def end_charge(self, v: int, t: int) -> None:
        """Close vehicle v's charging session at second t and record it (a public cable is
        unplugged)."""
        s = self.state
        session = s.sessions.pop(v)
        s.charging[v] = False
        if session.public:
            s.cable[v] = False
        if not session.started:
            return
        pack, j = s.pack_of(v)
        self.truth.charges.append(
            session.close(
                self.vins[v],
                self._ms(session.start_s),
                self._ms(t),
                float(s.lat[v]),
                float(s.lon[v]),
                float(pack.capacity_kwh[j]),
            )
        )

    def charge_finished(self, v: int, t: int) -> None:
        """A session reached its target (or the car is full): a public stop ends, drive on."""
        s = self.state
        public = s.sessions[v].public
        self.end_charge(v, t)
        if public:
            self._schedule(v, t + int(self.vrng[v].integers(60, 300)))

    def _nearest_charger(self, v: int) -> Charger | None:
        s = self.state
        chargers = self.graph.chargers
        if not chargers:
            return None
        lat, lon = s.lat[v], s.lon[v]
        k = np.cos(np.radians(lat))
        d2 = [(ch.lat - lat) ** 2 + ((ch.lon - lon) * k) ** 2 for ch in chargers]
        return chargers[int(np.argmin(d2))]

    def _start_drive(self, v: int, t: int, ambient_c: float) -> None:
        s = self.state
        leg = s.queue[v].popleft()
        if s.cable[v]:
            if s.charging[v]:
                self.end_charge(v, self.t)  # power flowed until the start of this window
            s.cable[v] = False
        d = s.drivers[v]
        pack, j = s.pack_of(v)
        soc, e = float(pack.soc_pct[j]), float(pack.energy_kwh[j])
        stops = [int(s.node[v]), *leg.via, leg.dest]
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
                and ch.node != s.node[v]
                and (soc < d.public_below_soc or e - need < 0.1 * float(pack.capacity_kwh[j]))
            ):
                s.queue[v].appendleft(leg)
                leg = Leg(t, (), ch.node, "charge")
                path = node_path(self.graph, [int(s.node[v]), ch.node])
                if path is None or len(path) < 2:
                    self._schedule(v, t + self.config.min_dwell_s)
                    return
        if self.surface is None:
            prof = drive_profile(self.graph, path, d, self.vrng[v], self.pothole_edges)
        else:
            edges = self.graph.edges_of(path)
            caps = self.surface.caps(edges, self._ms(t))
            prof = drive_profile(self.graph, path, d, self.vrng[v], self.pothole_edges, caps)
            prof = self.surface.mark(prof, edges, self.vins[v], v, self._ms(t))
        size = prof.duration_s + 1
        if not s.pool.fits(size):
            live = np.nonzero(s.driving)[0]
            s.drive_off[live] = s.pool.compact(s.drive_off[live], s.drive_len[live] + 1, size)
        s.drive_off[v] = s.pool.add(prof)
        s.drive_len[v] = prof.duration_s
        s.drive_start[v] = t
        s.driving[v] = True
        s.next_dep[v] = NEVER
        s.trips[v] = OpenDrive(
            leg=leg,
            start_s=t,
            length_s=prof.duration_s,
            length_m=prof.length_m,
            odo_start=float(s.odometer[v]),
            lat0=float(s.lat[v]),
            lon0=float(s.lon[v]),
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
        s = self.state
        trip = s.trips.pop(v)
        end = s.drive_off[v] + s.drive_len[v]
        pool = s.pool
        s.driving[v] = False
        s.lat[v], s.lon[v] = pool.lat[end], pool.lon[end]
        s.heading[v] = pool.heading[end]
        s.odometer[v] = trip.odo_start + trip.length_m
        s.node[v] = trip.leg.dest
        s.parked_since[v] = t
        pack, j = s.pack_of(v)
        self.truth.drives.append(
            trip.close(
                self.vins[v],
                self._ms(trip.start_s),
                self._ms(t),
                float(s.lat[v]),
                float(s.lon[v]),
                float(pack.capacity_kwh[j]),
            )
        )
        d = s.drivers[v]
        soc = float(pack.soc_pct[j])
        if trip.leg.purpose == "charge":
            ch = next(c for c in self.graph.chargers if c.node == trip.leg.dest)
            dc = ch.dc or (not self.has_dc and self.config.dc_fallback_kw > 0)
            kw = ch.power_kw if ch.dc or not dc else self.config.dc_fallback_kw
            s.plug(v, t, dc=dc, kw=kw, target=80.0 if dc else d.charge_limit_soc, charger=ch.osm_id)
            s.next_dep[v] = NEVER
            return
        if (
            trip.leg.dest == int(self.places.anchors[d.home])
            and d.home_charger_kw > 0
            and soc < d.plug_below_soc
        ):
            s.plug(v, t, dc=False, kw=d.home_charger_kw, target=d.charge_limit_soc, charger="home")
        self._schedule(v, t + self.config.min_dwell_s)

    # -- the window ----------------------------------------------------------------------
    def _window_len(self, until_s: int) -> int:
        s = self.state
        w = self.window_s
        t0 = self.t
        busy = (
            s.driving.any()
            or bool((s.next_dep < t0 + w).any())
            or bool((~s.driving & (s.parked_since + self.config.awake_s > t0)).any())
            or bool((~s.driving & (s.awake_until > t0)).any())
        )
        next_midnight = ((self._ms(t0) // 86_400_000 + 1) * 86_400_000 - self.start_ms) // 1000
        if busy:
            return int(min(w, until_s - t0, next_midnight - t0))
        span = min(int(s.next_dep.min()) - t0, next_midnight - t0, until_s - t0)
        if s.charging.any():
            span = min(span, 5 * w)
        return int(max(min(span - span % w, DAY_S), min(w, until_s - t0)))

    def step(self, until_s: int | None = None) -> Frame:
        """Advance one window (ending no later than until_s, in sim seconds) and return it."""
        s = self.state
        until = until_s if until_s is not None else self.t + DAY_S
        t0 = self.t
        W = self._window_len(until)
        t0_ms = self._ms(t0)
        ambient = self.climate.air_c(t0_ms + W * 500)
        self._temp_sum += ambient * W
        self._temp_n += W

        for v in np.nonzero(~s.driving & (s.next_dep < t0 + W))[0].tolist():
            self._start_drive(v, max(int(s.next_dep[v]), t0), ambient)

        awake = ~s.driving & ((s.parked_since + self.config.awake_s > t0) | (s.awake_until > t0))
        online_idx = np.nonzero(s.driving | s.charging | awake)[0]
        frame = _window(
            s,
            online_idx,
            t0,
            W,
            ambient,
            t0_ms=t0_ms,
            awake_s=self.config.awake_s,
            charge_finished=self.charge_finished,
        )
        frame = s.faults.observe(frame, s.sessions)

        # arrivals and finished charges, in vehicle order (deterministic)
        ends = s.drive_start + s.drive_len
        for v in np.nonzero(s.driving & (ends <= t0 + W))[0].tolist():
            self._arrive(v, int(ends[v]))
        s.faults.check_dtcs(online_idx, ambient, t0_ms + W * 1000, self.rng)
        self.t = t0 + W
        if self._ms(self.t) % 86_400_000 == 0:
            self._daily()
        return frame

    def _daily(self) -> None:
        s = self.state
        day_ms = self._ms(self.t) - 86_400_000
        mean_temp = self._temp_sum / max(self._temp_n, 1) + 8.0
        days = (self.t) / DAY_S
        for gi, a, b in s.groups:
            if a == b:
                continue
            pack = s.packs[gi]
            m = s.models[gi]
            soh = physics.capacity_fade(
                m,
                s.age0_days[a:b] + days,
                s.cycles0[a:b] + pack.full_cycles(),
                0.5 * (mean_temp + self.mean_temp_c),
                s.ageing[a:b],
            )
            pack.set_soh(soh)
            fc = pack.full_cycles() + s.cycles0[a:b]
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
        self.truth.faults.extend(s.faults.daily(self._ms(self.t), self.rng))
        # a driver with nothing planned for two weeks gets new plans (rare, but never stuck)
        for v in np.nonzero((s.next_dep == NEVER) & ~s.driving)[0].tolist():
            if not (v in s.sessions and s.sessions[v].public):
                self._schedule(v, self.t)

    def distance_m(self) -> float:
        """Distance driven by the whole fleet since the start, drives in progress included."""
        s = self.state
        done = float((s.odometer - s.odometer0).sum())
        live = np.nonzero(s.driving)[0]
        rel = np.clip(self.t - s.drive_start[live], 0, s.drive_len[live])
        return done + float(s.pool.dist[s.drive_off[live] + rel].sum())

    def finish(self) -> Truth:
        """Close the books: faults still open and road events that happened are added."""
        s = self.state
        end_ms = self._ms(self.t)
        events = self._pending_events
        if self.surface is not None:
            events = events + self.surface.events
            self.truth.hazards = self.potholes.truth() + self.surface.truth(end_ms)
        self.truth.events = sorted(
            (e for e in events if e.ts_ms < end_ms), key=lambda e: (e.ts_ms, e.vin)
        )
        self.truth.faults.extend(s.faults.still_open())
        self.truth.charge_failures = list(s.faults.charge_failures)
        return self.truth
