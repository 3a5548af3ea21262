"""Which chargers a driver accepts: a minimum power, connector kinds, networks.

Charger files name connectors in their own words (AFDC `J1772COMBO`, OSM `socket:type2_combo`,
OCPI `IEC_62196_T2_COMBO`); `connector_kind` maps them to the few plugs a driver chooses from.
A site whose file does not say (the OSM extract's own stations carry no socket list here) does
not match a connector or network filter: the planner never sends a car to a plug it may not fit.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from volta.planner.plan import Site

__all__ = ["CONNECTOR_KINDS", "ChargerFilter", "connector_kind"]

CONNECTOR_KINDS = ("ccs", "chademo", "nacs", "type2", "j1772")

# file spelling (lower case) -> kind; anything else is "other"
_KIND = {
    "j1772combo": "ccs", "ccs": "ccs", "ccs1": "ccs", "ccs2": "ccs", "type2_combo": "ccs",
    "type1_combo": "ccs", "iec_62196_t1_combo": "ccs", "iec_62196_t2_combo": "ccs",
    "chademo": "chademo",
    "tesla": "nacs", "nacs": "nacs", "tesla_supercharger": "nacs", "tesla_supercharger_ccs": "ccs",
    "tesla_r": "nacs", "tesla_s": "nacs", "sae_j3400": "nacs",
    "type2": "type2", "iec_62196_t2": "type2", "type2_cable": "type2",
    "j1772": "j1772", "type1": "j1772", "iec_62196_t1": "j1772",
}  # fmt: skip


def connector_kind(name: str) -> str:
    """The plug kind of a connector as a charger file names it ("other" when unknown)."""
    return _KIND.get(name.strip().lower(), "other")


@dataclass(frozen=True, slots=True)
class ChargerFilter:
    """Chargers the planner may stop at. Empty fields accept everything."""

    min_power_kw: float = 0.0
    connectors: frozenset[str] = frozenset()  # kinds of CONNECTOR_KINDS; any one suffices
    networks: frozenset[str] = frozenset()  # case-insensitive; any one suffices

    @classmethod
    def of(
        cls, min_power_kw: float = 0.0, connectors: Iterable[str] = (),
        networks: Iterable[str] = (),
    ) -> ChargerFilter:  # fmt: skip
        return cls(
            min_power_kw,
            frozenset(c.lower() for c in connectors),
            frozenset(n.strip().casefold() for n in networks),
        )

    @property
    def active(self) -> bool:
        return bool(self.min_power_kw > 0 or self.connectors or self.networks)

    def matches(self, site: Site) -> bool:
        if site.power_kw < self.min_power_kw:
            return False
        if self.connectors and not {connector_kind(c) for c in site.connectors} & self.connectors:
            return False
        return not self.networks or site.network.strip().casefold() in self.networks

    def describe(self) -> str:
        """The filter in words, for the reason a plan fails: "at least 150 kW, connector ccs"."""
        parts = []
        if self.min_power_kw > 0:
            parts.append(f"at least {self.min_power_kw:g} kW")
        if self.connectors:
            parts.append("connector " + " or ".join(sorted(self.connectors)))
        if self.networks:
            parts.append("network " + " or ".join(sorted(self.networks)))
        return ", ".join(parts) or "none"
