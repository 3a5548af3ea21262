"""Follows the trips vehicles are on: checks each against its car's twin and replans.

Who: the process that holds the twin (like `volta.alertwatch`). Every `WATCH_S` seconds, for
each vehicle's active trip (`planner.trips`) whose position or SoC has a newer sample than the
last check, it finds where the car is on the route and the SoC it will reach its next stop or
the destination with (`planner.live.check`). When that is more than `SOC_TOLERANCE_PP` under
the plan (or the car left the route), it plans again from where the car is with the charge it
has and the trip's own preferences, keeps that beside the check, and `alerts()` reports a
`trip_soc` alert that the alert log raises (and clears once a check is as planned again).
The replan is offered, not followed: planning the trip again makes it the trip followed.
`follow` makes one of the trip's close alternatives the plan checked (the driver's choice).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import msgspec

from volta.alerts import Alert, Severity
from volta.catalog import Catalog
from volta.clock import Clock
from volta.derived.store import DerivedStore
from volta.periodic import Periodic
from volta.planner.filters import ChargerFilter
from volta.planner.live import check
from volta.planner.plan import PlanError
from volta.planner.service import AMBIENT_C, TripPlanner
from volta.planner.trips import (
    ACTIVE_MS,
    KIND,
    CheckRecord,
    Replanned,
    TripRecord,
    follow,
    route_of,
)
from volta.twin.state import Twin
from volta.vehicles.model import load_model

__all__ = ["WATCH_S", "TripWatch"]

log = logging.getLogger(__name__)

WATCH_S = 10.0
LAT = "Vehicle.CurrentLocation.Latitude"
LON = "Vehicle.CurrentLocation.Longitude"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"


class TripWatch:
    """Checks active trips against the twin; stores what it found; reports the alerts."""

    def __init__(
        self,
        derived: DerivedStore,
        twin: Twin,
        catalog: Catalog,
        planner: Callable[[], TripPlanner],
        clock: Clock,
        interval_s: float = WATCH_S,
    ) -> None:
        self.derived = derived
        self.twin = twin
        self.catalog = catalog
        self.planner = planner
        self.clock = clock
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._job = Periodic(
            "trip-watch",
            lambda: self.interval_s,
            self._check_all_locked,
            log,
            "trips: could not check the active trips",
        )

    def save(self, trip: TripRecord) -> None:
        self.derived.upsert(KIND, [trip])

    def active(self, vin: str | None = None) -> list[TripRecord]:
        """The trip each vehicle is on (its newest, planned within ACTIVE_MS, not arrived)."""
        since = self.clock() - ACTIVE_MS
        newest: dict[str, TripRecord] = {}
        for t in self.derived.list(KIND, TripRecord, vin=vin, start_ms=since, limit=100_000):
            newest.setdefault(t.vin, t)  # newest first
        return [t for t in newest.values() if t.status == "active"]

    def follow(self, trip: TripRecord, k: int) -> TripRecord:
        """The trip now following its alternative `k` (`trips.follow`), stored and returned."""
        # under the watch's lock: a periodic check running meanwhile would store the trip back
        # with the old route
        with self._lock:
            current = self.derived.get(KIND, TripRecord, trip.id) or trip
            followed = follow(current, k)
            self.save(followed)
        return followed

    def check(self, trip: TripRecord, force: bool = False) -> TripRecord:
        """Check the trip against its car's latest position and SoC; stored and returned. Not
        again (unless forced) when the twin has nothing newer than the last check."""
        values = self.twin.get(trip.vin)
        got = [values.get(self.catalog.get(p).id) for p in (LAT, LON, SOC)]
        if any(v is None or v.num is None for v in got):
            return trip
        lat, lon, soc = (float(v.num) for v in got if v is not None and v.num is not None)
        sample_ms = max(v.ts_ms for v in got if v is not None)
        if not force and trip.check is not None and sample_ms <= trip.check.sample_ms:
            return trip
        planner = self.planner()
        net = planner.net
        reached = trip.check.position if trip.check is not None else 0
        c = check(net, route_of(trip), net.to_xy(lat, lon), soc, reached)
        replanned = None if c.as_planned or c.arrived else self.replan(planner, trip, lat, lon, soc)
        ok = bool(c.as_planned or c.arrived)
        record = CheckRecord(
            checked_ms=self.clock(), sample_ms=sample_ms, lat=lat, lon=lon, soc=soc,
            position=int(c.position), off_route_m=round(float(c.off_route_m), 1),
            target_name=c.target_name, predicted_soc=round(float(c.predicted_soc), 2),
            planned_soc=round(float(c.planned_soc), 2), min_soc=float(c.min_soc), as_planned=ok,
            message="" if ok else c.message(), replanned=replanned,
        )  # fmt: skip
        status = "arrived" if bool(c.arrived) else trip.status
        updated = msgspec.structs.replace(trip, check=record, status=status)
        self.save(updated)
        return updated

    def replan(
        self, planner: TripPlanner, trip: TripRecord, lat: float, lon: float, soc: float
    ) -> Replanned:
        """The trip planned again from where the car is, with its preferences and calibration."""
        r = trip.request
        dest = r.get("destination")
        started = time.perf_counter()
        try:
            if not isinstance(dest, dict):  # the stored API body, validated when planned
                raise PlanError("the stored trip has no destination")
            planned = planner.plan(
                load_model(trip.model),
                (lat, lon),
                (float(dest["lat"]), float(dest["lon"])),
                start_soc=soc,
                min_arrival_soc=_num(r, "min_arrival_soc", 10.0),
                min_charger_soc=_num(r, "min_charger_soc", 10.0),
                max_charge_soc=_num(r, "max_charge_soc", 100.0),
                filters=ChargerFilter.of(
                    _num(r, "min_power_kw", 0.0), _strs(r, "connectors"), _strs(r, "networks")
                ),
                prefer_fewer_stops=bool(r.get("prefer_fewer_stops", False)),
                energy_factor=trip.energy_factor,
                ambient_c=_num(r, "ambient_c", AMBIENT_C),
                payload_kg=_num(r, "payload_kg", 0.0),
            )
        except PlanError as e:
            ms = (time.perf_counter() - started) * 1000.0
            return Replanned(total_min=0, arrival_soc=0, stops=[], stop_soc=[], replan_ms=ms,
                             error=str(e))  # fmt: skip
        ms = (time.perf_counter() - started) * 1000.0
        plan = planned.plan
        return Replanned(
            total_min=round(plan.total_s / 60.0, 2),
            arrival_soc=round(plan.arrival_soc, 2),
            stops=[s.site.name for s in plan.stops],
            stop_soc=[(round(s.arrival_soc, 2), round(s.departure_soc, 2)) for s in plan.stops],
            replan_ms=round(ms, 2),
        )

    def check_all(self) -> None:
        for trip in self.active():
            try:
                self.check(trip)
            except Exception:  # one trip's trouble (a model file gone) must not stop the rest
                log.exception("trips: could not check trip %s of %s", trip.id, trip.vin)

    def alerts(self) -> list[Alert]:
        """A `trip_soc` alert for every vehicle whose active trip's last check failed."""
        out = []
        for t in self.active():
            c = t.check
            if c is None or c.as_planned:
                continue
            severity: Severity = "critical" if c.predicted_soc < c.min_soc else "warning"
            offer = ""
            if c.replanned is not None and c.replanned.error is None:
                via = ", ".join(c.replanned.stops) or "no stop"
                offer = f"; replanned: via {via}, arriving with {c.replanned.arrival_soc:.0f} %"
            message = f"Trip: {c.message}{offer}"
            out.append(Alert(t.vin, "trip_soc", severity, SOC, round(c.predicted_soc, 1),
                             c.sample_ms, message))  # fmt: skip
        return out

    def start(self) -> None:
        self._job.start()

    def _check_all_locked(self) -> None:
        with self._lock:
            self.check_all()

    def stop(self) -> None:
        self._job.stop()


def _num(body: dict[str, object], key: str, default: float) -> float:
    v = body.get(key)
    return float(v) if isinstance(v, (int, float)) else default


def _strs(body: dict[str, object], key: str) -> list[str]:
    v = body.get(key)
    return [str(x) for x in v] if isinstance(v, list) else []
