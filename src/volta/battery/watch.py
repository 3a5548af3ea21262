"""The fleet's fade norms over the stored capacity samples, recomputed at most every
`REFRESH_MS` (the fade of a battery moves over months; reading every vehicle's samples on
every alerts poll would not)."""

from __future__ import annotations

import threading
from functools import cache

import msgspec

from volta.battery.core import CapacitySample
from volta.battery.fleet import FadeNorm, FadeRate, fade_rate, fast_faders, norms
from volta.clock import Clock
from volta.derived.store import DerivedStore
from volta.registry import Registry

__all__ = ["REFRESH_MS", "FadeWatch", "FleetFade", "nominal_kwh"]

REFRESH_MS = 15 * 60_000


@cache
def nominal_kwh(model: str | None) -> float | None:
    """A model's usable capacity when new, for the models the platform knows (else None:
    SoH falls back to what the BMS reports, and the vehicle has no fleet norm)."""
    from volta.vehicles.model import load_model

    if not model:
        return None
    try:
        return float(load_model(model).usable_kwh_new)
    except Exception:  # an unknown model
        return None


class FleetFade(msgspec.Struct, frozen=True, kw_only=True):
    """Rates of the vehicles with enough history, the norms, and who fades too fast."""

    computed_ms: int
    rates: dict[str, FadeRate]
    norms: dict[str, FadeNorm]
    fast: list[FadeRate]


class FadeWatch:
    """Computes `FleetFade` from the derived store and the registry, cached."""

    def __init__(self, derived: DerivedStore, registry: Registry, clock: Clock) -> None:
        self.derived = derived
        self.registry = registry
        self.clock = clock
        self._lock = threading.Lock()
        self._last: FleetFade | None = None

    def current(self, *, refresh: bool = False) -> FleetFade:
        now = self.clock()
        with self._lock:
            last = self._last
            if refresh or last is None or now - last.computed_ms >= REFRESH_MS:
                last = self._last = self._compute(now)
            return last

    def _compute(self, now: int) -> FleetFade:
        rates: dict[str, FadeRate] = {}
        for v in self.registry.list_vehicles(limit=10_000_000):
            nominal = nominal_kwh(v.model)
            if nominal is None or v.model is None:
                continue
            caps = self.derived.list("capacity", CapacitySample, v.vin, limit=100_000)
            r = fade_rate(v.vin, v.model, caps, nominal)
            if r is not None:
                rates[v.vin] = r
        by_model = norms(rates.values())
        return FleetFade(
            computed_ms=now, rates=rates, norms=by_model, fast=fast_faders(rates.values(), by_model)
        )
