"""Charging failures attributed to the car or to the charger.

Per session a failure looks the same whoever caused it: the car reports `P1C01` (charging
aborted) and its freeze frame says where. Across sessions the two differ: a charger that fails
several different cars is the charger's fault (one alert for the charge-point operator, no case
on each car); a car that fails at several places, or again and again at a place no other car
fails at, is the car's; a site where only cars that fail everywhere failed is not the charger's.
`attribute` decides from the failures alone. Pure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from volta.geo.distance import haversine_m

__all__ = ["Attribution", "CarAlert", "ChargeFailure", "ChargerAlert", "attribute"]

SITE_M = 150.0  # failures this close are at one site (a station's chargers, GPS noise)
CHARGER_CARS = 2  # distinct cars failing at one site: the charger's fault
CAR_FAILURES = 2  # failures of one car not explained by a failing charger: the car's fault
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


def _sites(failures: list[ChargeFailure]) -> list[int]:
    """A site index per failure: the first site within SITE_M of it, else a new one."""
    centres: list[tuple[float, float]] = []
    out = []
    for f in failures:
        for i, (lat, lon) in enumerate(centres):
            if float(haversine_m(lat, lon, f.lat, f.lon)) <= SITE_M:
                out.append(i)
                break
        else:
            centres.append((f.lat, f.lon))
            out.append(len(centres) - 1)
    return out


def attribute(failures: list[ChargeFailure]) -> Attribution:
    """Who is at fault for each failure, and the charger and car alerts."""
    order = sorted(range(len(failures)), key=lambda i: failures[i].ts_ms)
    ordered = [failures[i] for i in order]
    site = _sites(ordered)
    cars_at: dict[int, set[str]] = defaultdict(set)
    for f, s in zip(ordered, site, strict=True):
        cars_at[s].add(f.vin)
    # A car fails at several sites, or again and again where no other car fails (its home):
    # the car. A site where at least two cars *not* failing elsewhere failed: the charger.
    sites_of: dict[str, set[int]] = defaultdict(set)
    count: dict[str, int] = defaultdict(int)
    for f, s in zip(ordered, site, strict=True):
        sites_of[f.vin].add(s)
        count[f.vin] += 1
    bad_car = {
        vin
        for vin, ss in sites_of.items()
        if len(ss) >= 2 or (count[vin] >= CAR_FAILURES and all(len(cars_at[s]) == 1 for s in ss))
    }
    bad_site = {s for s, vins in cars_at.items() if len(vins - bad_car) >= CHARGER_CARS}
    own: dict[str, list[tuple[ChargeFailure, int]]] = defaultdict(list)
    for f, s in zip(ordered, site, strict=True):
        if s not in bad_site:
            own[f.vin].append((f, s))
    causes_ordered: list[Cause] = [
        "charger" if s in bad_site else "car" if f.vin in bad_car else "undecided"
        for f, s in zip(ordered, site, strict=True)
    ]
    causes: list[Cause] = ["undecided"] * len(failures)
    for i, c in zip(order, causes_ordered, strict=True):
        causes[i] = c
    chargers = []
    for s in sorted(bad_site):
        fs = [f for f, k in zip(ordered, site, strict=True) if k == s]
        n = len(cars_at[s])
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
    for vin in sorted(bad_car):
        fs2 = own[vin]
        if not fs2:  # all its failures were at failing chargers
            continue
        sites = len({s for _, s in fs2})
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
    return Attribution(tuple(causes), tuple(chargers), tuple(cars))
