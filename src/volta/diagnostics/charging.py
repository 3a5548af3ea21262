"""Charging failures attributed to the car or to the charger.

Per session a failure looks the same whoever caused it: the car reports `P1C01` (charging
aborted) and its freeze frame says where. Across sessions the two differ: a charger that fails
several different cars is the charger's fault (one alert for the charge-point operator, no case
on each car); a car that fails at several places, or again and again at a place no other car
fails at, is the car's. The sessions that went well sharpen both: a site where other cars
charge fine is not broken, a car that charges fine elsewhere is not. Pure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from volta.geo.distance import haversine_m

__all__ = ["Attribution", "CarAlert", "ChargeFailure", "ChargerAlert", "attribute"]

SITE_M = 40.0  # sessions this close are at one site (a station's chargers, GPS noise)
CHARGER_CARS = 2  # distinct cars failing at one site: the charger's fault
CAR_FAILURES = 2  # failures of one car not explained by a failing charger: the car's fault
# Other cars' failures at a site within 2 days of a failure count, and their sessions that went
# well from 6 h before it to 2 days after: a charger breaks at some moment, so the sessions that
# went well before then say little.
SITE_BEFORE_MS = 6 * 3_600_000
SITE_AFTER_MS = 2 * 86_400_000
CAR_WINDOW_MS = 7 * 86_400_000  # the car's sessions elsewhere this close in time count
Cause = Literal["car", "charger", "undecided"]


@dataclass(frozen=True, slots=True)
class ChargeFailure:
    """One aborted session: which car, when, where (from the code's freeze frame)."""

    vin: str
    ts_ms: int
    lat: float
    lon: float


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


def _sites(points: list[tuple[float, float]]) -> list[int]:
    """A site index per point: the first site within SITE_M of it, else a new one."""
    centres: list[tuple[float, float]] = []
    out = []
    for lat, lon in points:
        for i, (clat, clon) in enumerate(centres):
            if float(haversine_m(clat, clon, lat, lon)) <= SITE_M:
                out.append(i)
                break
        else:
            centres.append((lat, lon))
            out.append(len(centres) - 1)
    return out


def _share(fails: int, total: int) -> float | None:
    return fails / total if total else None


def attribute(
    failures: list[ChargeFailure], successes: list[ChargeFailure] | tuple[()] = ()
) -> Attribution:
    """Who is at fault for each failure, and the charger and car alerts. `successes` are the
    sessions that went well (same fields): they say a site works for other cars.

    Per failure of car v at site s: if the other cars' sessions at s around then (failures
    within 2 days, good sessions from 6 h before to 2 days after) failed (≥ 50 %), the site is
    failing. A car with ≥ 2 failures within 7 days
    that no failing site explains is failing (a healthy car's sessions do not fail), wherever
    it charged, its home included. A failure at a failing site is the charger's unless the
    car is failing too and fewer than two other cars failed there; a failure of a failing car
    elsewhere is the car's; anything else stays undecided until more sessions come."""
    sessions = [(f, True) for f in failures] + [(f, False) for f in successes]
    site = _sites([(f.lat, f.lon) for f, _ in sessions])
    at_site: dict[int, list[tuple[ChargeFailure, bool]]] = defaultdict(list)
    for (f, failed), s in zip(sessions, site, strict=True):
        at_site[s].append((f, failed))
    n = len(failures)
    # 1. is the site failing other cars around then (≥ 50 % of their sessions there)?
    site_bad: list[bool] = []
    failing_others: list[int] = []
    for f, s in zip(failures, site[:n], strict=True):
        others = [
            (g.vin, x)
            for g, x in at_site[s]
            if g.vin != f.vin
            and -(SITE_AFTER_MS if x else SITE_BEFORE_MS) <= g.ts_ms - f.ts_ms <= SITE_AFTER_MS
        ]
        share = _share(sum(x for _, x in others), len(others))
        site_bad.append(share is not None and share >= 0.5)
        failing_others.append(len({v for v, x in others if x}))
    # 2. how many of the car's failures around then no failing site explains? A healthy car's
    # sessions do not fail, so two such failures are the car's (wherever it charged).
    unexplained: dict[str, list[int]] = defaultdict(list)
    for f, bad in zip(failures, site_bad, strict=True):
        if not bad:
            unexplained[f.vin].append(f.ts_ms)
    causes: list[Cause] = []
    for f, bad, k in zip(failures, site_bad, failing_others, strict=True):
        own = sum(abs(t - f.ts_ms) <= CAR_WINDOW_MS for t in unexplained[f.vin])
        car_bad = own >= CAR_FAILURES
        cause: Cause = "undecided"
        if bad and (not car_bad or k >= CHARGER_CARS):
            cause = "charger"
        elif car_bad:
            cause = "car"
        causes.append(cause)
    return Attribution(tuple(causes), *_alerts(failures, site[: len(failures)], causes))


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
