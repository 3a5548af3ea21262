"""Choosing the shared drivetrain from the EPA list, and checking it on cars it was not fit to.

Two parameters of `Drivetrain` are chosen from the data, the same for every car: the share of
braking power the motor recovers (`regen_fraction`, a grid search) and the wall-to-battery
charging efficiency (`charge_efficiency`, exact for each grid value: energy from the wall is
proportional to 1/efficiency, so the best one for the mean absolute error is a weighted median).
Everything else is fixed from the literature (docs/planner.md). `cross_validate` fits on all
makers but one and predicts the held-out maker's rows: that is the figure to quote, not the
in-sample error, because a maker's cars share their motors and inverters.

Pure: takes rows, returns numbers; the physics is `volta.vehicles.cycles.wall_wh_per_km`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from volta.vehicles.cycles import wall_wh_per_km
from volta.vehicles.epa import (
    SHARED_DRIVETRAIN,
    Drivetrain,
    EpaTest,
    maker,
    measured_wall_wh_per_km,
    model_from_epa,
    usable,
)
from volta.vehicles.physics import FloatArray

__all__ = ["REGEN_GRID", "Fit", "Validation", "cross_validate", "validate"]

# Share of braking power sent to the motor: from half (parallel blending) to all (series).
REGEN_GRID: tuple[float, ...] = tuple(round(0.5 + 0.01 * i, 2) for i in range(51))


@dataclass(frozen=True, slots=True)
class Fit:
    """The chosen shared values and their in-sample mean absolute error (fraction)."""

    regen_fraction: float
    charge_efficiency: float
    mae: float


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


def _battery_table(rows: list[EpaTest], base: Drivetrain) -> FloatArray:
    # wall energy per km with charge efficiency 1 (= battery energy), shape (len(REGEN_GRID), rows)
    out = np.empty((len(REGEN_GRID), len(rows)))
    for j, rf in enumerate(REGEN_GRID):
        trial = dataclasses.replace(base, regen_fraction=rf, charge_efficiency=1.0)
        for i, t in enumerate(rows):
            out[j, i] = wall_wh_per_km(model_from_epa(t, trial), str(t.cycle))
    return out


def _best(table: FloatArray, measured: FloatArray, idx: NDArray[np.intp]) -> Fit:
    best: Fit | None = None
    for j, rf in enumerate(REGEN_GRID):
        ratio = table[j, idx] / measured[idx]  # prediction / measured = ratio / efficiency
        # mean |ratio·k − 1| is convex and piecewise linear in k = 1/efficiency: its minimum is
        # at one of the kinks 1/ratio
        ks = np.sort(1.0 / ratio)
        maes = np.abs(np.outer(ks, ratio) - 1.0).mean(axis=1)
        k = float(ks[int(np.argmin(maes))])
        mae = float(maes.min())
        if best is None or mae < best.mae:
            best = Fit(regen_fraction=rf, charge_efficiency=round(1.0 / k, 4), mae=mae)
    assert best is not None
    return best


def validate(tests: list[EpaTest], drivetrain: Drivetrain = SHARED_DRIVETRAIN) -> Validation:
    """Errors of the models built with one drivetrain, on every usable row."""
    rows = _usable(tests)
    errors = {
        t.line: wall_wh_per_km(model_from_epa(t, drivetrain), str(t.cycle))
        / measured_wall_wh_per_km(t)
        - 1.0
        for t in rows
    }
    return Validation(errors=errors, cycles={t.line: str(t.cycle) for t in rows})


def cross_validate(
    tests: list[EpaTest], base: Drivetrain = SHARED_DRIVETRAIN
) -> tuple[Fit, Validation]:
    """(the fit on all rows, leave-one-maker-out errors): each maker's rows predicted by a fit
    on the other makers only."""
    rows = _usable(tests)
    measured = np.array([measured_wall_wh_per_km(t) for t in rows])
    table = _battery_table(rows, base)
    makers = np.array([maker(t) for t in rows])
    predicted = np.empty(len(rows))
    for held_out in sorted(set(makers)):
        test = makers == held_out
        fit = _best(table, measured, np.flatnonzero(~test))
        j = REGEN_GRID.index(fit.regen_fraction)
        predicted[test] = table[j, test] / fit.charge_efficiency
    errors = {t.line: float(p / m - 1.0) for t, p, m in zip(rows, predicted, measured, strict=True)}
    everyone = _best(table, measured, np.arange(len(rows)))
    return everyone, Validation(errors=errors, cycles={t.line: str(t.cycle) for t in rows})
