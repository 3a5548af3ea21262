"""The signal catalog: COVESA VSS 6.0 as Volta's one vocabulary for vehicle signals.

    from volta.catalog import default_catalog
    cat = default_catalog()
    sig = cat.get("Vehicle.Speed")      # or cat.get(sig.id); cat.resolve(key) -> Signal | None
    sig.check(42.5)                     # None: fits; else the reason, naming the signal
    num, txt = sig.to_stored(42.5)      # (42.5, None); sig.from_stored(num, txt) == 42.5

The packaged data (`volta/data/vss/`) is the VSS 6.0 release (MPL-2.0, © COVESA) plus Volta's
own signals (`volta_signals.json`, a VSS overlay under `Vehicle.OTA` that may only add signals)
and plausibility ranges (`volta_overlay.json`), which only ever narrow the spec's.
"""

from volta.catalog.catalog import Catalog, default_catalog, load_catalog
from volta.catalog.ids import signal_id
from volta.catalog.signal import Signal

__all__ = ["Catalog", "Signal", "default_catalog", "load_catalog", "signal_id"]
