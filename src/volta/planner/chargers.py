"""Charging stations as the planner sees them, and the rule that gives a station its power when
its file does not say (the NREL AFDC export has no kW column).

A `Station` is one site from a charger file, not yet on any road graph; `ChargerFile` is what a
loader read: the good stations and, for every bad row, where it is and why it was left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from volta.errors import VoltaError

__all__ = [
    "AC_KW_BY_LEVEL",
    "AC_MAX_KW",
    "DC_KW_BY_NETWORK",
    "DC_KW_DEFAULT",
    "ChargerFile",
    "ChargerFileError",
    "Rejected",
    "Station",
    "afdc_power_kw",
]

# A Type 2 / J1772 AC socket delivers at most 43 kW (3-phase 63 A); above that a socket is DC
# whatever its tag says (OSM data tags some DC outputs on `socket:type2:output`).
AC_MAX_KW = 43.0

# The AFDC power rule (docs/planner.md): the sustained peak a typical 2024-25 site of the network
# offers, per stall. Networks not listed get DC_KW_DEFAULT, the common 50 kW CCS/CHAdeMO unit.
DC_KW_BY_NETWORK = {
    "Tesla": 250.0,  # V3 Superchargers (V2 sites: 150 kW)
    "Electrify America": 150.0,  # every site has 150 kW stalls, most also 350 kW
    "RIVIAN_ADVENTURE": 200.0,
    "eVgo Network": 100.0,  # mixed 50/100/350 kW sites
    "FORD_CHARGE": 150.0,
    "APPLEGREEN": 150.0,
    "BP_PULSE": 150.0,
    "SHELL_RECHARGE": 150.0,
    "REVEL": 150.0,
}
DC_KW_DEFAULT = 50.0
AC_KW_BY_LEVEL = {"level2": 7.2, "level1": 1.4}  # J1772 at 30 A / 12 A


class ChargerFileError(VoltaError):
    """A charger file cannot be read at all (missing, not the format it claims); fix the file."""


@dataclass(frozen=True, slots=True)
class Station:
    """A public charging site. `power_kw` is the best socket's; `power_rule` says where it came
    from ("tagged" when the file gave it, else the rule applied)."""

    station_id: str
    name: str
    lat: float
    lon: float
    power_kw: float
    dc: bool
    ports: int
    connectors: tuple[str, ...]
    network: str
    power_rule: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row left out: `where` is "line 12" (CSV) or "feature 7" / "location 3" (JSON)."""

    where: str
    reason: str


@dataclass(frozen=True, slots=True)
class ChargerFile:
    """The stations a loader read, the rows it rejected, and rows it skipped as not chargers."""

    stations: tuple[Station, ...]
    rejected: tuple[Rejected, ...]
    skipped: int  # e.g. the AFDC's CNG and E85 stations

    def dc_fast(self, min_kw: float = 0.0) -> tuple[Station, ...]:
        """The DC stations of at least `min_kw`."""
        return tuple(s for s in self.stations if s.dc and s.power_kw >= min_kw)


def afdc_power_kw(
    network: str, connectors: tuple[str, ...], dc_ports: int, l2_ports: int
) -> tuple[float, str]:
    """(power kW, rule) for an AFDC station, which gives port counts and connectors but no kW."""
    if dc_ports > 0:
        if network in DC_KW_BY_NETWORK:
            return DC_KW_BY_NETWORK[network], f"DC, network {network}"
        if connectors == ("TESLA",):
            return DC_KW_BY_NETWORK["Tesla"], "DC, Tesla connector only"
        return DC_KW_DEFAULT, "DC, default"
    if l2_ports > 0:
        return AC_KW_BY_LEVEL["level2"], "Level 2"
    return AC_KW_BY_LEVEL["level1"], "Level 1"
