"""The trouble-code halt: a campaign stops when its cars raise trouble codes more often on the
new version than they did on the old one. Pure.

Reads what after-sales diagnostics already keep (`volta.diagnostics.reliability`: every code
occurrence with the software version it appeared on, and the vehicle-days each car reported on
each version). The rate is occurrences per 1,000 vehicle-days, over the campaign's own cars, so
the two rates compare the same cars, the same hardware, before and after. It judges only once
the new version has `min_vehicle_days` of exposure and `min_occurrences` codes (three codes on
two cars in a day say nothing), and halts above `max_ratio` times the old rate; an old rate of
zero counts as `floor_per_1000` so that a first code cannot halt a campaign on its own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from volta.diagnostics.reliability import Exposure, Occurrence
from volta.errors import BadRequest

__all__ = ["DtcRule", "dtc_halt", "rates"]


@dataclass(frozen=True)
class DtcRule:
    max_ratio: float = 1.5
    min_vehicle_days: int = 20
    min_occurrences: int = 5
    floor_per_1000: float = 1.0

    def __post_init__(self) -> None:
        if self.max_ratio < 1.0 or self.min_vehicle_days < 1 or self.floor_per_1000 <= 0:
            raise BadRequest("max_ratio >= 1, min_vehicle_days >= 1, floor_per_1000 > 0")


def rates(
    occurrences: Iterable[Occurrence],
    exposure: Iterable[Exposure],
    vins: Collection[str],
    versions: Collection[str],
) -> tuple[int, int]:
    """(occurrences, vehicle-days) of the cars `vins` on any of `versions`."""
    occ = sum(1 for o in occurrences if o.vin in vins and o.version in versions)
    days = sum(len(e.days) for e in exposure if e.vin in vins and e.version in versions)
    return occ, days


def dtc_halt(
    occurrences: Iterable[Occurrence],
    exposure: Iterable[Exposure],
    vins: Collection[str],
    new_version: str,
    old_versions: Collection[str],
    rule: DtcRule = DtcRule(),
) -> str | None:
    """Why the campaign must halt on trouble codes (None: it need not, or cannot tell yet)."""
    occurrences, exposure = list(occurrences), list(exposure)
    new_occ, new_days = rates(occurrences, exposure, vins, {new_version})
    if new_days < rule.min_vehicle_days or new_occ < rule.min_occurrences:
        return None
    old_occ, old_days = rates(occurrences, exposure, vins, old_versions)
    if old_days < rule.min_vehicle_days:
        return None
    new_rate = 1000.0 * new_occ / new_days
    old_rate = 1000.0 * old_occ / old_days
    if new_rate <= rule.max_ratio * max(old_rate, rule.floor_per_1000):
        return None
    return (
        f"trouble codes on {new_version}: {new_rate:.1f} per 1,000 vehicle-days ({new_occ} in "
        f"{new_days}), above {rule.max_ratio:g} x the old version's {old_rate:.1f} "
        f"({old_occ} in {old_days})"
    )
