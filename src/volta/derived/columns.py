"""Columnar samples of one vehicle: the input of every pure driver-service core.

`Columns` maps a signal (by short name) to `(ts_ms, values)` numpy arrays sorted by time. The
short names stand for the VSS paths below, resolved to catalog ids at the edges; the cores never
see an id or a path.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from volta.catalog import Catalog

__all__ = [
    "PATHS",
    "Columns",
    "Series",
    "at_or_after",
    "at_or_before",
    "empty",
    "get",
    "hold_integral_wh",
    "optional",
    "signal_ids",
    "window",
]

Series = tuple[NDArray[np.int64], NDArray[np.float64]]
Columns = Mapping[str, Series]

_TB = "Vehicle.Powertrain.TractionBattery."
PATHS: dict[str, str] = {
    "speed": "Vehicle.Speed",  # km/h
    "odometer": "Vehicle.TraveledDistance",  # m
    "power": _TB + "CurrentPower",  # W, > 0 into the battery
    "soc": _TB + "StateOfCharge.Current",  # %
    "energy": _TB + "StateOfCharge.CurrentEnergy",  # kWh stored
    "capacity": _TB + "NetCapacity",  # kWh
    "soh": _TB + "StateOfHealth",  # %, as the BMS reports it
    "charging": _TB + "Charging.IsCharging",  # 0/1
    "cable": _TB + "Charging.ChargingPort.AnyPosition.IsChargingCableConnected",  # 0/1
    "gear": "Vehicle.Powertrain.Transmission.CurrentGear",  # 0 = park/neutral
    "lat": "Vehicle.CurrentLocation.Latitude",
    "lon": "Vehicle.CurrentLocation.Longitude",
    "outside": "Vehicle.Exterior.AirTemperature",  # °C
}


def signal_ids(catalog: Catalog) -> dict[str, int]:
    """Short name → catalog id of every signal the services read."""
    return {name: catalog.get(path).id for name, path in PATHS.items()}


def empty() -> Series:
    return np.empty(0, np.int64), np.empty(0, np.float64)


def at_or_before(s: Series, t_ms: int, default: float = float("nan")) -> float:
    """The last value at or before `t_ms` (default if none)."""
    i = int(np.searchsorted(s[0], t_ms, side="right")) - 1
    return float(s[1][i]) if i >= 0 else default


def at_or_after(s: Series, t_ms: int, default: float = float("nan")) -> float:
    """The first value at or after `t_ms` (default if none)."""
    i = int(np.searchsorted(s[0], t_ms, side="left"))
    return float(s[1][i]) if i < len(s[0]) else default


def window(s: Series, start_ms: int, end_ms: int) -> Series:
    """The samples in [start_ms, end_ms)."""
    a, b = np.searchsorted(s[0], [start_ms, end_ms], side="left")
    return s[0][a:b], s[1][a:b]


def hold_integral_wh(s: Series, start_ms: int, end_ms: int, max_hold_ms: int) -> float:
    """∫ value dt over [start_ms, end_ms) in Wh, each sample (W) held until the next one (at
    most `max_hold_ms`: beyond that a gap counts as unknown, i.e. zero)."""
    ts, v = window(s, start_ms, end_ms)
    if len(ts) == 0:
        return 0.0
    nxt = np.append(ts[1:], end_ms)
    dt = np.minimum(nxt - ts, max_hold_ms).astype(np.float64)  # a mixed-type dot is slow
    return float(np.dot(v, dt)) / 3.6e6


def get(cols: Columns, name: str) -> Series:
    return cols.get(name) or empty()


def optional(x: float) -> float | None:
    """A result field: None for "not known" (nan), else rounded to 6 decimals."""
    return None if np.isnan(x) else round(x, 6)
