"""Batch recompute: the same analysis as the incremental processor, over the stored data."""

from __future__ import annotations

from volta.catalog import Catalog
from volta.derived.columns import PATHS, signal_ids
from volta.derived.store import DerivedStore
from volta.places.core import Tagger
from volta.processors.analysis import KINDS, Results, analyse
from volta.store.base import TelemetryStore

__all__ = ["recompute"]

_ALL = (-(2**62), 2**62)


def recompute(
    vin: str,
    store: TelemetryStore,
    derived: DerivedStore,
    catalog: Catalog,
    complete_to_ms: int = _ALL[1],
    tagger: Tagger | None = None,
) -> Results:
    """Re-detect everything of one vehicle from its stored samples and replace its derived
    records (no duplicates however often it runs). Data up to `complete_to_ms` is final;
    `tagger` labels places and prices charges (the processor's, so both agree)."""
    ids = signal_ids(catalog)
    scanned = store.scan(vin, list(ids.values()), *_ALL)
    cols = {name: scanned[ids[name]] for name in PATHS}
    res = analyse(vin, cols, complete_to_ms, tagger)
    for kind in KINDS:
        derived.replace_from(kind, vin, _ALL[0], res.of(kind))
    return res
