"""The fleet's norm of battery fade per model, and the vehicles that fade faster: pure.

A vehicle's fade rate is the Theil–Sen slope of its SoH estimates (capacity samples over the
model's nominal capacity) against time, in percentage points per year, positive when
fading: the median of pairwise slopes, so a few bad sessions cannot tilt it. The norm of a
model is the median of its vehicles' rates and their spread the MAD (scaled by 1.4826 to
estimate a standard deviation). A vehicle fades *too fast* when its rate exceeds the median by
more than `K_MAD` robust standard deviations and by at least `MIN_MARGIN_PP_PER_YEAR`: the
second bound keeps a fleet of near-identical cars (a tiny MAD) from flagging noise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec
import numpy as np
from scipy.stats import theilslopes

from volta.battery.core import DAY_MS, CapacitySample

__all__ = [
    "K_MAD",
    "MIN_FLEET",
    "MIN_MARGIN_PP_PER_YEAR",
    "MIN_SPAN_DAYS",
    "FadeNorm",
    "FadeRate",
    "fade_rate",
    "fast_faders",
    "norms",
]

MIN_SPAN_DAYS = 60  # a shorter history says too little about a slope of a few points a year
MIN_SAMPLES = 8
MIN_FLEET = 5  # vehicles of a model with a rate, for a norm
K_MAD = 3.0
MIN_MARGIN_PP_PER_YEAR = 1.0
_MAD_TO_SD = 1.4826
_YEAR_MS = 365.25 * DAY_MS
_MAX_SAMPLES = 2_000  # Theil–Sen is O(n²): the most recent ones are plenty


class FadeRate(msgspec.Struct, frozen=True, kw_only=True):
    """One vehicle's SoH fade, percentage points per year (> 0: fading)."""

    vin: str
    model: str
    pp_per_year: float
    samples: int
    span_days: float
    last_ms: int


class FadeNorm(msgspec.Struct, frozen=True, kw_only=True):
    """The fleet's fade of one model; vehicles above `threshold_pp_per_year` fade too fast."""

    model: str
    vehicles: int
    median_pp_per_year: float
    mad_pp_per_year: float
    threshold_pp_per_year: float


def fade_rate(
    vin: str, model: str, samples: Sequence[CapacitySample], nominal_kwh: float
) -> FadeRate | None:
    """The vehicle's fade rate, or None with too short a history (see `MIN_SPAN_DAYS`)."""
    if len(samples) < MIN_SAMPLES or nominal_kwh <= 0:
        return None
    chosen = sorted(samples, key=lambda s: s.end_ms)[-_MAX_SAMPLES:]
    t = np.array([s.end_ms for s in chosen], dtype=np.float64)
    span = (t[-1] - t[0]) / DAY_MS
    if span < MIN_SPAN_DAYS:
        return None
    soh = np.array([s.capacity_kwh for s in chosen]) / nominal_kwh * 100.0
    slope = float(theilslopes(soh, (t - t[0]) / _YEAR_MS).slope)
    return FadeRate(
        vin=vin,
        model=model,
        pp_per_year=round(-slope, 4),
        samples=len(chosen),
        span_days=round(span, 2),
        last_ms=int(t[-1]),
    )


def norms(rates: Iterable[FadeRate]) -> dict[str, FadeNorm]:
    """Per model with at least `MIN_FLEET` vehicles: median, MAD and the alert threshold."""
    by_model: dict[str, list[float]] = {}
    for r in rates:
        by_model.setdefault(r.model, []).append(r.pp_per_year)
    out: dict[str, FadeNorm] = {}
    for model, values in sorted(by_model.items()):
        if len(values) < MIN_FLEET:
            continue
        v = np.array(values)
        med = float(np.median(v))
        mad = float(np.median(np.abs(v - med)))
        margin = max(K_MAD * _MAD_TO_SD * mad, MIN_MARGIN_PP_PER_YEAR)
        out[model] = FadeNorm(
            model=model,
            vehicles=len(values),
            median_pp_per_year=round(med, 4),
            mad_pp_per_year=round(mad, 4),
            threshold_pp_per_year=round(med + margin, 4),
        )
    return out


def fast_faders(rates: Iterable[FadeRate], by_model: dict[str, FadeNorm]) -> list[FadeRate]:
    """The vehicles fading faster than their model's threshold, fastest first."""
    out = [
        r
        for r in rates
        if (n := by_model.get(r.model)) is not None and r.pp_per_year > n.threshold_pp_per_year
    ]
    return sorted(out, key=lambda r: -r.pp_per_year)
