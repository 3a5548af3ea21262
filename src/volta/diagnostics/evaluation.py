"""After-sales diagnostics checked against the simulator's truth: figures per kind of fault.

A simulated fleet with every kind of fault on drives the Helsinki graph; its telemetry (the VSS
samples with noise, quantisation and late batches) goes batch by batch through
`FleetDiagnostics`, as the live follower feeds it; the alerts, codes, charging verdicts and
software links are then compared with `faults.parquet` / `charge_failures.parquet`'s records.
`python -m volta.diagnostics.evaluation [--vehicles N --days D]` prints the figures (the issue's
full size is 500 vehicles × 30 days; docs/aftersales.md quotes what was run). Shared by
`tests/diagnostics/test_against_truth.py` and `bench/aftersales_eval.py`; the server never
imports it (it runs the simulator).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np

from volta.diagnostics.codes import BMS_COMMUNICATION_LOST
from volta.diagnostics.fleet import FleetDiagnostics
from volta.geo.distance import haversine_m
from volta.geo.osm import load_roads
from volta.sim.faults import FaultRates
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.health import Components
from volta.sim.signals import SIGNALS, Telemetry
from volta.sim.truth import FaultTruth, Truth

_ts = itemgetter(0)
START_MS = 1_767_571_200_000  # 2026-01-05T00:00Z, a Monday
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
# the predictive rule whose alert finds each kind of fault
RULE_OF = {
    "tyre_leak": "tyre_leak",
    "weak_12v": "lv_battery",
    "cell_imbalance": "cell_imbalance",
    "pad_wear": "pad_wear",
    "hot_battery": "battery_hot",
}
GRACE_MS = DAY_MS  # an alert this long after a repair still belongs to the fault


@dataclass
class Figures:
    vehicles: int
    days: float
    cpu_s: float
    faults: dict[str, int] = field(default_factory=dict)  # visible faults per kind
    found: dict[str, int] = field(default_factory=dict)
    missed: dict[str, list[str]] = field(default_factory=dict)
    lead_h: dict[str, list[float]] = field(default_factory=dict)
    slow_tyre_lead_h: list[float] = field(default_factory=list)
    false_alerts: dict[str, int] = field(default_factory=dict)
    healthy_vehicle_days: float = 0.0
    attribution_right: int = 0
    attribution_wrong: int = 0
    attribution_undecided: int = 0
    failures_unreported: int = 0
    software_link: str | None = None
    software_named: bool = False

    def recall(self, kind: str) -> float:
        n = self.faults.get(kind, 0)
        return self.found.get(kind, 0) / n if n else 1.0

    def median_lead_h(self, kind: str) -> float | None:
        xs = self.lead_h.get(kind, [])
        return round(statistics.median(xs), 1) if xs else None

    def false_per_1000(self) -> float:
        total = sum(self.false_alerts.values())
        return 1000.0 * total / self.healthy_vehicle_days if self.healthy_vehicle_days else 0.0

    def attribution(self) -> float:
        """The share of the reported failures attributed right; an undecided one counts as not
        right (failures the car never reported are left out: `failures_unreported`)."""
        n = self.attribution_right + self.attribution_wrong + self.attribution_undecided
        return self.attribution_right / n if n else 1.0

    def summary(self) -> dict[str, Any]:
        kinds = sorted(self.faults)
        return {
            "vehicles": self.vehicles,
            "days": self.days,
            "cpu_s": round(self.cpu_s, 1),
            "faults": self.faults,
            "recall": {k: round(self.recall(k), 3) for k in kinds},
            "median_lead_h": {k: self.median_lead_h(k) for k in kinds},
            "slow_tyre_leak_min_lead_h": round(min(self.slow_tyre_lead_h), 1)
            if self.slow_tyre_lead_h
            else None,
            "false_alerts_per_1000_healthy_vehicle_days": round(self.false_per_1000(), 3),
            "false_alerts": self.false_alerts,
            "attribution_correct": round(self.attribution(), 3),
            "attribution_counts": [
                self.attribution_right,
                self.attribution_wrong,
                self.attribution_undecided,
            ],
            "failures_never_reported": self.failures_unreported,
            "software_link": self.software_link,
            "missed": self.missed,
        }


def place_slow_faults(fleet: Fleet, rng: np.random.Generator, n: int, days_left: float) -> None:
    """Start `n` brake-pad and `n` hot-pack faults where they show within the run: a city car
    on this small map drives too few km, and seldom fast-charges, for faults begun at random
    to reach their thresholds in a few weeks. Pads: worn so far that at the car's own daily
    distance so far they reach the limit 2 to `days_left` - 2 days from now (at the
    simulator's rates of a fast-wearing pad). Hot packs: cars with no home charger (they
    charge at the DC fallback stations when low), left at 20-30 % so that they fast-charge
    soon. Recorded in the truth like any fault; the diagnostics know nothing of it."""
    s = fleet.state
    parts = s.faults.parts
    now = fleet.start_ms + fleet.t * 1000
    km_day = (s.odometer - s.odometer0) / 1000.0 / max(fleet.t / 86_400, 1.0)
    free = [v for v in range(len(fleet.vins)) if km_day[v] > 3.0 and not _has(parts, v, "pad")]
    for v in rng.permutation(free)[:n].tolist():
        rate = float(rng.uniform(0.02, 0.05))  # %/km at a 75 % regeneration share
        per_km = rate * (1.0 - parts.regen_share[v]) / 0.25
        wear = 80.0 - per_km * km_day[v] * float(rng.uniform(2.0, max(days_left - 2.0, 3.0)))
        parts.start_pad_wear(v, float(np.clip(wear, 60.0, 79.5)), rate, now)
    public = [v for v, d in enumerate(s.drivers) if d.home_charger_kw == 0]
    for v in rng.permutation(public)[:n].tolist():
        if _has(parts, v, "hot"):
            continue
        parts.start_hot_battery(v, now)
        pack, j = s.pack_of(v)  # low enough to stop at a (DC) station within a day or two
        soc = float(rng.uniform(20.0, 30.0))
        pack.energy_kwh[j] = soc / 100.0 * pack.capacity_kwh[j]
        pack.soc_pct[j] = soc


def _has(parts: Components, v: int, kind: str) -> bool:
    key = (v, "pad_wear" if kind == "pad" else "hot_battery")
    return key in parts.open or key in parts.repair_at


def simulate(
    vehicles: int, days: float, seed: int, per_year: float, placed: int = 0
) -> tuple[Truth, FleetDiagnostics]:
    """Run the fleet and feed its telemetry to the diagnostics, batch by batch; `placed`
    brake-pad and hot-pack faults start after the first day (`place_slow_faults`)."""
    fleet = Fleet(
        FleetConfig(
            vehicles=vehicles, seed=seed, start_ms=START_MS, faults=FaultRates.everything(per_year)
        ),
        load_roads(),  # the shipped Helsinki extract
    )
    models = {v.vin: v.model for v in fleet.truth.vehicles}
    diag = FleetDiagnostics(model_of=lambda vin: models[vin])
    # Motion at 10 s instead of 1 s: the rules read nothing faster, and the run is 5× cheaper.
    rates = {
        s.path: (max(s.drive_period_s, 10), s.park_period_s) for s in SIGNALS if s.drive_period_s
    }
    tel = Telemetry(fleet.vins, seed, rates=rates)
    end = int(days * 86_400)

    def feed(batches: list[Any]) -> None:
        for b in batches:
            # in time order, as the live follower hands them on
            diag.feed(b.vin, sorted(((b.ts + off, str(p), v) for off, p, v in b.samples), key=_ts))

    rng = np.random.default_rng([seed, 0x5EED])
    while fleet.t < end:
        feed(tel.batches(fleet.step(end)))
        if placed and fleet.t == 86_400:
            place_slow_faults(fleet, rng, placed, days - 1.0)
    feed(tel.flush())
    return fleet.finish(), diag


def evaluate(
    vehicles: int = 60, days: float = 21.0, seed: int = 7, per_year: float = 6.0, placed: int = 0
) -> Figures:
    t0 = time.process_time()
    truth, diag = simulate(vehicles, days, seed, per_year, placed)
    fig = Figures(vehicles, days, 0.0)
    run_end = START_MS + int(days * DAY_MS)
    faults_of: dict[tuple[str, str], list[FaultTruth]] = defaultdict(list)
    for f in truth.faults:
        faults_of[(f.vin, f.kind)].append(f)
    _predictive(fig, truth, diag, run_end, faults_of)
    _charging(fig, truth, diag, run_end)
    _codes(fig, truth, diag, run_end)
    fig.cpu_s = time.process_time() - t0
    return fig


def _predictive(
    fig: Figures,
    truth: Truth,
    diag: FleetDiagnostics,
    run_end: int,
    faults_of: dict[tuple[str, str], list[FaultTruth]],
) -> None:
    ons: dict[tuple[str, str], list[int]] = defaultdict(list)  # (vin, rule) → alert starts
    for vin, veh in diag.vehicles.items():
        for ch in veh.changes:
            if ch.on:
                ons[(vin, ch.kind)].append(ch.ts_ms)
    online: dict[str, list[int]] = defaultdict(list)  # when each car was on (drive starts)
    for d in truth.drives:
        online[d.vin].append(d.start_ms)
    for f in truth.faults:
        rule = RULE_OF.get(f.kind)
        if rule is None or not f.symptom_ms or f.symptom_ms > run_end - DAY_MS:
            continue  # never showed (a hot pack that never DC-charged), or too late to tell
        if not any(f.symptom_ms <= t <= (f.end_ms or run_end) for t in online[f.vin]):
            continue  # the car slept through it: nothing to see
        fig.faults[f.kind] = fig.faults.get(f.kind, 0) + 1
        end = (f.end_ms or run_end) + GRACE_MS
        hits = [t for t in ons[(f.vin, rule)] if f.start_ms <= t <= end]
        if not hits:
            fig.missed.setdefault(f.kind, []).append(f"{f.vin} {f.detail}")
            continue
        fig.found[f.kind] = fig.found.get(f.kind, 0) + 1
        if f.threshold_ms:
            lead = (f.threshold_ms - hits[0]) / HOUR_MS
            fig.lead_h.setdefault(f.kind, []).append(lead)
            if f.kind == "tyre_leak" and float(f.detail.split()[1]) <= 5.0:
                fig.slow_tyre_lead_h.append(lead)
    # false alerts: an alert on a car with no fault of the rule's kind around it
    kind_of = {r: k for k, r in RULE_OF.items()}
    for (vin, rule), starts in ons.items():
        for t in starts:
            own = faults_of.get((vin, kind_of[rule]), [])
            if not any(f.start_ms <= t <= (f.end_ms or run_end) + GRACE_MS for f in own):
                fig.false_alerts[rule] = fig.false_alerts.get(rule, 0) + 1
    fault_days = sum(
        ((f.end_ms or run_end) - f.start_ms) / DAY_MS for f in truth.faults if f.kind in RULE_OF
    )
    fig.healthy_vehicle_days = fig.vehicles * fig.days - fault_days


def _charging(fig: Figures, truth: Truth, diag: FleetDiagnostics, run_end: int) -> None:
    att = diag.attribution()
    seen = list(zip(diag.failures, att.causes, strict=True))
    used: set[int] = set()
    for tf in truth.charge_failures:
        match = next(
            (
                i
                for i, (f, _) in enumerate(seen)
                if i not in used and f.vin == tf.vin and 0 <= f.ts_ms - tf.ts_ms <= HOUR_MS
            ),
            None,
        )
        if match is None:
            fig.failures_unreported += 1
            continue
        used.add(match)
        cause = seen[match][1]
        if cause == "undecided":
            fig.attribution_undecided += 1
        elif cause == tf.cause:
            fig.attribution_right += 1
        else:
            fig.attribution_wrong += 1
    # recall of the faults themselves: a car alert for an on-board charger, a charger alert
    # near a failing station (each once it failed twice: one failure cannot tell whose it is)
    by_vin: dict[str, int] = defaultdict(int)
    at_charger: dict[str, set[str]] = defaultdict(set)
    where: dict[str, tuple[float, float]] = {}
    for tf in truth.charge_failures:
        if tf.cause == "car":
            by_vin[tf.vin] += 1
        else:
            at_charger[tf.charger].add(tf.vin)
            where[tf.charger] = (tf.lat, tf.lon)
    cars = {c.vin for c in att.cars}
    for f in truth.faults:
        if f.kind == "obc_fault" and by_vin[f.vin] >= 2:
            fig.faults["obc_fault"] = fig.faults.get("obc_fault", 0) + 1
            if f.vin in cars:
                fig.found["obc_fault"] = fig.found.get("obc_fault", 0) + 1
            else:
                fig.missed.setdefault("obc_fault", []).append(f.vin)
        if f.kind == "charger_fault" and len(at_charger[f.charger]) >= 2:
            fig.faults["charger_fault"] = fig.faults.get("charger_fault", 0) + 1
            lat, lon = where[f.charger]
            if any(float(haversine_m(lat, lon, a.lat, a.lon)) < 300 for a in att.chargers):
                fig.found["charger_fault"] = fig.found.get("charger_fault", 0) + 1
            else:
                fig.missed.setdefault("charger_fault", []).append(f.charger)


def _codes(fig: Figures, truth: Truth, diag: FleetDiagnostics, run_end: int) -> None:
    """Intermittent codes: each episode appears and clears in the diagnostics; the
    software-linked code is named with its version and hardware variant."""
    for f in truth.faults:
        if f.kind not in ("intermittent", "software_dtc"):
            continue
        veh = diag.vehicles.get(f.vin)
        evs = [] if veh is None else [e for e in veh.events if e.code == f.dtc]
        fig.faults[f.kind] = fig.faults.get(f.kind, 0) + 1
        appeared = any(
            e.kind == "appeared" and -5 * 60_000 <= e.ts_ms - f.start_ms <= HOUR_MS for e in evs
        )
        # cleared, as far as the car said anything after the code went away
        silent = veh is None or veh.last_ms < f.end_ms + 5 * 60_000
        cleared = (
            f.end_ms == 0
            or silent
            or any(e.kind == "cleared" and e.ts_ms >= f.start_ms for e in evs)
        )
        if appeared and cleared:
            fig.found[f.kind] = fig.found.get(f.kind, 0) + 1
        else:
            fig.missed.setdefault(f.kind, []).append(f"{f.vin} {f.dtc} at {f.start_ms}")
    links = [s for s in diag.reliability().software_links if s.code == BMS_COMMUNICATION_LOST]
    if links:
        fig.software_link = links[0].message
        fig.software_named = (links[0].variant, links[0].version) == FaultRates().software_affected


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--vehicles", type=int, default=60)
    ap.add_argument("--days", type=float, default=21.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--per-year", type=float, default=6.0, help="faults of each kind per vehicle-year"
    )
    ap.add_argument("--placed", type=int, default=0, help="pad and hot-pack faults placed")
    a = ap.parse_args()
    fig = evaluate(a.vehicles, a.days, a.seed, a.per_year, a.placed)
    print(json.dumps(fig.summary(), indent=1))


if __name__ == "__main__":
    main()
