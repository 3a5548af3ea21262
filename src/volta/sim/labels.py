"""Names, plates and groups for a simulated fleet, as an operator would give them: the same for
the same roster every run (the demo and the browser tests register them with the vehicles)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["GROUPS", "Labels", "fleet_labels"]

GROUPS = ("Kamppi depot", "Pasila depot", "Airport shuttle", "Service pool")
_SHORT = {
    "chevrolet_bolt_ev_2020": "Bolt",
    "hyundai_kona_electric_2021": "Kona",
    "renault_zoe_ze50_2022": "Zoe",
    "tesla_model_3_rwd_2022": "Model 3",
}
# Finnish plates: letters (no Å/Ä/Ö here), a dash, 1-3 digits.
_LETTERS = "ABCDEFGHIJKLMNOPRSTUVXYZ"


@dataclass(frozen=True, slots=True)
class Labels:
    name: str
    plate: str
    group: str


def fleet_labels(roster: Sequence[tuple[str, str]]) -> list[Labels]:
    """One `Labels` per (VIN, model) of the roster, in its order: "Kona 03" (numbered per
    model), a plate made from the VIN, and the groups taken in turn."""
    seen: dict[str, int] = {}
    out = []
    for i, (vin, model) in enumerate(roster):
        short = _SHORT.get(model, model)
        seen[short] = seen.get(short, 0) + 1
        h = hashlib.sha256(vin.encode()).digest()
        letters = "".join(_LETTERS[b % len(_LETTERS)] for b in h[:3])
        plate = f"{letters}-{int.from_bytes(h[3:5], 'big') % 999 + 1}"
        out.append(Labels(f"{short} {seen[short]:02d}", plate, GROUPS[i % len(GROUPS)]))
    return out
