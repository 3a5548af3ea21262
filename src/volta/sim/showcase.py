"""Scenes staged at a fleet's start so that a short run shows what the platform does.

A day of ordinary drivers leaves much unseen in a given minute: fast charging is rare, and a
fault takes weeks to raise a trouble code. `stage` picks a few vehicles of a fresh fleet and
sets them up so that, at fleet second `at_s` (the moment `volta demo` opens), one is at a DC
fast charger and one charges at home, one fast-charged in the morning, a few set out across
town in the first minutes, and a few carry a
tyre leak or a weak 12 V battery far enough along for their trouble codes. Everything after
the set-up is the simulator's own physics and rules; the set-up is deterministic (same
fleet, same `at_s`, same scenes).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from volta.geo.graph import Charger, RoadGraph
from volta.sim.state import FleetState
from volta.sim.trips import Leg, Places

__all__ = ["Scenes", "stage"]

_DAY_MS = 86_400_000
_FAST_CHARGE_LEAD_S = 25 * 60  # leaves home this long before at_s, low, for a fast charger
_HOME_ERRAND_S = 55 * 60  # leaves for an errand this long before at_s, home 25 min later
_HOME_BACK_S = 30 * 60


@dataclass(frozen=True, slots=True)
class Scenes:
    """Which vehicle (fleet index) plays which scene; -1 when the fleet is too small or the
    map has no charger. `replanned`: vehicles whose plans `stage` set, which the fleet must
    schedule again."""

    fast_charge_now: int = -1
    home_charge_now: int = -1
    fast_charge_morning: int = -1
    on_road_now: tuple[int, ...] = ()
    tyre_leaks: tuple[int, ...] = ()
    weak_12v: tuple[int, ...] = ()
    replanned: tuple[int, ...] = ()


def _unplug(s: FleetState, v: int) -> None:
    """Undo the fleet's plug-in at its start (no power has flowed yet: nothing to record)."""
    s.sessions.pop(v, None)
    s.charging[v] = s.cable[v] = False


def _set_soc(s: FleetState, v: int, soc_pct: float) -> None:
    pack, j = s.pack_of(v)
    pack.energy_kwh[j] = soc_pct / 100.0 * pack.capacity_kwh[j]
    pack.soc_pct[j] = soc_pct


def _fast_charger(graph: RoadGraph, s: FleetState, v: int) -> Charger | None:
    """The nearest DC station to vehicle v (any station when the map states no DC power: the
    fleet then takes public stations as DC, `FleetConfig.dc_fallback_kw`)."""
    chargers = [c for c in graph.chargers if c.dc] or list(graph.chargers)
    chargers = [c for c in chargers if c.node != s.node[v]]
    if not chargers:
        return None
    k = np.cos(np.radians(s.lat[v]))
    d2 = [(c.lat - s.lat[v]) ** 2 + ((c.lon - s.lon[v]) * k) ** 2 for c in chargers]
    return chargers[int(np.argmin(d2))]


def _later(s: FleetState, v: int, after_s: int) -> list[Leg]:
    return [leg for leg in s.queue[v] if leg.depart_s > after_s]


def stage(
    s: FleetState,
    places: Places,
    graph: RoadGraph,
    at_s: int,
    start_ms: int,
    rng: np.random.Generator,
) -> Scenes:
    """Set up the scenes on a fleet just created (parked at home, first day planned)."""
    order = [int(v) for v in rng.permutation(s.n)]
    cast: list[int] = []

    def pick(wanted: int, busy_before: int | None = None) -> list[int]:
        """`wanted` vehicles not yet cast; with `busy_before`, only ones planned to leave
        before that second (so they wake up and report during the run)."""
        found: list[int] = []
        for v in order:
            if len(found) == wanted:
                break
            if v in cast:
                continue
            q = s.queue[v]
            if busy_before is not None and not (q and q[0].depart_s < busy_before):
                continue
            found.append(v)
        cast.extend(found)
        return found

    replanned: list[int] = []
    fast_now = home_now = fast_morning = -1
    # At a DC fast charger now: a car without a home charger, nearly empty, stayed in all day.
    for v in pick(1):
        ch = _fast_charger(graph, s, v)
        if ch is None:
            break
        _unplug(s, v)
        s.drivers[v] = replace(s.drivers[v], home_charger_kw=0.0, public_below_soc=30.0)
        _set_soc(s, v, 12.0)
        depart = max(at_s - _FAST_CHARGE_LEAD_S, 0)
        s.queue[v] = deque([Leg(depart, (), ch.node, "charge"), *_later(s, v, at_s + 3600)])
        fast_now = v
        replanned.append(v)
    # Charging at home now: back from an errand half an hour ago, plugged in on arrival.
    for v in pick(1):
        _unplug(s, v)
        s.drivers[v] = replace(s.drivers[v], home_charger_kw=11.0, plug_below_soc=90.0)
        _set_soc(s, v, 45.0)
        home = int(places.anchors[s.drivers[v].home])
        errand = int(places.anchors[int(rng.choice(places.errands))])
        s.queue[v] = deque(
            [
                Leg(max(at_s - _HOME_ERRAND_S, 0), (), errand, "errand"),
                Leg(max(at_s - _HOME_BACK_S, 0), (), home, "home"),
                *_later(s, v, at_s + 7200),
            ]
        )
        home_now = v
        replanned.append(v)
    # A fast charge early in the day: left nearly empty overnight, no charger at home.
    for v in pick(1):
        ch = _fast_charger(graph, s, v)
        if ch is None:
            break
        _unplug(s, v)
        s.drivers[v] = replace(s.drivers[v], home_charger_kw=0.0, public_below_soc=30.0)
        _set_soc(s, v, 9.0)
        depart = min(1800, at_s // 4)
        s.queue[v] = deque([Leg(depart, (), ch.node, "charge"), *_later(s, v, depart + 7200)])
        fast_morning = v
        replanned.append(v)
    # On the road in the first minutes: a few cars set out across town (three waypoints, five
    # to ten minutes' drive) from a minute before at_s to six minutes after it, so that some
    # still drive when a slow machine has only just loaded the history.
    road = pick(max(2, s.n // 12))
    for v in road:
        a = places.anchors
        errand = int(a[int(rng.choice(places.errands))])
        via = tuple(int(a[int(w)]) for w in rng.integers(len(a), size=3))
        out = Leg(max(at_s + int(rng.integers(-60, 360)), 0), via, errand, "errand")
        back = Leg(at_s + int(rng.integers(1800, 3600)), (), int(a[s.drivers[v].home]), "home")
        s.queue[v] = deque(sorted([*s.queue[v], out, back], key=lambda leg: leg.depart_s))
        replanned.append(v)
    # Faults far enough along for their trouble codes, on cars that drive during the run.
    leaks = pick(max(1, s.n // 25), busy_before=at_s - 1800)
    for v in leaks:  # about 70 kPa lost: a warning, not yet a flat (`volta.alerts`)
        s.faults.start_tyre_leak(v, int(rng.integers(4)), 12.0, start_ms - 6 * _DAY_MS)
    weak = pick(max(1, s.n // 50), busy_before=at_s - 1800)
    for v in weak:  # resting at ~11.6 V: under the 12.0 V code and the 11.8 V warning
        s.faults.start_weak_12v(v, 0.04, start_ms - 25 * _DAY_MS)
    return Scenes(
        fast_charge_now=fast_now,
        home_charge_now=home_now,
        fast_charge_morning=fast_morning,
        on_road_now=tuple(road),
        tyre_leaks=tuple(leaks),
        weak_12v=tuple(weak),
        replanned=tuple(replanned),
    )
