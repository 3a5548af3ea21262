"""Choosing the shared drivetrain from the EPA list, and checking it on cars it was not fit to.

Five values of `Drivetrain` are chosen from the data, the same for every car: the share of
braking power the motor recovers (`regen_fraction`, a grid search), the wall-to-battery charging
efficiency, and three technology values applied through each car's published specs (`TechSpec`):
the idle loss of every motor beyond the first, the idle loss of a two-speed gearbox and the share
of motor + inverter losses a SiC inverter removes. For each grid value the other four are exact:
with k = 1/efficiency the prediction is k·base + Σ φ·feature (φ = value·k), linear, so the least
mean absolute relative error is a small linear program (the SiC feature is the loss the curve
change removes at the reference reduction, linearised; every figure below is then re-simulated).
A technology value is fitted only from rows that have the technology: when the training rows have
none (e.g. the held-out maker is the only one with it), the value stays 0.

`cross_validate` fits on all makers (or maker groups) but one and predicts the held-out rows:
that is the figure to quote, not the in-sample error, because a maker's cars share their motors
and inverters. Everything else is fixed from the literature (docs/planner.md).

Pure: takes rows, returns numbers; the physics is `volta.vehicles.cycles.wall_wh_per_km`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linprog

from volta.vehicles.cycles import load_cycle, wall_wh_per_km
from volta.vehicles.epa import (
    SHARED_DRIVETRAIN,
    Drivetrain,
    EpaTest,
    TechSpec,
    maker,
    measured_wall_wh_per_km,
    model_from_epa,
    motor_count,
    read_drivetrain_specs,
    tech_spec,
    usable,
)
from volta.vehicles.physics import FloatArray

__all__ = ["REGEN_GRID", "Fit", "Validation", "cross_validate", "validate"]

# Share of braking power sent to the motor: from half (parallel blending) to all (series).
REGEN_GRID: tuple[float, ...] = tuple(round(0.5 + 0.01 * i, 2) for i in range(51))
_SIC_REF = 0.5  # the reduction at which the SiC feature is linearised
_K_BOUNDS = (1.0, 1.0 / 0.7)  # charging efficiency between 70 % and 100 %


@dataclass(frozen=True, slots=True)
class Fit:
    """The chosen shared values and their in-sample mean absolute error (fraction)."""

    regen_fraction: float
    charge_efficiency: float
    unit_idle_w: float
    two_speed_idle_w: float
    sic_loss_reduction: float
    mae: float

    def drivetrain(self, base: Drivetrain = SHARED_DRIVETRAIN) -> Drivetrain:
        """`base` with the fitted values."""
        return dataclasses.replace(
            base,
            regen_fraction=self.regen_fraction,
            charge_efficiency=self.charge_efficiency,
            unit_idle_w=self.unit_idle_w,
            two_speed_idle_w=self.two_speed_idle_w,
            sic_loss_reduction=self.sic_loss_reduction,
        )


@dataclass(frozen=True, slots=True)
class Validation:
    """Signed relative error (model / measured − 1) of every usable row, by CSV line."""

    errors: dict[int, float]
    cycles: dict[int, str]

    def mae(self, cycle: str | None = None) -> float:
        """Mean absolute error over all rows, or over one cycle's rows."""
        return float(np.mean(np.abs(self._select(cycle))))

    def median(self, cycle: str | None = None) -> float:
        """Median absolute error."""
        return float(np.median(np.abs(self._select(cycle))))

    def worst(self) -> tuple[int, float]:
        """(line, signed error) of the row with the largest absolute error."""
        line = max(self.errors, key=lambda k: abs(self.errors[k]))
        return line, self.errors[line]

    def _select(self, cycle: str | None) -> FloatArray:
        return np.array(
            [e for k, e in self.errors.items() if cycle is None or self.cycles[k] == cycle]
        )


def _usable(tests: list[EpaTest]) -> list[EpaTest]:
    return [t for t in tests if usable(t) is None]


def _neutral(base: Drivetrain, regen_fraction: float, sic: float = 0.0) -> Drivetrain:
    # the drivetrain with no technology losses and charge efficiency 1 (= battery energy)
    return dataclasses.replace(
        base,
        regen_fraction=regen_fraction,
        charge_efficiency=1.0,
        unit_idle_w=0.0,
        two_speed_idle_w=0.0,
        sic_loss_reduction=sic,
    )


@dataclass(frozen=True, slots=True)
class _Tables:
    """Per regen value and row: battery Wh/km without technology terms, and the features."""

    base: FloatArray  # (grid, rows)
    sic: FloatArray  # (grid, rows): Wh/km a full SiC reduction would remove (linearised)
    idle: FloatArray  # (rows, 2): Wh/km per W of extra-motor and of two-speed idle loss
    measured: FloatArray


