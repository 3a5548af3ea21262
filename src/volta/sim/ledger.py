"""Drives and charging sessions in progress, and how they become ground-truth records."""

from __future__ import annotations

from dataclasses import dataclass

from volta.sim.trips import Leg
from volta.sim.truth import ChargeTruth, DriveTruth

__all__ = ["OpenCharge", "OpenDrive"]


@dataclass
class OpenDrive:
    """A drive in progress; the window adds its energies second by second."""

    leg: Leg
    start_s: int
    length_s: int
    length_m: float
    odo_start: float
    lat0: float
    lon0: float
    e0_kwh: float = float("nan")  # stored energy just before the first second
    e1_kwh: float = float("nan")  # ... and just after the last
    terminal_wh: float = 0.0
    regen_wh: float = 0.0
    loss_wh: float = 0.0

    def close(
        self, vin: str, start_ms: int, end_ms: int, lat: float, lon: float, capacity_kwh: float
    ) -> DriveTruth:
        """The finished drive as a truth record."""
        return DriveTruth(
            vin=vin,
            start_ms=start_ms,
            end_ms=end_ms,
            start_lat=round(self.lat0, 7),
            start_lon=round(self.lon0, 7),
            end_lat=round(lat, 7),
            end_lon=round(lon, 7),
            distance_m=round(self.length_m, 3),
            odometer_start_m=self.odo_start,
            odometer_end_m=self.odo_start + self.length_m,
            energy_from_battery_wh=round(self.terminal_wh, 3),
            regen_wh=round(self.regen_wh, 3),
            battery_loss_wh=round(self.loss_wh, 3),
            stored_energy_start_wh=round(self.e0_kwh * 1000, 3),
            stored_energy_end_wh=round(self.e1_kwh * 1000, 3),
            soc_start=round(100 * self.e0_kwh / capacity_kwh, 3),
            soc_end=round(100 * self.e1_kwh / capacity_kwh, 3),
            purpose=self.leg.purpose,
        )


@dataclass
class OpenCharge:
    """A charging session in progress (plugged in; power may not have started yet)."""

    start_s: int
    dc: bool
    station_kw: float
    target_soc: float
    charger: str  # "home" or the station's OSM id
    public: bool
    soc0: float
    e0_kwh: float
    e1_kwh: float = float("nan")
    into_wh: float = 0.0
    grid_wh: float = 0.0
    loss_wh: float = 0.0
    peak_kw: float = 0.0
    started: bool = False

    def close(
        self, vin: str, start_ms: int, end_ms: int, lat: float, lon: float, capacity_kwh: float
    ) -> ChargeTruth:
        """The finished session as a truth record."""
        return ChargeTruth(
            vin=vin,
            start_ms=start_ms,
            end_ms=end_ms,
            dc=self.dc,
            lat=lat,
            lon=lon,
            charger=self.charger,
            energy_into_battery_wh=round(self.into_wh, 3),
            energy_from_grid_wh=round(self.grid_wh, 3),
            battery_loss_wh=round(self.loss_wh, 3),
            peak_kw=round(self.peak_kw, 3),
            soc_from=round(self.soc0, 3),
            soc_to=round(100 * self.e1_kwh / capacity_kwh, 3),
            stored_energy_start_wh=round(self.e0_kwh * 1000, 3),
            stored_energy_end_wh=round(self.e1_kwh * 1000, 3),
        )
