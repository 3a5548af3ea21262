"""Tagging drives and charges with places, and pricing charges with the place's tariff.

Pure functions of a record and a `Tagger`: the analysis calls them on fresh records, and
`retag` calls them again on stored ones when the places change (no telemetry needed: a record
keeps its coordinates and its energy per quarter-hour).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import msgspec

from volta.charging.core import Charge
from volta.derived.store import DerivedStore
from volta.drives.core import Drive
from volta.places.core import Tagger

__all__ = ["retag", "tag_charge", "tag_drive"]

_PAGE = 5_000
R = TypeVar("R", Drive, Charge)


def tag_drive(d: Drive, tagger: Tagger) -> Drive:
    start = tagger.label(d.vin, d.start_lat, d.start_lon)
    end = tagger.label(d.vin, d.end_lat, d.end_lon)
    return msgspec.structs.replace(
        d,
        start_place=start.name,
        start_place_id=start.place_id,
        end_place=end.name,
        end_place_id=end.place_id,
    )


def tag_charge(c: Charge, tagger: Tagger) -> Charge:
    """Place and cost. The cost prices the energy into the battery (`energy_added_wh`, per
    quarter-hour): cars report no energy drawn from the grid, so charger losses are not in it."""
    label = tagger.label(c.vin, c.lat, c.lon)
    tariff = p.tariff if (p := tagger.get(label.place_id)) is not None else None
    cost = round(tariff.cost(c.energy_by_slot), 4) if tariff is not None else None
    return msgspec.structs.replace(
        c,
        place=label.name,
        place_id=label.place_id,
        cost=cost,
        currency=tariff.currency if tariff is not None else None,
    )


def retag(derived: DerivedStore, tagger: Tagger, vins: Iterable[str]) -> int:
    """Re-tag the stored drives and charges of `vins` with `tagger`; returns how many
    records changed (only those are written)."""
    changed = 0
    for vin in vins:
        changed += _retag(derived, "drive", Drive, vin, lambda r: tag_drive(r, tagger))
        changed += _retag(derived, "charge", Charge, vin, lambda r: tag_charge(r, tagger))
    return changed


def _retag(derived: DerivedStore, kind: str, type_: type[R], vin: str, fn: Callable[[R], R]) -> int:
    changed = 0
    before: int | None = None
    while True:
        page = derived.list(kind, type_, vin, limit=_PAGE, before_ms=before)
        new = [t for r in page if (t := fn(r)) != r]
        derived.upsert(kind, new)
        changed += len(new)
        if len(page) < _PAGE:
            return changed
        before = page[-1].start_ms