def _tables(rows: list[EpaTest], techs: list[TechSpec], base: Drivetrain) -> _Tables:
    out = np.empty((len(REGEN_GRID), len(rows)))
    sic = np.zeros_like(out)
    for j, rf in enumerate(REGEN_GRID):
        plain = _neutral(base, rf)
        reduced = _neutral(base, rf, _SIC_REF)
        for i, (t, tech) in enumerate(zip(rows, techs, strict=True)):
            out[j, i] = wall_wh_per_km(model_from_epa(t, plain, tech=tech), str(t.cycle))
            if tech.sic_inverter:
                low = wall_wh_per_km(model_from_epa(t, reduced, tech=tech), str(t.cycle))
                sic[j, i] = (out[j, i] - low) / _SIC_REF
    idle = np.empty((len(rows), 2))
    for i, (t, tech) in enumerate(zip(rows, techs, strict=True)):
        c = load_cycle(str(t.cycle))
        km = float(np.sum(0.5 * (c.speed_mps[1:] + c.speed_mps[:-1]) * np.diff(c.time_s))) / 1e3
        wh_per_w = float(c.time_s[-1] - c.time_s[0]) / 3600.0 / km  # aux runs the whole cycle
        idle[i] = (max(motor_count(t, tech) - 1, 0) * wh_per_w, wh_per_w if tech.two_speed else 0)
    measured = np.array([measured_wall_wh_per_km(t) for t in rows])
    return _Tables(base=out, sic=sic, idle=idle, measured=measured)


def _lad(base: FloatArray, features: FloatArray, measured: FloatArray) -> tuple[float, FloatArray]:
    # min Σ|(k·base + F·φ)/m − 1| over k in _K_BOUNDS, φ ≥ 0 (φ = 0 where no row has the feature)
    n, nf = features.shape
    a_eq = np.hstack(
        [(base / measured)[:, None], features / measured[:, None], -np.eye(n), np.eye(n)]
    )
    bounds: list[tuple[float, float | None]] = [_K_BOUNDS]
    bounds += [(0.0, None) if np.any(features[:, f] != 0) else (0.0, 0.0) for f in range(nf)]
    bounds += [(0.0, None)] * (2 * n)
    cost = np.r_[np.zeros(1 + nf), np.ones(2 * n)]
    res = linprog(cost, A_eq=a_eq, b_eq=np.ones(n), bounds=bounds, method="highs")
    if not res.success:  # pragma: no cover - the problem is always feasible and bounded
        raise RuntimeError(f"linear program failed: {res.message}")
    return float(res.fun) / n, np.asarray(res.x[: 1 + nf], dtype=np.float64)


def _best(tables: _Tables, idx: NDArray[np.intp]) -> Fit:
    best: Fit | None = None
    for j, rf in enumerate(REGEN_GRID):
        features = np.column_stack([tables.idle[idx], -tables.sic[j, idx]])
        mae, x = _lad(tables.base[j, idx], features, tables.measured[idx])
        if best is None or mae < best.mae - 1e-12:
            k = float(x[0])
            best = Fit(
                regen_fraction=rf,
                charge_efficiency=round(1.0 / k, 4),
                unit_idle_w=round(float(x[1]) / k),
                two_speed_idle_w=round(float(x[2]) / k),
                sic_loss_reduction=round(float(x[3]) / k, 2),
                mae=mae,
            )
    assert best is not None
    return best


def validate(
    tests: list[EpaTest],
    drivetrain: Drivetrain = SHARED_DRIVETRAIN,
    specs: list[TechSpec] | None = None,
) -> Validation:
    """Errors of the models built with one drivetrain and the spec table, on every usable row."""
    return _simulate(_usable(tests), _specs(specs), lambda t: drivetrain)


def _specs(specs: list[TechSpec] | None) -> list[TechSpec]:
    return read_drivetrain_specs() if specs is None else specs


def _simulate(
    rows: list[EpaTest], specs: list[TechSpec], drivetrain_of: Callable[[EpaTest], Drivetrain]
) -> Validation:
    errors = {
        t.line: wall_wh_per_km(
            model_from_epa(t, drivetrain_of(t), tech=tech_spec(t, specs)), str(t.cycle)
        )
        / measured_wall_wh_per_km(t)
        - 1.0
        for t in rows
    }
    return Validation(errors=errors, cycles={t.line: str(t.cycle) for t in rows})


def cross_validate(
    tests: list[EpaTest],
    base: Drivetrain = SHARED_DRIVETRAIN,
    specs: list[TechSpec] | None = None,
    by: Callable[[EpaTest], str] = maker,
) -> tuple[Fit, Validation]:
    """(the fit on all rows, held-out errors): each maker's rows (or each group's, with
    `by=maker_group`) predicted, by simulation, with values fitted on the other makers only."""
    specs = _specs(specs)
    rows = _usable(tests)
    tables = _tables(rows, [tech_spec(t, specs) for t in rows], base)
    keys = np.array([by(t) for t in rows])
    fold_drivetrain: dict[str, Drivetrain] = {}
    for held_out in sorted(set(keys)):
        fold = _best(tables, np.flatnonzero(keys != held_out))
        fold_drivetrain[held_out] = fold.drivetrain(base)
    held = _simulate(rows, specs, lambda t: fold_drivetrain[by(t)])
    everyone = _best(tables, np.arange(len(rows)))
    return everyone, held
