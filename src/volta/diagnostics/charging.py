"""Charging failures attributed to the car or to the charger.

Per session a failure looks the same whoever caused it: the car reports `P1C01` (charging
aborted) and its freeze frame says where and at what power. Across sessions the two differ: a
charger that fails several different cars is the charger's fault (one alert for the
charge-point operator, no case on each car); a car that fails at several places, or again and
again at a place no other car fails at, is the car's. The sessions that went well sharpen both:
a broken charger fails nearly every session, so a site where cars (this one included) charged
fine around then is not broken. A site is a place *and* a kind of supply: a DC fast charger and
the AC wallboxes of the houses around it are different chargers. Pure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from volta.geo.distance import haversine_m

__all__ = ["Attribution", "CarAlert", "ChargeFailure", "ChargerAlert", "attribute"]

SITE_M = 40.0  # sessions this close are at one site (a station's chargers, GPS noise)
CHARGER_CARS = 2  # distinct cars' failures put on one site: an alert for its operator
CAR_FAILURES = 2  # failures of one car not explained by a failing charger: the car's fault
# Other cars' failures at a site within 2 days of a failure count, and the sessions that went
# well from 6 h before it to 2 days after: a charger breaks at some moment, so the sessions that
# went well before then say little.
SITE_BEFORE_MS = 6 * 3_600_000
SITE_AFTER_MS = 2 * 86_400_000
# A session's word on the site counts less the further it is in time from the failure (6 h
# away: half): a charger breaks and is repaired at some moment, the nearest sessions tell.
NEAR_MS = 6 * 3_600_000
CAR_WINDOW_MS = 7 * 86_400_000  # the car's sessions elsewhere this close in time count
Cause = Literal["car", "charger", "undecided"]


@dataclass(frozen=True, slots=True)
class ChargeFailure:
    """One aborted session: which car, when, where (from the code's freeze frame)."""

    vin: str
    ts_ms: int
    lat: float
    lon: float
    dc: bool = False  # the session drew more than an AC wallbox gives: a DC fast charger


@dataclass(frozen=True, slots=True)
class ChargerAlert:
    """A site whose charger fails different cars: for the charge-point operator."""

    lat: float
    lon: float
    vehicles: int
    failures: int
    first_ms: int
    last_ms: int
    message: str


@dataclass(frozen=True, slots=True)
class CarAlert:
    """A car whose own charging fails, wherever it plugs in."""

    vin: str
    failures: int
    sites: int
    first_ms: int
    last_ms: int
    message: str


@dataclass(frozen=True, slots=True)
class Attribution:
    """Each failure's cause (in the order given) and the alerts they add up to."""

    causes: tuple[Cause, ...]
    chargers: tuple[ChargerAlert, ...]
    cars: tuple[CarAlert, ...]


def _sites(points: list[tuple[float, float, bool]]) -> list[int]:
    """A site index per (lat, lon, dc): the first site of that supply within SITE_M of it,
    else a new one."""
    centres: list[tuple[float, float, bool]] = []
    out = []
    for lat, lon, dc in points:
        for i, (clat, clon, cdc) in enumerate(centres):
            if cdc == dc and float(haversine_m(clat, clon, lat, lon)) <= SITE_M:
                out.append(i)
                break
        else:
            centres.append((lat, lon, dc))
            out.append(len(centres) - 1)
    return out


def attribute(
    failures: list[ChargeFailure], successes: list[ChargeFailure] | tuple[()] = ()
) -> Attribution:
    """Who is at fault for each failure, and the charger and car alerts. `successes` are the
    sessions that went well (same fields): they say a site works.

    Per failure of car v at site s:
    1. the site is failing if other cars' failures there (within 2 days) outweigh the
       sessions that went well there (any car's, v's own too, from 6 h before to 2 days
       after), each weighed by its nearness in time — a broken charger fails nearly every
       session until it is repaired; failures of cars that failed at two other sites that
       week do not count (they are those cars' own);
    2. the car is failing if ≥ 2 of its failures within 7 days happened at sites that are
       not failing (a healthy car's sessions do not fail), wherever it charged;
    3. a failure at a failing site is the charger's, unless the car is failing too and no
       second other car failed there; else a failing car's is the car's; else a failure at a
       site that worked around then, or at a site only v ever used (its own wallbox: no
       charge-point operator to alert), is the car's; anything else stays undecided until
       more sessions come."""
    sessions = [(f, True) for f in failures] + [(f, False) for f in successes]
    site = _sites([(f.lat, f.lon, f.dc) for f, _ in sessions])
    at_site: dict[int, list[tuple[ChargeFailure, bool]]] = defaultdict(list)
    for (f, failed), s in zip(sessions, site, strict=True):
        at_site[s].append((f, failed))
    n = len(failures)
    wandering = _wandering(failures, site[:n])
    evidence = [
        _site_evidence(f, at_site[s], wandering) for f, s in zip(failures, site[:n], strict=True)
    ]
    unexplained: dict[str, list[int]] = defaultdict(list)
    for f, (bad, _, _) in zip(failures, evidence, strict=True):
        if not bad:
            unexplained[f.vin].append(f.ts_ms)
    causes: list[Cause] = []
    for f, (bad, fine, k) in zip(failures, evidence, strict=True):
        own = sum(abs(t - f.ts_ms) <= CAR_WINDOW_MS for t in unexplained[f.vin])
        car_bad = own >= CAR_FAILURES
        cause: Cause = "undecided"
        if bad and (not car_bad or k >= CHARGER_CARS):
            cause = "charger"
        elif car_bad or fine:
            cause = "car"
        causes.append(cause)
    return Attribution(tuple(causes), *_alerts(failures, site[:n], causes))


def _site_evidence(
    f: ChargeFailure, here: list[tuple[ChargeFailure, bool]], wandering: set[tuple[str, int]]
) -> tuple[bool, bool, int]:
    """What the site's other sessions say about failure f: (failing, worked around then or
    only f's car uses it, other cars that failed there)."""
    fails = ok = 0.0
    cars: set[str] = set()
    for g, failed in here:
        dt = g.ts_ms - f.ts_ms
        weight = NEAR_MS / (NEAR_MS + abs(dt))
        if failed:
            if g.vin != f.vin and (g.vin, g.ts_ms) not in wandering and abs(dt) <= SITE_AFTER_MS:
                fails += weight
                cars.add(g.vin)
        elif -SITE_BEFORE_MS <= dt <= SITE_AFTER_MS:
            ok += weight
    private = all(g.vin == f.vin for g, _ in here) and not all(x for _, x in here)
    return fails > ok, ok > 0 or private, len(cars)


def _wandering(failures: list[ChargeFailure], site: list[int]) -> set[tuple[str, int]]:
    """The failures (vin, ts) of cars that also failed at two other sites within 7 days: a
    charger cannot follow a car around, so they say nothing about this site."""
    by_car: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for f, s in zip(failures, site, strict=True):
        by_car[f.vin].append((f.ts_ms, s))
    out = set()
    for vin, xs in by_car.items():
        for t, s in xs:
            others = {k for u, k in xs if k != s and abs(u - t) <= CAR_WINDOW_MS}
            if len(others) >= 2:
                out.add((vin, t))
    return out


def _alerts(
    failures: list[ChargeFailure], site: list[int], causes: list[Cause]
) -> tuple[tuple[ChargerAlert, ...], tuple[CarAlert, ...]]:
    """A charger alert per site with failures of ≥ 2 cars put on the charger; a car alert per
    car with ≥ 2 failures put on the car."""
    by_site: dict[int, list[ChargeFailure]] = defaultdict(list)
    by_car: dict[str, list[tuple[ChargeFailure, int]]] = defaultdict(list)
    for f, s, c in zip(failures, site, causes, strict=True):
        if c == "charger":
            by_site[s].append(f)
        elif c == "car":
            by_car[f.vin].append((f, s))
    chargers = []
    for s in sorted(by_site):
        fs = sorted(by_site[s], key=lambda f: f.ts_ms)
        n = len({f.vin for f in fs})
        if n < CHARGER_CARS:
            continue
        chargers.append(
            ChargerAlert(
                lat=fs[0].lat,
                lon=fs[0].lon,
                vehicles=n,
                failures=len(fs),
                first_ms=fs[0].ts_ms,
                last_ms=fs[-1].ts_ms,
                message=f"Charger at {fs[0].lat:.5f}, {fs[0].lon:.5f} aborted {len(fs)} "
                f"sessions of {n} different cars",
            )
        )
    cars = []
    for vin in sorted(by_car):
        fs2 = sorted(by_car[vin], key=lambda x: x[0].ts_ms)
        if len(fs2) < CAR_FAILURES:
            continue
        sites = len({k for _, k in fs2})
        cars.append(
            CarAlert(
                vin=vin,
                failures=len(fs2),
                sites=sites,
                first_ms=fs2[0][0].ts_ms,
                last_ms=fs2[-1][0].ts_ms,
                message=f"Charging aborted {len(fs2)} times at {sites} place(s) where other "
                "cars charge: the car's on-board charging",
            )
        )
    return tuple(chargers), tuple(cars)
