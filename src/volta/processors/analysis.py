"""Every driver service over one vehicle's samples: the one function that both the
incremental processor and the batch recompute call, so the two cannot disagree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from volta.battery.core import CapacitySample, Span, capacity_samples
from volta.charging.core import Charge, detect_charges
from volta.derived.columns import Columns
from volta.drives.core import Drive, detect_drives
from volta.places.core import Tagger
from volta.places.tag import tag_charge, tag_drive

__all__ = ["KINDS", "Results", "analyse"]

KINDS = ("drive", "charge", "capacity")


@dataclass
class Results:
    drives: list[Drive] = field(default_factory=list)
    charges: list[Charge] = field(default_factory=list)
    capacity: list[CapacitySample] = field(default_factory=list)

    def of(self, kind: str) -> Sequence[Drive | Charge | CapacitySample]:
        if kind == "drive":
            return self.drives
        if kind == "charge":
            return self.charges
        return self.capacity


def analyse(vin: str, cols: Columns, complete_to_ms: int, tagger: Tagger | None = None) -> Results:
    """Drives, charges and capacity samples in `cols`; data up to `complete_to_ms` is known
    complete (later items are provisional, `final=False`). With a `tagger`, drives and
    charges carry their places and charges their cost."""
    drives = detect_drives(vin, cols, complete_to_ms)
    charges = detect_charges(vin, cols, complete_to_ms)
    if tagger is not None:
        drives = [tag_drive(d, tagger) for d in drives]
        charges = [tag_charge(c, tagger) for c in charges]
    spans = [Span(c.start_ms, c.end_ms, "charge") for c in charges] + [
        Span(d.start_ms, d.end_ms, "drive") for d in drives
    ]
    return Results(drives, charges, capacity_samples(vin, cols, spans))
