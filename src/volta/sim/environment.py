"""Ambient temperature over the day and the season, deterministic from a seed and a latitude."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Climate"]

_DAY_MS = 86_400_000


class Climate:
    """Air temperature at one place: seasonal and daily cycles plus day-to-day weather.

    The annual mean and seasonal swing follow latitude (≈ 6 °C mean and ±11 °C swing at
    Helsinki's 60° N, warmer and flatter towards the equator, seasons flipped in the south);
    the daily cycle peaks mid-afternoon local solar time; the weather anomaly is a smooth
    random walk drawn per day from the seed.
    """

    def __init__(self, seed: int, lat: float, lon: float) -> None:
        self.seed = seed
        self.mean_c = 30.0 - 0.4 * abs(lat)
        self.season_k = max(0.2 * abs(lat) - 1.0, 0.5)
        self.south = lat < 0
        self.solar_offset_h = lon / 15.0
        self._anomaly: dict[int, float] = {}

    def _day_anomaly(self, day: int) -> float:
        a = self._anomaly.get(day)
        if a is None:
            a = float(np.random.default_rng([self.seed, 0xC11, day + 1_000_000]).normal(0.0, 3.0))
            self._anomaly[day] = a
        return a

    def air_c(self, ts_ms: int) -> float:
        """Outside air temperature (°C) at a time (ms since the Unix epoch, UTC)."""
        days = ts_ms / _DAY_MS
        doy = (days + 0.0) % 365.25  # epoch day 0 is 1 January
        season = -math.cos(2 * math.pi * (doy - 20.0) / 365.25)  # coldest around 20 January
        if self.south:
            season = -season
        local_h = (ts_ms / 3_600_000 + self.solar_offset_h) % 24.0
        daily = 4.0 * math.sin(2 * math.pi * (local_h - 9.0) / 24.0)  # warmest at 15:00
        d0 = math.floor(days)
        f = days - d0
        weather = (1 - f) * self._day_anomaly(d0) + f * self._day_anomaly(d0 + 1)
        return round(self.mean_c + self.season_k * season + daily + weather, 3)
