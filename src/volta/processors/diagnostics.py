"""After-sales diagnostics on the bus: stored telemetry in, `FleetDiagnostics` fed.

`DiagnosticsFollower` subscribes to what the gateways stored (`stored.*`), keeps the samples of
the signals diagnostics read (codes, the freeze-frame signals, tyres, 12 V, cells, pack
temperature, brake pads, the BMS's software) and feeds each car's batch, in time order, to the
fleet's diagnostics: DTC events with freeze frames, the predictive rules (evaluated as each
hour of a signal closes), charging failures, reliability. The rules are cheap (bench/aftersales.py),
so they run in the bus handler under one lock that the API's readers also take.
With a `DiagnosticsTable` (`volta.diagnostics.store`) the state is loaded back at start and what
changed is written every `SAVE_EVERY_S` and at stop, on a thread of its own (under the lock
only the small states are encoded and the changed histories copied); a crash loses at most the
last 5 s. A vehicle keeps its latest
`KEEP_CHANGES` alert changes; the fleet-wide records are kept for a window of data time
(`volta.diagnostics.fleet`: ~93 days of charging, a year of code occurrences; `pruned` counts
what went); its code events are in the tracker's records (per code: first and
last seen, occurrences, the freeze frames), so the event list is not kept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from operator import itemgetter
from typing import Any, TypeVar

from volta.bus import Bus, Message, StoredGroup, Subscription
from volta.bus.events import STORED_ALL
from volta.catalog import Catalog
from volta.diagnostics.decode import Descriptions
from volta.diagnostics.fleet import FleetDiagnostics
from volta.diagnostics.store import DiagnosticsKeeper, DiagnosticsTable
from volta.diagnostics.vehicle import SIGNALS, AlertChange
from volta.errors import VoltaError
from volta.periodic import Periodic
from volta.store.base import AcceptedBatch

__all__ = ["DiagnosticsFollower"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_ts = itemgetter(0)
SAVE_EVERY_S = 5.0
# A history (hourly points, findings with their evidence) is ~25 kB and every car's closes at
# the same hour's end: written at most this many per save, 10,000 cars' take ~25 s.
HISTORY_PER_SAVE = 2_000
KEEP_CHANGES = 100  # per vehicle: the alert changes a diagnosis keeps (the rest are in cases)


class DiagnosticsFollower:
    """Feeds stored batches to the fleet's diagnostics; reads them under the same lock."""

    def __init__(
        self,
        bus: Bus,
        catalog: Catalog,
        model_of: Callable[[str], str],
        descriptions: Descriptions | None = None,
        durable: str | None = "diagnostics",
        table: DiagnosticsTable | None = None,
    ) -> None:
        self.bus, self.catalog, self.durable = bus, catalog, durable
        self.fleet = FleetDiagnostics(model_of, descriptions)
        self._paths = {catalog.get(p).id: p for p in SIGNALS if p in catalog}
        self._lock = threading.Lock()
        self._sub: Subscription | None = None
        self.batches = 0
        self.errors = 0
        self._listeners: list[Callable[[list[AlertChange]], None]] = []
        self.keeper = DiagnosticsKeeper(table) if table is not None else None
        self._restored = self._closed = False
        self._dirty: set[str] = set()  # vehicles fed since the last save
        self._saver = Periodic(
            "volta-diagnostics-save", lambda: SAVE_EVERY_S, self.save, log,
            "diagnostics: writing the kept state failed",
        )  # fmt: skip

    def listen(self, fn: Callable[[list[AlertChange]], None]) -> None:
        """Call `fn` with the predictive alerts each batch turned on or off (on the bus's
        thread, under the lock: `fn` should only queue them)."""
        self._listeners.append(fn)

    def start(self) -> None:
        """Load the kept state (once), then follow the bus and save every few seconds."""
        if self.keeper is not None and not self._restored:
            with self._lock:
                self.keeper.restore(self.fleet)
            self._restored = True
            log.info("diagnostics: %d vehicles loaded back", len(self.fleet.vehicles))
        if self._sub is None:
            self._sub = self.bus.subscribe(STORED_ALL, self._on_message, durable=self.durable)
            if self.keeper is not None:
                self._saver.start()

    def stop(self) -> None:
        """Stop following, write what changed and close the table."""
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        self._saver.stop()
        if self.keeper is not None and not self._closed:
            self._closed = True
            try:
                if self._restored:  # never the state of a follower that did not load the kept one
                    self.save(everything=True)
            except Exception:  # the server is down: stopping must still close everything
                log.exception("diagnostics: the last save failed; what changed since is lost")
            finally:
                self.keeper.table.close()

    def save(self, everything: bool = False) -> None:
        """Write what changed since the last save: taken under the lock (`collect`), the
        histories encoded and all written outside it so that feeding goes on meanwhile; at most
        `HISTORY_PER_SAVE` histories unless `everything`. After a failed write the next save
        writes all."""
        if self.keeper is None:
            return
        with self._lock:
            vins, self._dirty = self._dirty, set()
            collected = self.keeper.collect(
                self.fleet, vins, None if everything else HISTORY_PER_SAVE
            )
        try:
            self.keeper.write(collected)
        except Exception:
            with self._lock:
                self.keeper.forget()
                self._dirty.update(self.fleet.vehicles)
            raise

    def _on_message(self, message: Message) -> None:
        for event in message.decode(StoredGroup).batches:
            self.feed(event)

    def feed(self, event: AcceptedBatch) -> None:
        """One stored batch: the samples diagnostics read, in time order, to the car's state."""
        paths, catalog = self._paths, self.catalog
        try:
            samples = sorted(
                (
                    (ts, paths[sid], catalog.from_stored(sid, num, txt))
                    for sid, ts, num, txt in zip(
                        event.signal_ids, event.ts, event.num, event.txt, strict=True
                    )
                    if sid in paths
                ),
                key=_ts,
            )
        except (VoltaError, ValueError):  # stored by a gateway with another catalog
            self.errors += 1
            return
        if not samples:
            return
        with self._lock:
            try:
                veh = self.fleet.vehicles.get(event.vin)
                seen = len(veh.changes) if veh is not None else 0
                self._dirty.add(event.vin)
                self.fleet.feed(event.vin, samples)
                self.batches += 1
                veh = self.fleet.vehicles[event.vin]
                changes = veh.changes[seen:]
                del veh.changes[:-KEEP_CHANGES]
                veh.events.clear()
                if changes:
                    for fn in self._listeners:
                        fn(changes)
            except Exception:  # one car's odd batch must not stop diagnostics for the fleet
                self.errors += 1
                log.exception("diagnostics failed on a batch of %s", event.vin)

    @property
    def pruned(self) -> dict[str, int]:
        """The fleet-wide records pruned for age so far, per list (`FleetDiagnostics.prune`)."""
        with self._lock:
            return dict(self.fleet.pruned)

    def read(self, fn: Callable[[FleetDiagnostics], T]) -> T:
        """Run a reader over the fleet's diagnostics while no batch is being fed."""
        with self._lock:
            return fn(self.fleet)

    def report(self, vin: str) -> dict[str, Any] | None:
        return self.read(lambda f: f.report(vin))
