"""A simulated year of battery ageing, sampled: one week of every month is simulated in full
(driving, charging, 1 Hz telemetry); between the weeks the packs age as the model says, with
the full cycles the previous week's driving and charging rate gives. A whole year at 1 Hz
would take a CI minute per car; twelve weeks keep every month's data and the year's fade."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np
from numpy.typing import NDArray

from tests.sim.simrun import START_MS, helsinki
from volta.catalog import default_catalog
from volta.derived.columns import PATHS, Series
from volta.sim.faults import FaultRates
from volta.sim.fleet import Fleet, FleetConfig
from volta.sim.signals import SIGNALS, Telemetry
from volta.sim.truth import SohTruth
from volta.vehicles import physics
from volta.wire import Batch

MODEL = "renault_zoe_ze50_2022"
VEHICLES = 6
FAST = 0  # the vehicle whose pack ages `FAST_FACTOR` times the norm
FAST_FACTOR = 4.0
MONTHS = 12
WEEK_S = 7 * 86_400
MONTH_DAYS = 365.25 / 12
# the signals the driver services do not read are not sent (sent once on wake-up only): the
# ones they read keep their rates, noise and gaps, at a third of the cost
_ONLY_WHAT_SERVICES_READ = {s.path: (0, 0) for s in SIGNALS if s.path not in PATHS.values()}


@dataclass
class SampledYear:
    vins: list[str]
    model: str
    cols: dict[str, dict[str, Series]]  # vin → the year's columns (12 weeks of samples)
    soh: list[SohTruth] = field(default_factory=list)  # true SoH at the end of every day

    def true_soh_at_start(self, vin: str) -> float:
        return next(s.soh for s in self.soh if s.vin == vin)

    def true_soh_at_end(self, vin: str) -> float:
        return [s.soh for s in self.soh if s.vin == vin][-1]


def _columns(batches: list[Batch], vins: list[str]) -> dict[str, dict[str, Series]]:
    """The services' signals of every vehicle, as columns (a week is ~10⁶ samples: built with
    comprehensions and numpy, not a loop of appends)."""
    code = {default_catalog().get(p).path: i for i, p in enumerate(PATHS.values())}
    names = list(PATHS)
    flat = [smp for b in batches for smp in b.samples]
    counts = [len(b.samples) for b in batches]
    base = np.repeat(np.array([b.ts for b in batches], dtype=np.int64), counts)
    vin_ix = {v: i for i, v in enumerate(vins)}
    veh = np.repeat(np.array([vin_ix[b.vin] for b in batches], dtype=np.int64), counts)
    sig = np.fromiter((code.get(str(smp[1]), -1) for smp in flat), np.int64, len(flat))
    keep = np.flatnonzero(sig >= 0)
    kept = [flat[i] for i in keep.tolist()]
    ts = base[keep] + np.fromiter((smp[0] for smp in kept), np.int64, len(kept))
    val = np.array([float(smp[2]) for smp in kept], dtype=np.float64)  # type: ignore[arg-type]
    veh, sig = veh[keep], sig[keep]
    order = np.lexsort((ts, sig, veh))
    veh, sig, ts, val = veh[order], sig[order], ts[order], val[order]
    out: dict[str, dict[str, Series]] = {v: {} for v in vins}
    cuts = np.flatnonzero((np.diff(veh) != 0) | (np.diff(sig) != 0)) + 1
    for a, b in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(ts)].tolist(), strict=True):
        if b > a:
            out[vins[int(veh[a])]][names[int(sig[a])]] = (ts[a:b], val[a:b])
    return out


@cache
def sampled_year(seed: int = 11) -> SampledYear:
    config = FleetConfig(
        vehicles=VEHICLES,
        seed=seed,
        start_ms=START_MS,
        models=(MODEL,),
        faults=FaultRates(0.0, 0.0),
        ageing=((FAST, FAST_FACTOR),),
    )
    age0: NDArray[np.float64] | None = None
    cycles = np.zeros(VEHICLES)
    acc: dict[str, dict[str, list[Series]]] = {}  # the weeks' columns, in time order
    soh: list[SohTruth] = []
    vins: list[str] = []
    for month in range(MONTHS):
        offset_days = month * MONTH_DAYS
        start = START_MS + round(offset_days * 86_400) * 1000
        fleet = Fleet(replace(config, start_ms=start), helsinki())
        s = fleet.state
        if age0 is None:
            age0, cycles = s.age0_days.copy(), s.cycles0.copy()
        # fast-forward the packs to this month: calendar age and the cycles since the start
        s.age0_days = age0 + offset_days
        s.cycles0 = cycles.copy()
        for gi, a, b in s.groups:
            if a < b:
                s.packs[gi].set_soh(
                    physics.capacity_fade(
                        s.models[gi], s.age0_days[a:b], s.cycles0[a:b],
                        fleet.mean_temp_c, s.ageing[a:b],
                    )
                )  # fmt: skip
        # City drives are a few km (the map is 1.5 km across), a few % of SoC each: these
        # drivers plug in at home once ~10 % is used, so every week has charges large enough
        # for a capacity estimate (≥ 3 % swing), as a year of commuting gives.
        s.drivers = [
            replace(d, home_charger_kw=7.4, plug_below_soc=d.charge_limit_soc - 10.0)
            for d in s.drivers
        ]
        vins = fleet.vins
        tel = Telemetry(vins, seed + month, rates=_ONLY_WHAT_SERVICES_READ, gap_per_hour=0.2)
        batches = []
        while fleet.t < WEEK_S:
            batches += tel.batches(fleet.step(WEEK_S))
        batches += tel.flush()
        truth = fleet.finish()
        soh += truth.soh
        for vin, per in _columns(batches, vins).items():
            for name, col in per.items():
                acc.setdefault(vin, {}).setdefault(name, []).append(col)
        week_cycles = np.concatenate([p.full_cycles() for p in fleet.state.packs])
        cycles = cycles + week_cycles * (MONTH_DAYS / 7.0)
    cols = {
        vin: {name: (np.concatenate([c[0] for c in parts]), np.concatenate([c[1] for c in parts]))
              for name, parts in per.items()}
        for vin, per in acc.items()
    }  # fmt: skip
    return SampledYear(vins, MODEL, cols, soh)
