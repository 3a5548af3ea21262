"""Hand-made logbook records (a finished drive, a finished charge) for tests that need the
derived store to hold something known."""

from __future__ import annotations

from typing import Any

from volta.charging.core import Charge
from volta.drives.core import Drive

_MIN = 60_000


def a_drive(vin: str, start_ms: int, **changes: Any) -> Drive:
    """Ten minutes, 5 km, 900 Wh (180 Wh/km) in Helsinki at -3 °C; `changes` override."""
    fields: dict[str, Any] = dict(
        id=f"{vin}-{start_ms}",
        vin=vin,
        start_ms=start_ms,
        end_ms=start_ms + 10 * _MIN,
        final=True,
        start_lat=60.17,
        start_lon=24.94,
        end_lat=60.18,
        end_lon=24.95,
        odometer_start_m=1000.0,
        odometer_end_m=6000.0,
        distance_m=5000.0,
        energy_wh=900.0,
        regen_wh=100.0,
        efficiency_wh_per_km=180.0,
        avg_speed_kmh=30.0,
        max_speed_kmh=50.0,
        soc_start=70.0,
        soc_end=69.0,
        outside_temp_c=-3.0,
    )
    return Drive(**(fields | changes))


def a_charge(vin: str, start_ms: int, **changes: Any) -> Charge:
    """Half an hour of AC at 11 kW, 40 → 55 %, no place or cost; `changes` override."""
    fields: dict[str, Any] = dict(
        id=f"{vin}-{start_ms}",
        vin=vin,
        start_ms=start_ms,
        end_ms=start_ms + 30 * _MIN,
        final=True,
        dc=False,
        lat=60.17,
        lon=24.94,
        energy_added_wh=11_000.0,
        energy_stored_wh=None,
        peak_kw=11.0,
        avg_kw=11.0,
        soc_from=40.0,
        soc_to=55.0,
        outside_temp_c=None,
        place=None,
        cost=None,
        currency=None,
    )
    return Charge(**(fields | changes))
