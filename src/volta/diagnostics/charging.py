"""Charging failures attributed to the car or to the charger.

Per session a failure looks the same whoever caused it: the car reports `P1C01` (charging
aborted) and its freeze frame says where and at what power. Across sessions the two differ: a
charger that fails several different cars is the charger's fault (one alert for the
charge-point operator, no case on each car); a car that fails wherever it plugs in is the
car's. A site is a place *and* a kind of supply: a DC fast charger and the AC wallboxes of the
houses around it are different chargers.

The model: each charger (site) and each car is, at any moment, working or broken, and a state
lasts (a two-state chain in continuous time: a charger breaks about every two months and is
fixed in about a week, a car's on-board charging breaks about twice a year). A session fails
with probability 0.9 at a broken charger, 0.6 for a broken car, 0.02 otherwise. A charger's
state at a failure is read from the *other* cars' sessions there (and the sessions of this car
that went well there: a broken charger fails anyone), a car's from its *other* sessions
anywhere; each failure counts for a charger as far as its car was not broken then and for a
car as far as its charger was not — passed back and forth a few rounds (belief propagation
over the chains). So several chargers broken at once do not make the cars that visit them
look broken, and a car failing in a building where the neighbours charge fine is the car.
Pure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from volta.geo.distance import haversine_m

__all__ = ["HORIZON_MS", "Attribution", "CarAlert", "ChargeFailure", "ChargerAlert", "attribute"]

SITE_M = 40.0  # sessions this close are at one site (a station's chargers, GPS noise)
CHARGER_CARS = 2  # distinct cars' failures put on one site: an alert for its operator
CAR_FAILURES = 2  # failures put on one car: an alert for the car
# The model behind the verdicts (module docstring): how often sessions fail...
CHARGER_FAILS = 0.9  # at a broken charger, whatever the car
CAR_FAILS = 0.6  # of a car whose on-board charging fails, wherever it plugs in
BASE_FAILS = 0.02  # of a healthy car at a healthy charger
# ... and how long each state lasts on average (a state persists: the nearest sessions tell)
DAY = 86_400_000
CHARGER_UP_MS, CHARGER_DOWN_MS = 60 * DAY, 7 * DAY  # breaks every two months, fixed in a week
CAR_UP_MS, CAR_DOWN_MS = 180 * DAY, 7 * DAY
# How far back the sessions still move a verdict: a chain forgets its state at the rate
# 1/up + 1/down (the week-long repairs dominate), so a session this far from a failure shifts
# what its charger's or car's state then was by less than 1/1000 (~47 days: the cars' chain)
HORIZON_MS = int(
    max(math.log(1000.0) / (1.0 / up + 1.0 / down)
        for up, down in ((CHARGER_UP_MS, CHARGER_DOWN_MS), (CAR_UP_MS, CAR_DOWN_MS)))
)  # fmt: skip
SURE = 0.8  # the posterior a cause needs; below it the failure stays undecided
ROUNDS = 5  # of passing the cars' and the chargers' states to each other
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
    else a new one (centres kept in a grid of cells about SITE_M wide, so each point looks at
    the centres of its 3 × 3 cells only)."""
    centres: list[tuple[float, float, bool]] = []
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    cell = SITE_M / 111_000.0  # degrees of latitude; longitude cells are narrower in metres
    out = []
    for lat, lon, dc in points:
        gx, gy = int(lat // cell), int(lon // cell)
        near = sorted(
            i
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for i in grid.get((gx + dx, gy + dy), ())
            if centres[i][2] == dc
        )
        found = next(
            (
                i
                for i in near
                if float(haversine_m(centres[i][0], centres[i][1], lat, lon)) <= SITE_M
            ),
            None,
        )
        if found is None:
            found = len(centres)
            centres.append((lat, lon, dc))
            grid[(gx, gy)].append(found)
        out.append(found)
    return out


def _fails(site_bad: float, car_bad: float) -> float:
    """How often a session fails at a charger and a car in these states (1 broken, 0 not)."""
    return 1.0 - (1.0 - CHARGER_FAILS * site_bad) * (1.0 - CAR_FAILS * car_bad) * (1.0 - BASE_FAILS)


_F = {(s, c): _fails(s, c) for s in (0, 1) for c in (0, 1)}


def _chain(obs: list[tuple[int, float, float]], up_ms: float, down_ms: float) -> list[float]:
    """A two-state chain in continuous time (0 working, 1 broken; it breaks after `up_ms` on
    average and is fixed after `down_ms`): for each observation (ts, P(it | working), P(it |
    broken)), sorted by time, P(broken then) from all the *other* observations (forward-backward,
    leaving each one's own evidence out). An observation of (1, 1) is a question, no evidence."""
    n = len(obs)
    rate = 1.0 / up_ms + 1.0 / down_ms
    prior = (1.0 / up_ms) / rate

    def stay(dt: int) -> tuple[float, float]:  # P(broken at t+dt | working, broken at t)
        k = math.exp(-rate * max(dt, 0))
        return prior * (1.0 - k), prior + (1.0 - prior) * k

    pred = [0.0] * n  # P(broken at i | observations before i)
    p = prior
    for i, (t, e0, e1) in enumerate(obs):
        pred[i] = p
        a = p * e1 / (p * e1 + (1.0 - p) * e0)
        if i + 1 < n:
            p01, p11 = stay(obs[i + 1][0] - t)
            p = a * p11 + (1.0 - a) * p01
    out = [0.0] * n
    b0 = b1 = 1.0  # P(observations after i | working, broken at i), scaled
    for i in range(n - 1, -1, -1):
        q = pred[i] * b1
        out[i] = q / (q + (1.0 - pred[i]) * b0)
        if i:
            t, e0, e1 = obs[i]
            p01, p11 = stay(t - obs[i - 1][0])
            m0, m1 = e0 * b0, e1 * b1
            b0, b1 = (1.0 - p01) * m0 + p01 * m1, (1.0 - p11) * m0 + p11 * m1
            z = b0 + b1
            b0, b1 = b0 / z, b1 / z
    return out


def attribute(
    failures: list[ChargeFailure], successes: list[ChargeFailure] | tuple[()] = ()
) -> Attribution:
    """Who is at fault for each failure, and the charger and car alerts. `successes` are the
    sessions that went well (same fields): they say a site works and a car charges.

    Each charger (site) and each car is, at any moment, working or broken; a state lasts
    (a charger is fixed after about a week, so the sessions nearest in time tell most). A
    session fails with probability 0.9 at a broken charger, 0.6 for a car whose on-board
    charging is broken, 0.02 otherwise. For a failure of car v at site s:
    - the charger's state then comes from the *other* cars' sessions at s (did they fail or
      charge, each failure weighed by how likely it was its own car's) and v's sessions
      there that went well;
    - the car's state then comes from v's *other* sessions anywhere (did they fail, and were
      the chargers of those failures broken by the other cars' word);
    the two are passed back and forth a few rounds. The failure is the charger's when the
    charger was broken then with a posterior ≥ 0.8 (a broken charger fails even a failing
    car); the car's when the car was broken with ≥ 0.8 or the charger worked (≤ 0.2); else
    undecided until more sessions come. A site no other car ever used where v charged fine
    (its own wallbox: no charge-point operator to alert) puts its failures on the car."""
    sessions = [(f, True) for f in failures] + [(f, False) for f in successes]
    site = _sites([(f.lat, f.lon, f.dc) for f, _ in sessions])
    n = len(failures)
    users: dict[int, set[str]] = defaultdict(set)
    at_site: dict[int, list[int]] = defaultdict(list)
    of_car: dict[str, list[int]] = defaultdict(list)
    for i, (f, _) in enumerate(sessions):
        users[site[i]].add(f.vin)
        at_site[site[i]].append(i)
        of_car[f.vin].append(i)
    ts = [f.ts_ms for f, _ in sessions]
    for xs in (*at_site.values(), *of_car.values()):
        xs.sort(key=ts.__getitem__)
    site_bad = [0.0] * n  # per failure: P(its charger broken then | the other cars)
    car_bad = [CAR_DOWN_MS / (CAR_UP_MS + CAR_DOWN_MS)] * n  # P(its car broken | the rest)
    for _ in range(ROUNDS):
        site_bad = _site_states(sessions, site, at_site, car_bad)
        car_bad = _car_states(sessions, of_car, site_bad)
    # the car's own wallbox: nobody else ever charged there, and it charged there fine
    worked = {site[j] for j in range(n, len(sessions))}
    own = [users[site[i]] == {failures[i].vin} and site[i] in worked for i in range(n)]
    causes: list[Cause] = []
    for i in range(n):
        s, c = site_bad[i], car_bad[i]
        w = {(a, b): (s if a else 1 - s) * (c if b else 1 - c) * _F[(a, b)] for a, b in _F}
        z = sum(w.values())
        charger = (w[(1, 0)] + w[(1, 1)]) / z  # P(the charger was broken | this failure)
        car = (w[(0, 1)] + w[(1, 1)]) / z
        cause: Cause = "undecided"
        if own[i]:
            cause = "car"
        elif charger >= SURE:
            cause = "charger"
        elif car >= SURE or charger <= 1.0 - SURE:
            cause = "car"
        causes.append(cause)
    return Attribution(tuple(causes), *_alerts(failures, site[:n], causes))


def _site_states(
    sessions: list[tuple[ChargeFailure, bool]],
    site: list[int],
    at_site: dict[int, list[int]],
    car_bad: list[float],
) -> list[float]:
    """Per failure, P(its site broken then) from the other cars' sessions there. A failure of
    car h counts as P(it | site) = Σ over h's state (from `car_bad`) of P(fail | site, car);
    a session that went well as 1 − P(fail | site) (the car's state cancels)."""
    n = len(car_bad)
    out = [0.0] * n
    asked: dict[tuple[int, str], list[int]] = defaultdict(list)
    for i in range(n):
        asked[(site[i], sessions[i][0].vin)].append(i)
    for (s, vin), mine in asked.items():
        obs: list[tuple[int, float, float]] = [(sessions[i][0].ts_ms, 1.0, 1.0) for i in mine]
        for j in at_site[s]:
            g, failed = sessions[j]
            if failed and g.vin == vin:
                continue  # the car's own failures there could be its own: they tell nothing
            if failed:
                c = car_bad[j]
                obs.append(
                    (
                        g.ts_ms,
                        c * _F[(0, 1)] + (1 - c) * _F[(0, 0)],
                        c * _F[(1, 1)] + (1 - c) * _F[(1, 0)],
                    )
                )
            else:
                obs.append((g.ts_ms, 1.0, 1.0 - CHARGER_FAILS))
        order = sorted(range(len(obs)), key=lambda k: obs[k][0])
        post = _chain([obs[k] for k in order], CHARGER_UP_MS, CHARGER_DOWN_MS)
        for rank, k in enumerate(order):
            if k < len(mine):
                out[mine[k]] = post[rank]
    return out


def _car_states(
    sessions: list[tuple[ChargeFailure, bool]],
    of_car: dict[str, list[int]],
    site_bad: list[float],
) -> list[float]:
    """Per failure, P(its car broken then) from the car's other sessions: a failure at a site
    broken with probability s counts as Σ over the site's state of P(fail | site, car)."""
    n = len(site_bad)
    out = [0.0] * n
    for idx in of_car.values():
        if not any(i < n for i in idx):
            continue
        obs = []
        for i in idx:
            if i < n:
                s = site_bad[i]
                obs.append(
                    (
                        sessions[i][0].ts_ms,
                        s * _F[(1, 0)] + (1 - s) * _F[(0, 0)],
                        s * _F[(1, 1)] + (1 - s) * _F[(0, 1)],
                    )
                )
            else:
                obs.append((sessions[i][0].ts_ms, 1.0, 1.0 - CAR_FAILS))
        post = _chain(obs, CAR_UP_MS, CAR_DOWN_MS)
        for i, p in zip(idx, post, strict=True):
            if i < n:
                out[i] = p
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
